// One member of a consumer group, driven over stdin/stdout by a test (kafka-clients 4.x; the
// test compiles it against the 4.x jars, with group.protocol=consumer for KIP-848).
//
// usage: java EbGroupMember BOOTSTRAP TOPIC GROUP [NAME=VALUE...]
// Subscribes GROUP to TOPIC (auto.offset.reset=earliest, auto-commit off) and prints JSON lines:
//   {"event": "assigned"|"revoked"|"lost", "partitions": [..]}  from the rebalance listener
//   {"event": "record", "partition": P, "offset": O, "key": K}   for each record
//   {"event": "committed", "count": N}                            after each synchronous commit
//   {"event": "commit_failed", "error": "..."}   a commit refused: the poll's records are read again
//   {"event": "closed"} / {"event": "error", "error": "..."}
// Offsets are committed with commitSync after every poll that returned records, and for the
// partitions being revoked in onPartitionsRevoked, so a record is never consumed twice across a
// handover. "stop" on stdin (or its end) closes the consumer, which leaves the group.

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public final class EbGroupMember {
  static volatile boolean stop = false;

  static synchronized void emit(String line) {
    System.out.println(line);
    System.out.flush();
  }

  static String partitions(Collection<TopicPartition> tps) {
    TreeSet<Integer> ps = new TreeSet<>();
    for (TopicPartition tp : tps) ps.add(tp.partition());
    return ps.toString();
  }

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0], topic = args[1], group = args[2];
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    props.put(
        ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    for (int i = 3; i < args.length; i++) {
      int eq = args[i].indexOf('=');
      props.put(args[i].substring(0, eq), args[i].substring(eq + 1));
    }
    Thread input = new Thread(() -> {
      try (BufferedReader in =
               new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
        String line;
        while ((line = in.readLine()) != null && !line.trim().equals("stop")) {
        }
      } catch (Exception e) {
        // stdin gone: stop as well
      }
      stop = true;
    });
    input.setDaemon(true);
    input.start();

    Map<TopicPartition, OffsetAndMetadata> pending = new HashMap<>();
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
      consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> revoked) {
          Map<TopicPartition, OffsetAndMetadata> mine = new HashMap<>();
          for (TopicPartition tp : revoked) {
            if (pending.containsKey(tp)) mine.put(tp, pending.remove(tp));
          }
          if (!mine.isEmpty()) {
            consumer.commitSync(mine);
            emit("{\"event\": \"committed\", \"count\": " + mine.size() + "}");
          }
          emit("{\"event\": \"revoked\", \"partitions\": " + partitions(revoked) + "}");
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> assigned) {
          emit("{\"event\": \"assigned\", \"partitions\": " + partitions(assigned)
              + ", \"now\": " + partitions(consumer.assignment()) + "}");
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> lost) {
          for (TopicPartition tp : lost) pending.remove(tp);
          emit("{\"event\": \"lost\", \"partitions\": " + partitions(lost) + "}");
        }
      });
      while (!stop) {
        List<String> lines = new ArrayList<>();
        Map<TopicPartition, Long> first = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          first.putIfAbsent(new TopicPartition(r.topic(), r.partition()), r.offset());
          String key = r.key() == null ? "null"
                                       : "\"" + new String(r.key(), StandardCharsets.UTF_8) + "\"";
          lines.add("{\"event\": \"record\", \"partition\": " + r.partition()
              + ", \"offset\": " + r.offset() + ", \"key\": " + key + "}");
          pending.put(new TopicPartition(r.topic(), r.partition()),
              new OffsetAndMetadata(r.offset() + 1));
        }
        if (!pending.isEmpty()) {
          try {
            consumer.commitSync(pending);
          } catch (KafkaException ex) {
            // Not committed (the member was fenced, the coordinator restarted): these records
            // count as not consumed; read them again from where this poll started.
            emit("{\"event\": \"commit_failed\", \"error\": \""
                + ex.getClass().getSimpleName() + "\"}");
            for (Map.Entry<TopicPartition, Long> e : first.entrySet()) {
              if (consumer.assignment().contains(e.getKey())) consumer.seek(e.getKey(), e.getValue());
            }
            pending.clear();
            continue;
          }
          for (String l : lines) emit(l);
          emit("{\"event\": \"committed\", \"count\": " + pending.size() + "}");
          pending.clear();
        }
      }
    } catch (Exception ex) {
      String msg = ex.toString().replace("\\", "\\\\").replace("\"", "'");
      emit("{\"event\": \"error\", \"error\": \"" + msg + "\"}");
      System.exit(1);
    }
    emit("{\"event\": \"closed\"}");
  }
}

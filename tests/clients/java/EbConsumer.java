// Java KafkaConsumer (kafka-clients 3.9.1) in a group: default settings except
// auto.offset.reset=earliest, without which a new group skips everything produced before it joined.
//
// usage: java EbConsumer BOOTSTRAP TOPIC GROUP COUNT [TIMEOUT_S [NAME=VALUE...]]
// NAME=VALUE: extra consumer settings (group.protocol=consumer for KIP-848, say).
// Subscribes GROUP to TOPIC, prints each record as a JSON line (topic, partition, offset, key,
// value, headers) until COUNT records or the timeout, commits the offsets after what it printed
// with commitSync (the default auto-commit stays on as well), leaves the group and prints one JSON
// summary line. Exit 1 unless COUNT records were consumed and the commit succeeded.

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public final class EbConsumer {
  static String json(byte[] b) {
    return b == null ? "null" : json(new String(b, StandardCharsets.UTF_8));
  }

  static String json(String s) {
    if (s == null)
      return "null";
    StringBuilder sb = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') {
        sb.append('\\').append(c);
      } else if (c < 0x20) {
        sb.append(String.format("\\u%04x", (int) c));
      } else {
        sb.append(c);
      }
    }
    return sb.append('"').toString();
  }

  public static void main(String[] args) {
    if (args.length < 4) {
      System.err.println("usage: EbConsumer BOOTSTRAP TOPIC GROUP COUNT [TIMEOUT_S [NAME=VALUE...]]");
      System.exit(2);
    }
    String bootstrap = args[0], topic = args[1], group = args[2];
    long count = Long.parseLong(args[3]);
    double timeout = args.length > 4 ? Double.parseDouble(args[4]) : 120.0;
    long start = System.nanoTime();
    long deadline = start + (long) (timeout * 1e9);

    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    props.put(
        ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    for (int i = 5; i < args.length; i++) {
      int eq = args[i].indexOf('=');
      props.put(args[i].substring(0, eq), args[i].substring(eq + 1));
    }

    long consumed = 0, errors = 0;
    String firstError = null;
    boolean committed = false;
    Map<TopicPartition, OffsetAndMetadata> next = new HashMap<>();
    StringBuilder out = new StringBuilder();
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
      consumer.subscribe(List.of(topic));
      while (consumed < count && System.nanoTime() < deadline) {
        long leftMs = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
        for (ConsumerRecord<byte[], byte[]> r :
            consumer.poll(Duration.ofMillis(Math.min(500, leftMs)))) {
          if (consumed == count)
            break; // the rest of this poll stays unprinted and uncommitted
          out.setLength(0);
          out.append("{\"topic\": ").append(json(r.topic()));
          out.append(", \"partition\": ").append(r.partition());
          out.append(", \"offset\": ").append(r.offset());
          out.append(", \"key\": ").append(json(r.key()));
          out.append(", \"value\": ").append(json(r.value()));
          out.append(", \"headers\": [");
          String sep = "";
          for (Header h : r.headers()) {
            out.append(sep).append('[').append(json(h.key())).append(", ").append(json(h.value()));
            out.append(']');
            sep = ", ";
          }
          out.append("]}");
          System.out.println(out);
          consumed++;
          next.put(
              new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
        }
      }
      if (!next.isEmpty()) {
        consumer.commitSync(next);
        committed = true;
      }
    } catch (Exception ex) {
      errors++;
      firstError = ex.toString();
    }
    if (consumed < count && firstError == null) {
      firstError = "consumed " + consumed + " of " + count + " in " + timeout + " s";
    }
    System.out.printf("{\"client\": \"java\", \"count\": %d, \"consumed\": %d, \"errors\": %d,"
            + " \"first_error\": %s, \"committed\": %b, \"seconds\": %.3f}%n",
        count, consumed, errors, json(firstError), committed, (System.nanoTime() - start) / 1e9);
    System.out.flush();
    System.exit(consumed == count && committed && errors == 0 ? 0 : 1);
  }
}

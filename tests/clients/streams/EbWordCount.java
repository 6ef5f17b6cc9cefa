// A Kafka Streams 3.9.1 word count, at_least_once: lines of IN are split into words, re-keyed by
// word (a repartition topic), counted in an in-memory store (a compacted changelog topic) and the
// counts written to OUT. Commits and repartition purges (DeleteRecords) every 200 ms, so a test
// sees the repartition topic purged quickly. Runs until SIGTERM; prints its state changes.
//
// usage: java EbWordCount BOOTSTRAP APPLICATION_ID STATE_DIR IN OUT

import java.util.Arrays;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.Stores;

public final class EbWordCount {
  public static void main(String[] args) throws InterruptedException {
    Properties props = new Properties();
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, args[1]);
    props.put(StreamsConfig.STATE_DIR_CONFIG, args[2]);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.AT_LEAST_ONCE);
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 200);
    props.put(StreamsConfig.REPARTITION_PURGE_INTERVAL_MS_CONFIG, 200);
    props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class.getName());
    props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class.getName());

    StreamsBuilder builder = new StreamsBuilder();
    builder.<String, String>stream(args[3])
        .flatMapValues(line -> Arrays.asList(line.toLowerCase().split("\\W+")))
        .filter((k, w) -> !w.isEmpty())
        .groupBy((k, w) -> w)
        .count(Materialized.<String, Long>as(Stores.inMemoryKeyValueStore("counts"))
                   .withKeySerde(Serdes.String())
                   .withValueSerde(Serdes.Long()))
        .toStream()
        .to(args[4], Produced.with(Serdes.String(), Serdes.Long()));

    final KafkaStreams streams = new KafkaStreams(builder.build(), props);
    final CountDownLatch stop = new CountDownLatch(1);
    streams.setStateListener((now, before) -> System.out.println("state " + now));
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      streams.close(java.time.Duration.ofSeconds(10));
      stop.countDown();
    }));
    streams.start();
    stop.await();
  }
}

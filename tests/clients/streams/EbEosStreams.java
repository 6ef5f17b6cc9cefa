// A Kafka Streams 3.9.1 app with processing.guarantee=exactly_once_v2 (stateless: in -> upper
// case -> out). Its stream thread creates a transactional producer once it has tasks; against
// edgebridge that must fail fast. Prints how it ended as one JSON line: the state reached and the
// messages of the uncaught exception's causes.
//
// usage: java EbEosStreams BOOTSTRAP APPLICATION_ID STATE_DIR WAIT_MS

import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;

public final class EbEosStreams {
  static String jsonString(String s) {
    if (s == null)
      return "null";
    return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"").replaceAll("[\\x00-\\x1f]", " ")
        + '"';
  }

  public static void main(String[] args) throws InterruptedException {
    Properties props = new Properties();
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, args[1]);
    props.put(StreamsConfig.STATE_DIR_CONFIG, args[2]);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class.getName());
    props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class.getName());
    final long waitMs = Long.parseLong(args[3]);

    StreamsBuilder builder = new StreamsBuilder();
    builder.<String, String>stream("eos-in").mapValues(v -> v.toUpperCase()).to("eos-out");

    final long start = System.nanoTime();
    final CountDownLatch failed = new CountDownLatch(1);
    final AtomicReference<Throwable> error = new AtomicReference<>();
    final KafkaStreams streams = new KafkaStreams(builder.build(), props);
    streams.setUncaughtExceptionHandler(e -> {
      error.compareAndSet(null, e);
      failed.countDown();
      return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    });
    streams.start();
    final boolean ended = failed.await(waitMs, TimeUnit.MILLISECONDS);
    final long ms = (System.nanoTime() - start) / 1_000_000;
    StringBuilder causes = new StringBuilder("[");
    for (Throwable t = error.get(); t != null; t = t.getCause()) {
      if (causes.length() > 1)
        causes.append(", ");
      causes.append(jsonString(t.getClass().getName() + ": " + t.getMessage()));
    }
    causes.append(']');
    streams.close(java.time.Duration.ofSeconds(10));
    System.out.println("{\"failed\": " + ended + ", \"ms\": " + ms + ", \"causes\": " + causes + "}");
  }
}

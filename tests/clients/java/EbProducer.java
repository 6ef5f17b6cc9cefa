// Java KafkaProducer (kafka-clients 3.9.1) with default settings: idempotence is on by default
// since 3.0, so this is also the idempotent-producer case. The optional COMPRESSION argument sets
// compression.type (gzip, snappy, lz4, zstd) and nothing else.
//
// usage: java EbProducer BOOTSTRAP TOPIC COUNT RUN_ID [TIMEOUT_S] [COMPRESSION]
// Produces COUNT records of the contract in tests/clients/records.py, waits for every callback and
// prints one JSON summary line. Exit 1 unless every record was acknowledged.

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.AppInfoParser;

public final class EbProducer {
  private static final int PAD_LEN = 100;

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String value(String client, String runId, long i) {
    StringBuilder sb = new StringBuilder(client).append('-').append(runId).append('-').append(i);
    sb.append('|');
    for (int j = 0; j < PAD_LEN; j++) sb.append((char) ('a' + (i + j) % 26));
    return sb.toString();
  }

  static String jsonString(String s) {
    if (s == null)
      return "null";
    return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"").replaceAll("[\\x00-\\x1f]", " ")
        + '"';
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 4) {
      System.err.println(
          "usage: EbProducer BOOTSTRAP TOPIC COUNT RUN_ID [TIMEOUT_S] [COMPRESSION]");
      System.exit(2);
    }
    String bootstrap = args[0], topic = args[1], runId = args[3];
    long count = Long.parseLong(args[2]);
    double timeout = args.length > 4 ? Double.parseDouble(args[4]) : 120.0;
    String compression = args.length > 5 ? args[5] : null;
    // "java4" on kafka-clients 4.x (tests/clients/install.sh builds this file against both).
    String base = AppInfoParser.getVersion().startsWith("4.") ? "java4" : "java";
    String client = compression == null ? base : base + "-" + compression;
    long start = System.nanoTime();
    long deadline = start + (long) (timeout * 1e9);

    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    // Serializers have no default; byte arrays leave the bytes exactly as the contract says.
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    if (compression != null)
      props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, compression);

    AtomicLong acked = new AtomicLong(), errors = new AtomicLong();
    AtomicReference<String> firstError = new AtomicReference<>();
    // The producing runs on a worker so the deadline holds even where the client blocks on its
    // own (send() waits up to max.block.ms for metadata, flush() up to delivery.timeout.ms).
    CountDownLatch finished = new CountDownLatch(1);
    Thread worker = new Thread(() -> {
      KafkaProducer<byte[], byte[]> producer = null;
      try {
        producer = new KafkaProducer<>(props);
        for (long i = 0; i < count; i++) {
          ProducerRecord<byte[], byte[]> rec =
              new ProducerRecord<>(topic, utf8("key-" + i), utf8(value(client, runId, i)));
          rec.headers().add(new RecordHeader("seq", utf8(Long.toString(i))));
          rec.headers().add(new RecordHeader("client", utf8(client)));
          try {
            producer.send(rec, (md, ex) -> {
              if (ex == null) {
                acked.incrementAndGet();
              } else {
                errors.incrementAndGet();
                firstError.compareAndSet(null, ex.toString());
              }
            });
          } catch (Exception ex) { // a failure before the record was queued
            errors.incrementAndGet();
            firstError.compareAndSet(null, ex.toString());
          }
        }
        producer.flush();
      } catch (Exception ex) {
        firstError.compareAndSet(null, ex.toString());
      } finally {
        if (producer != null)
          producer.close(Duration.ofSeconds(5));
        finished.countDown();
      }
    }, "eb-producer");
    worker.setDaemon(true);
    worker.start();
    long leftNs = deadline - System.nanoTime();
    if (!finished.await(Math.max(0, leftNs), TimeUnit.NANOSECONDS)) {
      firstError.compareAndSet(null, "not done in " + timeout + " s");
    }
    // One snapshot: after a timeout the worker may still be counting.
    long ok = acked.get(), failed = errors.get();
    long missing = count - ok - failed;
    if (missing > 0) {
      failed += missing;
      firstError.compareAndSet(null, missing + " records without a callback");
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    System.out.printf(
        "{\"client\": \"%s\", \"count\": %d, \"acked\": %d, \"errors\": %d, \"first_error\": %s,"
            + " \"seconds\": %.3f}%n",
        client, count, ok, failed, jsonString(firstError.get()), seconds);
    System.out.flush();
    System.exit(ok == count && failed == 0 ? 0 : 1);
  }
}

// Restart probe for bench/e2e/bench.py (run as a single-file source program on Kafka's jars:
// `scripts/kafka/kafka.sh run-class bench/e2e/ProduceProbe.java BOOTSTRAP TOPIC[,TOPIC...] TIMEOUT_MS`).
//
// It is started before the server under test, prints "ready" once its producer exists, and then
// keeps trying to get one record per topic acknowledged with acks=all, reconnecting every 50 ms, so the
// measured time is the server's and not a client's start-up. Prints "acked" on success and exits
// 0; exits 1 after TIMEOUT_MS.
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class ProduceProbe {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0], topic = args[1];
    long timeoutMs = Long.parseLong(args[2]);
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.RECONNECT_BACKOFF_MS_CONFIG, "50");
    p.put(ProducerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "50");
    p.put(ProducerConfig.RETRY_BACKOFF_MS_CONFIG, "50");
    p.put(ProducerConfig.RETRY_BACKOFF_MAX_MS_CONFIG, "50");
    p.put(ProducerConfig.SOCKET_CONNECTION_SETUP_TIMEOUT_MS_CONFIG, "1000");
    p.put(ProducerConfig.SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS_CONFIG, "1000");
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, Long.toString(timeoutMs));
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Long.toString(timeoutMs));
    p.put(ProducerConfig.LINGER_MS_CONFIG, "0");
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
      System.out.println("ready");
      System.out.flush();
      long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
      while (System.nanoTime() < deadline) {
        try {
          for (String t : topic.split(",")) {
            producer.send(new ProducerRecord<>(t, "probe".getBytes())).get();
          }
          System.out.println("acked");
          System.out.flush();
          return;
        } catch (Exception e) {
          // Not up yet (metadata timeout, not leader, connection reset): try again.
          Thread.sleep(50);
        }
      }
    }
    System.exit(1);
  }
}

// Java KafkaProducer (kafka-clients 3.9.1) with a transactional.id: calls initTransactions() and
// prints how it ended as one JSON line. edgebridge does not support transactions, so this must end
// in a fatal error naming that, well before MAX_BLOCK_MS (which bounds a retrying lookup).
//
// usage: java EbTxnProducer BOOTSTRAP TRANSACTIONAL_ID MAX_BLOCK_MS

import java.time.Duration;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public final class EbTxnProducer {
  static String jsonString(String s) {
    if (s == null)
      return "null";
    return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"").replaceAll("[\\x00-\\x1f]", " ")
        + '"';
  }

  public static void main(String[] args) {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, args[1]);
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, args[2]);
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    final long start = System.nanoTime();
    final KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props);
    String outcome;
    try {
      producer.initTransactions();
      outcome = "{\"initialized\": true}";
    } catch (RuntimeException e) {
      long ms = (System.nanoTime() - start) / 1_000_000;
      outcome = "{\"error\": " + jsonString(e.getClass().getName())
          + ", \"message\": " + jsonString(e.getMessage()) + ", \"ms\": " + ms + "}";
    }
    producer.close(Duration.ofSeconds(5));
    System.out.println(outcome);
  }
}

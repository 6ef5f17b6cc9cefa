import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Client security settings from EB_CLIENT_SECURITY (see tests/clients/security.py): a flat JSON
 * object of strings. Unset: nothing is added (plaintext).
 */
final class EbSecurity {
  private EbSecurity() {}

  static void apply(Properties props) {
    String raw = System.getenv("EB_CLIENT_SECURITY");
    if (raw == null || raw.isEmpty()) {
      return;
    }
    Map<String, String> s = new HashMap<>();
    Matcher m = Pattern.compile("\"(\\w+)\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(raw);
    while (m.find()) {
      s.put(m.group(1), m.group(2));
    }
    if (s.containsKey("protocol")) {
      props.put("security.protocol", s.get("protocol"));
    }
    String mechanism = s.get("mechanism");
    if (mechanism != null) {
      props.put("sasl.mechanism", mechanism);
      String module = mechanism.equals("PLAIN")
          ? "org.apache.kafka.common.security.plain.PlainLoginModule"
          : "org.apache.kafka.common.security.scram.ScramLoginModule";
      props.put("sasl.jaas.config", module + " required username=\"" + s.get("username")
          + "\" password=\"" + s.get("password") + "\";");
    }
    if (s.containsKey("ca")) {
      props.put("ssl.truststore.type", "PEM");
      props.put("ssl.truststore.location", s.get("ca"));
    }
    if (s.containsKey("cert")) {
      // A PEM key store: the chain and the PKCS#8 key as values.
      try {
        props.put("ssl.keystore.type", "PEM");
        props.put("ssl.keystore.certificate.chain", java.nio.file.Files.readString(
            java.nio.file.Path.of(s.get("cert"))));
        props.put("ssl.keystore.key", java.nio.file.Files.readString(
            java.nio.file.Path.of(s.get("key"))));
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
  }
}

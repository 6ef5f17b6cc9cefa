#pragma once
// What one connection knows about who is on the other end: the listener it came in on, that
// listener's security protocol and advertised address, the TLS peer's subject and the principal
// the request handlers authorize. One `session` per connection, made by net/connection.cc when
// the connection is accepted (and completed after the TLS handshake), then handed to every
// request of the connection (net::request::session).
//
// Threading: a session is read and written only on its connection's strand (the reader, the
// handlers); nothing here is locked.
//
// SASL: net/ knows no mechanism. On a SASL_PLAINTEXT or SASL_SSL listener `authenticated` starts
// false and bridge/ (SaslHandshake, SaslAuthenticate) sets it, the principal, and keeps its
// exchange state in `sasl` (any type derived from session_extension).
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace eb::net {

// Kafka's security.protocol names for a listener.
enum class security_protocol : uint8_t { plaintext, ssl, sasl_plaintext, sasl_ssl };

// "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL".
std::string_view to_string(security_protocol);
// The protocol named (case-insensitive), nullopt for anything else.
std::optional<security_protocol> parse_security_protocol(std::string_view);
constexpr bool uses_tls(security_protocol p) {
  return p == security_protocol::ssl || p == security_protocol::sasl_ssl;
}
constexpr bool uses_sasl(security_protocol p) {
  return p == security_protocol::sasl_plaintext || p == security_protocol::sasl_ssl;
}

// Per-connection state owned by bridge/ (the SASL exchange, its mechanism, the credential's
// lifetime). net/ only keeps it alive with the session.
struct session_extension {
  virtual ~session_extension() = default;
};

// Kafka's principal before (or without) authentication.
inline constexpr std::string_view anonymous_principal = "User:ANONYMOUS";

struct session {
  // The listener's name (listeners[].name; "PLAINTEXT" for the single default listener).
  std::string listener;
  security_protocol protocol = security_protocol::plaintext;
  // What Metadata and FindCoordinator tell a client that came in on this listener.
  std::string advertised_host;
  int32_t advertised_port = 0;
  // Mechanisms this listener offers (e.g. "SCRAM-SHA-512", "PLAIN"); empty: every mechanism the
  // broker supports. Only meaningful when uses_sasl(protocol).
  std::vector<std::string> sasl_mechanisms;

  // "User:<name>": from the client certificate (mapped by the listener's principal mapping rules)
  // on SSL, from SASL on SASL_*; anonymous_principal otherwise.
  std::string principal{anonymous_principal};
  // The verified client certificate's subject in RFC 2253 form ("CN=dev1,O=plant"), empty when
  // the client sent none (or the listener is not TLS).
  std::string tls_subject;
  // False on SASL listeners until bridge/ completes SaslAuthenticate; true on the others.
  bool authenticated = true;
  // bridge/'s SASL state for this connection; null until a SaslHandshake.
  std::unique_ptr<session_extension> sasl;

  // "ip:port" of the client, for logs.
  std::string peer;
};

}  // namespace eb::net

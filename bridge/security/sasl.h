#pragma once
// One connection's SASL state on a SASL listener, as Kafka's SaslServerAuthenticator keeps it:
//
//   start ──SaslHandshake(mech)──▶ handshaken ──SaslAuthenticate…──▶ authenticated
//                                  (v0 handshake: raw tokens)        │  session lifetime (KIP-368)
//   authenticated ──SaslHandshake + SaslAuthenticate (same principal)──▶ authenticated (renewed)
//
// Before authentication only ApiVersions, SaslHandshake and SaslAuthenticate are served; any
// other request closes the connection (Kafka: IllegalSaslStateException). A failed exchange
// answers SASL_AUTHENTICATION_FAILED and closes; an unknown mechanism UNSUPPORTED_SASL_MECHANISM
// (with the enabled ones) and closes; a request out of order ILLEGAL_SASL_STATE and closes. Once
// the session lifetime has passed without re-authentication, the next request closes the
// connection. Transport-free: the handlers and the router drive it.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bridge/security/scram.h"
#include "net/session.h"
#include "storage/storage.h"

namespace eb::bridge::security {

struct sasl_options {
  // Offered in SaslHandshake, in this order. Known: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512.
  std::vector<std::string> mechanisms = {"SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"};
  // Kafka connections.max.reauth.ms: the session lifetime told in SaslAuthenticate v1+; a
  // connection that has not re-authenticated by then is closed at its next request. 0 = none.
  std::chrono::milliseconds max_reauth{0};
};
std::vector<std::string> validate(const sasl_options&);

// Lives in net::session::sasl from the first SaslHandshake on.
class sasl_session final : public net::session_extension {
 public:
  using clock = std::chrono::steady_clock;
  // `mechanisms`: the listener's (net::session::sasl_mechanisms), empty for opts.mechanisms.
  sasl_session(const sasl_options& opts, const std::vector<std::string>& mechanisms) : _opts(opts) {
    if (!mechanisms.empty()) _opts.mechanisms = mechanisms;
  }

  struct answer {
    int16_t error_code = 0;  // Kafka's code (net::error_code)
    std::optional<std::string> error_message;
    std::string auth_bytes;
    std::vector<std::string> mechanisms;  // SaslHandshake
    int64_t session_lifetime_ms = 0;
    bool close = false;  // close after answering
  };
  answer handshake(int16_t version, const std::string& mechanism);
  // One token, from SaslAuthenticate or raw after a v0 handshake.
  answer authenticate(std::string_view token, const storage::log_store& credentials,
                      clock::time_point now);

  // Whether a request with this API key may be served now (false: close the connection).
  bool may_serve(int16_t api_key, clock::time_point now) const;
  bool started() const { return _state != state::start; }
  // After a v0 handshake the tokens arrive raw (length-prefixed, without a request header).
  bool raw_tokens() const { return _raw && _state == state::handshaken; }
  bool authenticated() const { return !_principal.empty(); }
  // "User:<name>" once authenticated, else empty.
  const std::string& principal() const { return _principal; }
  const std::string& mechanism() const { return _mechanism; }

 private:
  enum class state { start, handshaken, authenticating, authenticated };
  answer fail(int16_t code, std::string message);
  answer succeed(const std::string& user, std::string bytes, clock::time_point now);

  sasl_options _opts;
  state _state = state::start;
  bool _raw = false;
  int16_t _auth_version = 0;
  std::string _mechanism;
  std::unique_ptr<scram_server> _scram;
  std::string _principal;
  std::optional<clock::time_point> _expires;
};

// The router's gate on a SASL listener: before authentication only ApiVersions (before a
// handshake), SaslHandshake and SaslAuthenticate; after it, everything until the session expires.
bool may_serve(const net::session& s, int16_t api_key, sasl_session::clock::time_point now);

}  // namespace eb::bridge::security

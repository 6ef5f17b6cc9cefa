#include "bridge/security/sasl.h"

#include <algorithm>

#include "bridge/security/credentials.h"
#include "net/errors.h"

namespace eb::bridge::security {
namespace {

constexpr int16_t key_api_versions = 18, key_sasl_handshake = 17, key_sasl_authenticate = 36;

int16_t code(net::error_code e) { return static_cast<int16_t>(e); }

}  // namespace

std::vector<std::string> validate(const sasl_options& o) {
  std::vector<std::string> p;
  if (o.mechanisms.empty()) p.emplace_back("sasl.mechanisms: at least one is needed");
  for (const auto& m : o.mechanisms) {
    if (m != "PLAIN" && !parse_scram_mechanism(m)) {
      p.push_back("sasl.mechanisms: unknown mechanism " + m +
                  " (known: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)");
    }
  }
  if (o.max_reauth.count() < 0) p.emplace_back("sasl.max_reauth_ms: must not be negative");
  return p;
}

bool sasl_session::may_serve(int16_t api_key, clock::time_point now) const {
  if (api_key == key_sasl_handshake || api_key == key_sasl_authenticate) return true;
  if (_principal.empty()) return api_key == key_api_versions && _state == state::start;
  // Re-authenticating: requests keep being served until the old session expires.
  return !_expires || now < *_expires;
}

bool may_serve(const net::session& s, int16_t api_key, sasl_session::clock::time_point now) {
  if (!net::uses_sasl(s.protocol)) return true;
  const auto* sasl = dynamic_cast<const sasl_session*>(s.sasl.get());
  if (!sasl) return api_key == key_api_versions || api_key == key_sasl_handshake;
  return sasl->may_serve(api_key, now);
}

sasl_session::answer sasl_session::fail(int16_t c, std::string message) {
  answer a;
  a.error_code = c;
  a.error_message = std::move(message);
  a.close = true;
  _scram.reset();
  return a;
}

sasl_session::answer sasl_session::handshake(int16_t version, const std::string& mechanism) {
  answer a;
  a.mechanisms = _opts.mechanisms;
  if (_state == state::handshaken || _state == state::authenticating) {
    a.error_code = code(net::error_code::illegal_sasl_state);
    a.close = true;
    return a;
  }
  if (std::find(_opts.mechanisms.begin(), _opts.mechanisms.end(), mechanism) ==
      _opts.mechanisms.end()) {
    a.error_code = code(net::error_code::unsupported_sasl_mechanism);
    a.close = true;
    return a;
  }
  // Re-authentication keeps the mechanism (KIP-368).
  if (!_principal.empty() && mechanism != _mechanism) {
    a.error_code = code(net::error_code::illegal_sasl_state);
    a.close = true;
    return a;
  }
  _mechanism = mechanism;
  _raw = version == 0;
  _state = state::handshaken;
  return a;
}

sasl_session::answer sasl_session::succeed(const std::string& user, std::string bytes,
                                           clock::time_point now) {
  auto principal = "User:" + user;
  if (!_principal.empty() && principal != _principal) {
    return fail(code(net::error_code::sasl_authentication_failed),
                "Cannot change principals during re-authentication");
  }
  _principal = std::move(principal);
  _state = state::authenticated;
  _scram.reset();
  answer a;
  a.auth_bytes = std::move(bytes);
  if (_opts.max_reauth.count() > 0) {
    a.session_lifetime_ms = _opts.max_reauth.count();
    _expires = now + _opts.max_reauth;
  }
  return a;
}

sasl_session::answer sasl_session::authenticate(std::string_view token,
                                                const storage::log_store& store,
                                                clock::time_point now) {
  if (_state != state::handshaken && _state != state::authenticating) {
    return fail(code(net::error_code::illegal_sasl_state),
                "SaslAuthenticate before a successful SaslHandshake");
  }
  if (token.size() > max_token_bytes) {
    return fail(code(net::error_code::sasl_authentication_failed),
                "Authentication failed: the SASL token is too large");
  }
  const std::string failed =
      "Authentication failed during authentication due to invalid credentials with SASL "
      "mechanism " +
      _mechanism;
  if (_mechanism == "PLAIN") {
    auto msg = parse_plain(token);
    if (!msg) {
      return fail(code(net::error_code::sasl_authentication_failed),
                  "Authentication failed: invalid SASL/PLAIN request");
    }
    for (auto m : {scram_mechanism::sha512, scram_mechanism::sha256}) {
      auto cred = find_credential(store, msg->user, m);
      if (cred && verify_password(*cred, msg->password)) return succeed(msg->user, {}, now);
      if (cred) break;  // the strongest credential decides
    }
    return fail(code(net::error_code::sasl_authentication_failed),
                "Authentication failed: Invalid username or password");
  }
  auto mech = parse_scram_mechanism(_mechanism);
  if (!mech) return fail(code(net::error_code::illegal_sasl_state), "no mechanism");
  if (!_scram) {
    _scram = std::make_unique<scram_server>(*mech, [&store, m = *mech](const std::string& user) {
      return find_credential(store, user, m);
    });
  }
  _state = state::authenticating;
  auto step = _scram->step(token);
  if (step.error != scram_server::failure::none) {
    return fail(code(net::error_code::sasl_authentication_failed), failed);
  }
  if (_scram->is_complete()) return succeed(_scram->user(), std::move(step.message), now);
  answer a;
  a.auth_bytes = std::move(step.message);
  return a;
}

}  // namespace eb::bridge::security

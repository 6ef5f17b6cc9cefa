#pragma once
// SCRAM (RFC 5802, RFC 7677) and PLAIN (RFC 4616) for the broker side of SASL: salted, iterated
// credentials (StoredKey, ServerKey, salt, iterations; never the password) and the server's half
// of the SCRAM exchange. Pure functions over OpenSSL; no sockets, no storage.
//
// Every input is bounded (max_token_bytes) and parsed strictly; every secret comparison is
// constant-time (CRYPTO_memcmp).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace eb::bridge::security {

enum class scram_mechanism : int8_t {
  // Kafka's ScramMechanism ids (DescribeUserScramCredentials, AlterUserScramCredentials).
  sha256 = 1,
  sha512 = 2,
  // Not offered to clients; only so the RFC 5802 test vectors check the same code.
  sha1 = 100,
};
// "SCRAM-SHA-256" / "SCRAM-SHA-512"; nullopt for anything else (sha1 is never parsed).
std::optional<scram_mechanism> parse_scram_mechanism(std::string_view name);
std::string_view name_of(scram_mechanism m);

// Kafka's bounds on iterations (ScramMechanism.minIterations/maxIterations).
inline constexpr int32_t min_iterations = 4096;
inline constexpr int32_t max_iterations = 16384;
// The largest SASL token accepted from a client, and the largest user name.
inline constexpr size_t max_token_bytes = 8192;
inline constexpr size_t max_user_bytes = 1024;

struct scram_credential {
  scram_mechanism mechanism = scram_mechanism::sha512;
  std::string salt;
  std::string stored_key;
  std::string server_key;
  int32_t iterations = min_iterations;
};

// Derives a credential from a password. Errors: invalid_argument for iterations outside
// [1, max_iterations] or an empty salt.
result<scram_credential> make_credential(scram_mechanism m, std::string_view password,
                                         std::string_view salt, int32_t iterations);
// Same with a fresh random 32-byte salt.
result<scram_credential> make_credential(scram_mechanism m, std::string_view password,
                                         int32_t iterations);
// The credential from a salted password computed by the client (AlterUserScramCredentials sends
// salt, SaltedPassword and iterations; never the password).
scram_credential credential_from_salted(scram_mechanism m, std::string_view salt,
                                        std::string_view salted_password, int32_t iterations);
// Whether `password` derives this credential (used by PLAIN): constant-time on the keys.
bool verify_password(const scram_credential& c, std::string_view password);

// Opaque storage form (a version byte, then the fields) and back; nullopt if malformed.
std::string encode(const scram_credential& c);
std::optional<scram_credential> decode_credential(std::string_view v);

// Base64 (RFC 4648, padded). decode_base64 is strict: nullopt on any non-alphabet byte or
// bad padding.
std::string encode_base64(std::string_view in);
std::optional<std::string> decode_base64(std::string_view in);

// PLAIN: "authzid \0 authcid \0 passwd". nullopt when malformed, when the authzid is set and
// differs from the authcid (Kafka refuses impersonation), or when a part is empty/too long.
struct plain_message {
  std::string user;
  std::string password;
};
std::optional<plain_message> parse_plain(std::string_view token);

// The server's side of one SCRAM exchange: client-first -> server-first, client-final ->
// server-final. Any error ends the exchange (is_failed()).
class scram_server {
 public:
  using lookup_fn = std::function<std::optional<scram_credential>(const std::string& user)>;
  // `nonce` makes the server nonce (tests pass a fixed one); default: 24 random bytes, base64.
  scram_server(scram_mechanism m, lookup_fn lookup, std::function<std::string()> nonce = {});

  enum class failure { none, malformed, unknown_user, bad_proof };
  // The next server message, or the reason the exchange failed.
  struct step_result {
    std::string message;
    failure error = failure::none;
  };
  step_result step(std::string_view client_message);
  bool is_complete() const { return _state == state::done; }
  // The authenticated user name, once complete.
  const std::string& user() const { return _user; }

 private:
  step_result first(std::string_view msg);
  step_result final(std::string_view msg);
  step_result fail(failure f) {
    _state = state::failed;
    return {{}, f};
  }

  enum class state { start, sent_first, done, failed };
  scram_mechanism _mech;
  lookup_fn _lookup;
  std::function<std::string()> _nonce;
  state _state = state::start;
  std::string _user;
  std::string _gs2_header;
  std::string _client_first_bare;
  std::string _server_first;
  std::string _nonce_full;
  scram_credential _cred;
};

}  // namespace eb::bridge::security

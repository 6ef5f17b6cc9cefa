#include "bridge/security/scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <system_error>
#include <vector>

namespace eb::bridge::security {
namespace {

const EVP_MD* digest_of(scram_mechanism m) {
  switch (m) {
    case scram_mechanism::sha256:
      return EVP_sha256();
    case scram_mechanism::sha512:
      return EVP_sha512();
    case scram_mechanism::sha1:
      return EVP_sha1();
  }
  return EVP_sha512();
}

std::string hmac(scram_mechanism m, std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  HMAC(digest_of(m), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  return std::string(reinterpret_cast<const char*>(out.data()), len);
}

std::string hash(scram_mechanism m, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, digest_of(m), nullptr);
  return std::string(reinterpret_cast<const char*>(out.data()), len);
}

std::string salted_password(scram_mechanism m, std::string_view password, std::string_view salt,
                            int32_t iterations) {
  const auto* md = digest_of(m);
  std::string out(static_cast<size_t>(EVP_MD_size(md)), '\0');
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()),
                    static_cast<int>(salt.size()), iterations, md, static_cast<int>(out.size()),
                    reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

bool equal_ct(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_bytes(size_t n) {
  std::string s(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(s.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return s;
}

constexpr std::string_view b64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// RFC 5802 saslname: "=2C" is ',' and "=3D" is '='; any other '=' is malformed.
std::optional<std::string> decode_saslname(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == ',') return std::nullopt;
    if (in[i] != '=') {
      out.push_back(in[i]);
      continue;
    }
    auto esc = in.substr(i + 1, 2);
    if (esc == "2C") {
      out.push_back(',');
    } else if (esc == "3D") {
      out.push_back('=');
    } else {
      return std::nullopt;
    }
    i += 2;
  }
  return out;
}

// Splits "a=..,b=.." attributes; each must be a letter, '=', and a value.
std::optional<std::vector<std::pair<char, std::string_view>>> attributes(std::string_view s) {
  std::vector<std::pair<char, std::string_view>> out;
  while (true) {
    auto comma = s.find(',');
    auto part = s.substr(0, comma);
    if (part.size() < 2 || part[1] != '=' || !std::isalpha(static_cast<unsigned char>(part[0]))) {
      return std::nullopt;
    }
    out.emplace_back(part[0], part.substr(2));
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

bool printable_nonce(std::string_view n) {
  if (n.empty()) return false;
  for (char c : n) {
    if (c < 0x21 || c > 0x7e || c == ',') return false;
  }
  return true;
}

}  // namespace

std::optional<scram_mechanism> parse_scram_mechanism(std::string_view name) {
  if (name == "SCRAM-SHA-256") return scram_mechanism::sha256;
  if (name == "SCRAM-SHA-512") return scram_mechanism::sha512;
  return std::nullopt;
}

std::string_view name_of(scram_mechanism m) {
  switch (m) {
    case scram_mechanism::sha256:
      return "SCRAM-SHA-256";
    case scram_mechanism::sha512:
      return "SCRAM-SHA-512";
    case scram_mechanism::sha1:
      return "SCRAM-SHA-1";
  }
  return "?";
}

scram_credential credential_from_salted(scram_mechanism m, std::string_view salt,
                                        std::string_view salted, int32_t iterations) {
  scram_credential c;
  c.mechanism = m;
  c.salt = std::string(salt);
  c.iterations = iterations;
  c.stored_key = hash(m, hmac(m, salted, "Client Key"));
  c.server_key = hmac(m, salted, "Server Key");
  return c;
}

result<scram_credential> make_credential(scram_mechanism m, std::string_view password,
                                         std::string_view salt, int32_t iterations) {
  if (iterations < 1 || iterations > max_iterations || salt.empty()) {
    return std::make_error_code(std::errc::invalid_argument);
  }
  return credential_from_salted(m, salt, salted_password(m, password, salt, iterations),
                                iterations);
}

result<scram_credential> make_credential(scram_mechanism m, std::string_view password,
                                         int32_t iterations) {
  return make_credential(m, password, random_bytes(32), iterations);
}

bool verify_password(const scram_credential& c, std::string_view password) {
  const auto salted = salted_password(c.mechanism, password, c.salt, c.iterations);
  return equal_ct(hash(c.mechanism, hmac(c.mechanism, salted, "Client Key")), c.stored_key);
}

std::string encode(const scram_credential& c) {
  std::string v(1, '\x01');
  v.push_back(static_cast<char>(c.mechanism));
  for (int shift = 24; shift >= 0; shift -= 8) {
    v.push_back(static_cast<char>(static_cast<uint32_t>(c.iterations) >> shift));
  }
  for (const auto* f : {&c.salt, &c.stored_key, &c.server_key}) {
    v.push_back(static_cast<char>(f->size()));
    v.append(*f);
  }
  return v;
}

std::optional<scram_credential> decode_credential(std::string_view v) {
  if (v.size() < 6 || v[0] != '\x01') return std::nullopt;
  scram_credential c;
  auto m = static_cast<int8_t>(v[1]);
  if (m != 1 && m != 2) return std::nullopt;
  c.mechanism = static_cast<scram_mechanism>(m);
  uint32_t it = 0;
  for (int i = 2; i < 6; ++i) it = (it << 8) | static_cast<uint8_t>(v[i]);
  c.iterations = static_cast<int32_t>(it);
  v.remove_prefix(6);
  for (auto* f : {&c.salt, &c.stored_key, &c.server_key}) {
    if (v.empty()) return std::nullopt;
    size_t n = static_cast<uint8_t>(v[0]);
    if (v.size() < 1 + n) return std::nullopt;
    *f = std::string(v.substr(1, n));
    v.remove_prefix(1 + n);
  }
  if (!v.empty() || c.iterations < 1 || c.iterations > max_iterations) return std::nullopt;
  return c;
}

std::string encode_base64(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t n = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8) |
                 static_cast<uint8_t>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(b64_alphabet[(n >> s) & 63]);
  }
  if (i < in.size()) {
    uint32_t n = static_cast<uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<uint8_t>(in[i + 1]) << 8;
    out.push_back(b64_alphabet[(n >> 18) & 63]);
    out.push_back(b64_alphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? b64_alphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::optional<std::string> decode_base64(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char c = in[i + k];
      if (c == '=' && last && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad) return std::nullopt;  // data after padding
      v[k] = b64_value(c);
      if (v[k] < 0) return std::nullopt;
    }
    uint32_t n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out.push_back(static_cast<char>(n >> 16));
    if (pad < 2) out.push_back(static_cast<char>(n >> 8));
    if (pad < 1) out.push_back(static_cast<char>(n));
  }
  return out;
}

std::optional<plain_message> parse_plain(std::string_view token) {
  if (token.size() > max_token_bytes) return std::nullopt;
  auto a = token.find('\0');
  if (a == std::string_view::npos) return std::nullopt;
  auto b = token.find('\0', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  auto authzid = token.substr(0, a);
  auto user = token.substr(a + 1, b - a - 1);
  auto password = token.substr(b + 1);
  if (user.empty() || password.empty() || user.size() > max_user_bytes) return std::nullopt;
  if (password.find('\0') != std::string_view::npos) return std::nullopt;
  if (!authzid.empty() && authzid != user) return std::nullopt;
  return plain_message{std::string(user), std::string(password)};
}

scram_server::scram_server(scram_mechanism m, lookup_fn lookup, std::function<std::string()> nonce)
    : _mech(m), _lookup(std::move(lookup)), _nonce(std::move(nonce)) {
  if (!_nonce) _nonce = [] { return encode_base64(random_bytes(24)); };
}

scram_server::step_result scram_server::step(std::string_view msg) {
  if (msg.size() > max_token_bytes) return fail(failure::malformed);
  switch (_state) {
    case state::start:
      return first(msg);
    case state::sent_first:
      return final(msg);
    default:
      return fail(failure::malformed);
  }
}

// client-first-message = gs2-header client-first-message-bare
// gs2-header = ("n" / "y") "," [ "a=" saslname ] ","   ("p=" channel binding is refused)
// client-first-message-bare = [reserved-mext ","] "n=" saslname "," "r=" nonce ["," extensions]
scram_server::step_result scram_server::first(std::string_view msg) {
  if (msg.size() < 3 || (msg[0] != 'n' && msg[0] != 'y') || msg[1] != ',') {
    return fail(failure::malformed);
  }
  auto second_comma = msg.find(',', 2);
  if (second_comma == std::string_view::npos) return fail(failure::malformed);
  auto authz = msg.substr(2, second_comma - 2);
  std::optional<std::string> authzid;
  if (!authz.empty()) {
    if (authz.substr(0, 2) != "a=") return fail(failure::malformed);
    authzid = decode_saslname(authz.substr(2));
    if (!authzid) return fail(failure::malformed);
  }
  _gs2_header = std::string(msg.substr(0, second_comma + 1));
  auto bare = msg.substr(second_comma + 1);
  auto attrs = attributes(bare);
  if (!attrs || attrs->size() < 2 || (*attrs)[0].first != 'n' || (*attrs)[1].first != 'r') {
    return fail(failure::malformed);
  }
  auto user = decode_saslname((*attrs)[0].second);
  if (!user || user->empty() || user->size() > max_user_bytes) return fail(failure::malformed);
  if (authzid && *authzid != *user) return fail(failure::malformed);
  auto client_nonce = (*attrs)[1].second;
  if (!printable_nonce(client_nonce)) return fail(failure::malformed);
  _user = *user;
  auto cred = _lookup(_user);
  if (!cred || cred->mechanism != _mech) return fail(failure::unknown_user);
  _cred = std::move(*cred);
  _client_first_bare = std::string(bare);
  _nonce_full = std::string(client_nonce) + _nonce();
  _server_first = "r=" + _nonce_full + ",s=" + encode_base64(_cred.salt) +
                  ",i=" + std::to_string(_cred.iterations);
  _state = state::sent_first;
  return {_server_first};
}

// client-final-message = "c=" base64(gs2-header) "," "r=" nonce ["," extensions] "," "p=" proof
scram_server::step_result scram_server::final(std::string_view msg) {
  auto proof_at = msg.rfind(",p=");
  if (proof_at == std::string_view::npos) return fail(failure::malformed);
  auto without_proof = msg.substr(0, proof_at);
  auto attrs = attributes(without_proof);
  if (!attrs || attrs->size() < 2 || (*attrs)[0].first != 'c' || (*attrs)[1].first != 'r') {
    return fail(failure::malformed);
  }
  auto binding = decode_base64((*attrs)[0].second);
  if (!binding || *binding != _gs2_header) return fail(failure::malformed);
  // Kafka's ScramSaslServer checks that the nonce ends with the server-first nonce, not that it
  // equals it: librdkafka 2.0.2 sends its own nonce again in front of it.
  const auto nonce = (*attrs)[1].second;
  if (nonce.size() < _nonce_full.size() || !nonce.ends_with(_nonce_full)) {
    return fail(failure::malformed);
  }
  auto proof = decode_base64(msg.substr(proof_at + 3));
  if (!proof) return fail(failure::malformed);
  const std::string auth_message =
      _client_first_bare + "," + _server_first + "," + std::string(without_proof);
  const auto client_signature = hmac(_mech, _cred.stored_key, auth_message);
  if (proof->size() != client_signature.size()) return fail(failure::bad_proof);
  std::string client_key(proof->size(), '\0');
  for (size_t i = 0; i < client_key.size(); ++i) client_key[i] = (*proof)[i] ^ client_signature[i];
  if (!equal_ct(hash(_mech, client_key), _cred.stored_key)) return fail(failure::bad_proof);
  _state = state::done;
  return {"v=" + encode_base64(hmac(_mech, _cred.server_key, auth_message))};
}

}  // namespace eb::bridge::security

#include "bridge/security/credentials.h"

namespace eb::bridge::security {

std::string credential_key(const std::string& user, scram_mechanism m) {
  std::string k(1, static_cast<char>(m));
  k.append(user);
  return k;
}

storage::record_change upsert_credential(const std::string& user, const scram_credential& c) {
  return {credential_key(user, c.mechanism), encode(c)};
}

storage::record_change delete_credential(const std::string& user, scram_mechanism m) {
  return {credential_key(user, m), std::nullopt};
}

std::optional<scram_credential> find_credential(const storage::log_store& store,
                                                const std::string& user, scram_mechanism m) {
  auto v = store.record(credential_record_kind, credential_key(user, m));
  if (!v) return std::nullopt;
  auto c = decode_credential(*v);
  if (!c || c->mechanism != m) return std::nullopt;
  return c;
}

std::map<std::string, std::vector<scram_credential>> all_credentials(
    const storage::log_store& store) {
  std::map<std::string, std::vector<scram_credential>> out;
  for (const auto& [key, value] : store.records(credential_record_kind)) {
    auto c = decode_credential(value);
    if (key.size() < 2 || !c) continue;
    out[key.substr(1)].push_back(std::move(*c));
  }
  return out;
}

}  // namespace eb::bridge::security

#pragma once
// SCRAM credentials of the users, as storage records of kind "scram" keyed by mechanism and user
// name (storage knows nothing of SASL: the values are opaque to it). Used by the SASL exchange
// (PLAIN verifies against the SCRAM credential), the SCRAM credential APIs and the users CLI.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bridge/security/scram.h"
#include "storage/storage.h"

namespace eb::bridge::security {

inline constexpr const char* credential_record_kind = "scram";

// The record key of (user, mechanism).
std::string credential_key(const std::string& user, scram_mechanism m);
storage::record_change upsert_credential(const std::string& user, const scram_credential& c);
storage::record_change delete_credential(const std::string& user, scram_mechanism m);

std::optional<scram_credential> find_credential(const storage::log_store& store,
                                                const std::string& user, scram_mechanism m);
// Every user's credentials, by user name.
std::map<std::string, std::vector<scram_credential>> all_credentials(
    const storage::log_store& store);

}  // namespace eb::bridge::security

#include "bridge/handlers/alter_user_scram_credentials.h"

#include <map>

#include "bridge/async_storage.h"
#include "bridge/errors.h"
#include "bridge/handlers/authz.h"
#include "bridge/security/credentials.h"

namespace eb::bridge {
namespace {

using net::error_code;

struct verdict {
  error_code code = error_code::none;
  std::string message;
};

}  // namespace

// Needs Alter on the cluster. The client sends salt, SaltedPassword and iterations (never the
// password); the bridge stores StoredKey/ServerKey derived from them. Checks as Kafka's
// ControllerApis: one result per user; the same (user, mechanism) twice fails with
// DUPLICATE_RESOURCE.
awaitable<handler_result<net::msg::alter_user_scram_credentials_response>>
alter_user_scram_credentials_handler::handle(request_ctx& ctx,
                                             net::msg::alter_user_scram_credentials_request req) {
  handler_result<net::msg::alter_user_scram_credentials_response> reply;
  std::map<std::string, verdict> users;  // in name order, like Kafka's answer
  // Kafka refuses the same (user, mechanism) twice in one request.
  std::map<std::pair<std::string, int8_t>, int> seen;
  for (auto& d : req.deletions) seen[{d.name, d.mechanism}]++;
  for (auto& u : req.upsertions) seen[{u.name, u.mechanism}]++;
  const bool allowed = authorize_cluster(ctx, security::acl_operation::alter);
  // A user's changes are written only when all of them are valid (Kafka fails the user).
  std::map<std::string, std::vector<storage::record_change>> per_user;
  auto check = [&](const std::string& name, int8_t mechanism, bool deletion) -> verdict {
    if (!allowed)
      return {error_code::cluster_authorization_failed, "Cluster authorization failed."};
    if (name.empty()) return {error_code::unacceptable_credential, "Username must not be empty"};
    if (name.size() > security::max_user_bytes) {
      return {error_code::unacceptable_credential, "Username is too long"};
    }
    if (seen[{name, mechanism}] > 1) {
      return {error_code::duplicate_resource,
              "A user credential cannot be altered twice in the "
              "same request"};
    }
    if (mechanism != 1 && mechanism != 2) {
      return {error_code::unsupported_sasl_mechanism, "Unknown SCRAM mechanism"};
    }
    if (deletion &&
        !find_credential(ctx.svc.store, name, static_cast<security::scram_mechanism>(mechanism))) {
      return {error_code::resource_not_found,
              "Attempt to delete a user credential that does not exist"};
    }
    return {};
  };
  for (auto& d : req.deletions) {
    auto v = check(d.name, d.mechanism, true);
    if (v.code == error_code::none) {
      per_user[d.name].push_back(
          security::delete_credential(d.name, static_cast<security::scram_mechanism>(d.mechanism)));
    }
    if (users[d.name].code == error_code::none) users[d.name] = std::move(v);
  }
  for (auto& u : req.upsertions) {
    auto v = check(u.name, u.mechanism, false);
    const auto mech = static_cast<security::scram_mechanism>(u.mechanism);
    const size_t digest = mech == security::scram_mechanism::sha256 ? 32 : 64;
    if (v.code == error_code::none) {
      if (u.iterations < security::min_iterations) {
        v = {error_code::unacceptable_credential, "Too few iterations"};
      } else if (u.iterations > security::max_iterations) {
        v = {error_code::unacceptable_credential, "Too many iterations"};
      } else if (u.salt.empty() || u.salt.size() > 255 || u.salted_password.size() != digest) {
        v = {error_code::unacceptable_credential, "Bad salt or salted password"};
      } else {
        per_user[u.name].push_back(security::upsert_credential(
            u.name,
            security::credential_from_salted(mech, u.salt, u.salted_password, u.iterations)));
      }
    }
    if (users[u.name].code == error_code::none) users[u.name] = std::move(v);
  }
  std::vector<storage::record_change> changes;
  for (auto& [name, v] : users) {
    if (v.code != error_code::none) continue;
    for (auto& c : per_user[name]) changes.push_back(std::move(c));
  }
  if (!changes.empty()) {
    auto stored = co_await async_update_records(ctx.svc.store, security::credential_record_kind,
                                                std::move(changes));
    if (!stored) {
      for (auto& [name, v] : users) {
        if (v.code == error_code::none) v = {to_kafka(stored.error()), stored.error().message()};
      }
    }
  }
  for (auto& [name, v] : users) {
    auto& r = reply.body.results.emplace_back();
    r.user = name;
    r.error_code = static_cast<int16_t>(v.code);
    if (v.code == error_code::none) {
      r.error_message = std::nullopt;
    } else {
      r.error_message = v.message;
    }
  }
  co_return reply;
}

}  // namespace eb::bridge

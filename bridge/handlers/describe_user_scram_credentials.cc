#include "bridge/handlers/describe_user_scram_credentials.h"

#include <set>

#include "bridge/handlers/authz.h"
#include "bridge/security/credentials.h"

namespace eb::bridge {

// Needs Describe on the cluster. Tells each user's mechanisms and iterations, never a key.
awaitable<handler_result<net::msg::describe_user_scram_credentials_response>>
describe_user_scram_credentials_handler::handle(
    request_ctx& ctx, net::msg::describe_user_scram_credentials_request req) {
  handler_result<net::msg::describe_user_scram_credentials_response> reply;
  if (!authorize_cluster(ctx, security::acl_operation::describe)) {
    reply.body.error_code = static_cast<int16_t>(net::error_code::cluster_authorization_failed);
    reply.body.error_message = "Cluster authorization failed.";
    co_return reply;
  }
  reply.body.error_message = std::nullopt;
  auto all = security::all_credentials(ctx.svc.store);
  auto describe = [&](const std::string& user,
                      const std::vector<security::scram_credential>& creds) {
    auto& r = reply.body.results.emplace_back();
    r.user = user;
    r.error_message = std::nullopt;
    for (auto& c : creds) {
      auto& i = r.credential_infos.emplace_back();
      i.mechanism = static_cast<int8_t>(c.mechanism);
      i.iterations = c.iterations;
    }
  };
  if (!req.users || req.users->empty()) {
    for (auto& [user, creds] : all) describe(user, creds);
    co_return reply;
  }
  std::multiset<std::string> asked;
  for (auto& u : *req.users) asked.insert(u.name);
  std::set<std::string> done;
  for (auto& u : *req.users) {
    if (!done.insert(u.name).second) continue;
    if (asked.count(u.name) > 1) {
      auto& r = reply.body.results.emplace_back();
      r.user = u.name;
      r.error_code = static_cast<int16_t>(net::error_code::duplicate_resource);
      r.error_message =
          "Cannot describe SCRAM credentials for the same user twice in a single "
          "request";
      continue;
    }
    auto it = all.find(u.name);
    if (it == all.end()) {
      auto& r = reply.body.results.emplace_back();
      r.user = u.name;
      r.error_code = static_cast<int16_t>(net::error_code::resource_not_found);
      r.error_message = "Attempt to describe a user credential that does not exist";
      continue;
    }
    describe(it->first, it->second);
  }
  co_return reply;
}

}  // namespace eb::bridge

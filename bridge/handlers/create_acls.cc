#include "bridge/handlers/create_acls.h"

#include "bridge/async_storage.h"
#include "bridge/errors.h"
#include "bridge/handlers/authz.h"
#include "bridge/security/authorizer.h"

namespace eb::bridge {

// Needs Alter on the cluster. The valid bindings are written in one storage write, then the
// authorizer reloads them: they apply to the next request.
awaitable<handler_result<net::msg::create_acls_response>> create_acls_handler::handle(
    request_ctx& ctx, net::msg::create_acls_request req) {
  handler_result<net::msg::create_acls_response> reply;
  auto set_all = [&](net::error_code code, const char* message) {
    for (size_t i = 0; i < req.creations.size(); ++i) {
      auto& r = reply.body.results.emplace_back();
      r.error_code = static_cast<int16_t>(code);
      r.error_message = message;
    }
  };
  if (!ctx.svc.authz) {
    set_all(net::error_code::security_disabled, "No Authorizer is configured.");
    co_return reply;
  }
  if (!authorize_cluster(ctx, security::acl_operation::alter)) {
    set_all(net::error_code::cluster_authorization_failed, "Cluster authorization failed.");
    co_return reply;
  }
  std::vector<storage::record_change> changes;
  std::vector<size_t> written;
  for (auto& c : req.creations) {
    security::acl_binding b{.resource = static_cast<security::resource_type>(c.resource_type),
                            .name = c.resource_name,
                            .pattern = static_cast<security::pattern_type>(c.resource_pattern_type),
                            .principal = c.principal,
                            .host = c.host,
                            .operation = static_cast<security::acl_operation>(c.operation),
                            .permission = static_cast<security::acl_permission>(c.permission_type)};
    auto& r = reply.body.results.emplace_back();
    if (!security::valid(b)) {
      r.error_code = static_cast<int16_t>(net::error_code::invalid_request);
      r.error_message =
          "Invalid ACL creation: a concrete resource type, pattern (LITERAL or "
          "PREFIXED), operation and permission, a principal Type:name and a host";
      continue;
    }
    r.error_message = std::nullopt;
    changes.push_back({security::encode(b), std::string()});
    written.push_back(reply.body.results.size() - 1);
  }
  if (!changes.empty()) {
    auto stored = co_await async_update_records(ctx.svc.store, security::authorizer::record_kind,
                                                std::move(changes));
    if (!stored) {
      for (auto i : written) {
        reply.body.results[i].error_code = static_cast<int16_t>(to_kafka(stored.error()));
        reply.body.results[i].error_message = stored.error().message();
      }
    }
    ctx.svc.authz->reload();
  }
  co_return reply;
}

}  // namespace eb::bridge

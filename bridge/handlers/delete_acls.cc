#include "bridge/handlers/delete_acls.h"

#include <set>

#include "bridge/async_storage.h"
#include "bridge/errors.h"
#include "bridge/handlers/acl_wire.h"
#include "bridge/handlers/authz.h"
#include "bridge/security/authorizer.h"

namespace eb::bridge {

// Needs Alter on the cluster. Every binding any filter matches is deleted in one storage write.
awaitable<handler_result<net::msg::delete_acls_response>> delete_acls_handler::handle(
    request_ctx& ctx, net::msg::delete_acls_request req) {
  handler_result<net::msg::delete_acls_response> reply;
  auto set_all = [&](net::error_code code, const char* message) {
    for (size_t i = 0; i < req.filters.size(); ++i) {
      auto& r = reply.body.filter_results.emplace_back();
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
  std::set<std::string> keys;
  for (auto& f : req.filters) {
    auto& r = reply.body.filter_results.emplace_back();
    r.error_message = std::nullopt;
    auto filter =
        acl_filter_of(f.resource_type_filter, f.resource_name_filter, f.pattern_type_filter,
                      f.principal_filter, f.host_filter, f.operation, f.permission_type);
    if (!usable(filter)) {
      r.error_code = static_cast<int16_t>(net::error_code::invalid_request);
      r.error_message = "The filter has an UNKNOWN field.";
      continue;
    }
    for (auto& b : ctx.svc.authz->find(filter)) {
      keys.insert(security::encode(b));
      auto& m = r.matching_acls.emplace_back();
      m.error_message = std::nullopt;
      m.resource_type = static_cast<int8_t>(b.resource);
      m.resource_name = b.name;
      m.pattern_type = static_cast<int8_t>(b.pattern);
      m.principal = b.principal;
      m.host = b.host;
      m.operation = static_cast<int8_t>(b.operation);
      m.permission_type = static_cast<int8_t>(b.permission);
    }
  }
  if (!keys.empty()) {
    std::vector<storage::record_change> changes;
    for (auto& k : keys) changes.push_back({k, std::nullopt});
    auto stored = co_await async_update_records(ctx.svc.store, security::authorizer::record_kind,
                                                std::move(changes));
    if (!stored) {
      for (auto& r : reply.body.filter_results) {
        if (r.matching_acls.empty()) continue;
        r.error_code = static_cast<int16_t>(to_kafka(stored.error()));
        r.error_message = stored.error().message();
        r.matching_acls.clear();
      }
    }
    ctx.svc.authz->reload();
  }
  co_return reply;
}

}  // namespace eb::bridge

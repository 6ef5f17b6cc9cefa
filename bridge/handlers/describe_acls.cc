#include "bridge/handlers/describe_acls.h"

#include <map>
#include <tuple>

#include "bridge/handlers/acl_wire.h"
#include "bridge/handlers/authz.h"
#include "bridge/security/authorizer.h"

namespace eb::bridge {

// Needs Describe on the cluster.
awaitable<handler_result<net::msg::describe_acls_response>> describe_acls_handler::handle(
    request_ctx& ctx, net::msg::describe_acls_request req) {
  handler_result<net::msg::describe_acls_response> reply;
  auto fail = [&](net::error_code code, const char* message) {
    reply.body.error_code = static_cast<int16_t>(code);
    reply.body.error_message = message;
  };
  if (!ctx.svc.authz) {
    fail(net::error_code::security_disabled, "No Authorizer is configured.");
    co_return reply;
  }
  if (!authorize_cluster(ctx, security::acl_operation::describe)) {
    fail(net::error_code::cluster_authorization_failed, "Cluster authorization failed.");
    co_return reply;
  }
  auto filter =
      acl_filter_of(req.resource_type_filter, req.resource_name_filter, req.pattern_type_filter,
                    req.principal_filter, req.host_filter, req.operation, req.permission_type);
  if (!usable(filter)) {
    fail(net::error_code::invalid_request, "The filter has an UNKNOWN field.");
    co_return reply;
  }
  reply.body.error_message = std::nullopt;
  std::map<std::tuple<int8_t, std::string, int8_t>, size_t> by_resource;
  for (auto& b : ctx.svc.authz->find(filter)) {
    auto key =
        std::make_tuple(static_cast<int8_t>(b.resource), b.name, static_cast<int8_t>(b.pattern));
    auto [it, added] = by_resource.try_emplace(key, reply.body.resources.size());
    if (added) {
      auto& r = reply.body.resources.emplace_back();
      r.resource_type = std::get<0>(key);
      r.resource_name = b.name;
      r.pattern_type = std::get<2>(key);
    }
    auto& a = reply.body.resources[it->second].acls.emplace_back();
    a.principal = b.principal;
    a.host = b.host;
    a.operation = static_cast<int8_t>(b.operation);
    a.permission_type = static_cast<int8_t>(b.permission);
  }
  co_return reply;
}

}  // namespace eb::bridge

#include "bridge/handlers/authz.h"

#include <spdlog/spdlog.h>

#include "bridge/security/authorizer.h"
#include "common/rate_limited.h"

namespace eb::bridge {
namespace {

std::string_view name_of(security::acl_operation op) {
  using security::acl_operation;
  switch (op) {
    case acl_operation::read:
      return "Read";
    case acl_operation::write:
      return "Write";
    case acl_operation::create:
      return "Create";
    case acl_operation::remove:
      return "Delete";
    case acl_operation::alter:
      return "Alter";
    case acl_operation::describe:
      return "Describe";
    case acl_operation::idempotent_write:
      return "IdempotentWrite";
    case acl_operation::all:
      return "All";
    default:
      return "other";
  }
}

std::string_view name_of(security::resource_type t) {
  switch (t) {
    case security::resource_type::topic:
      return "topic";
    case security::resource_type::group:
      return "group";
    case security::resource_type::cluster:
      return "cluster";
    default:
      return "resource";
  }
}

}  // namespace

bool authorize(const request_ctx& ctx, security::acl_operation op, security::resource_type type,
               std::string_view name, bool quiet) {
  if (!ctx.svc.authz || !ctx.svc.authz->enabled()) return true;
  if (ctx.svc.authz->allowed(ctx.principal(), ctx.host, op, type, name)) return true;
  if (!quiet) {
    static rate_limited limit(std::chrono::seconds(10));
    if (auto n = limit.admit()) {
      spdlog::warn("{}: {} denied {} on {} {} ({} denials like it suppressed)", ctx.peer,
                   ctx.principal(), name_of(op), name_of(type), name, *n);
    }
  }
  return false;
}

bool authorize_idempotent(const request_ctx& ctx) {
  if (!ctx.svc.authz || !ctx.svc.authz->enabled()) return true;
  if (authorize_cluster(ctx, security::acl_operation::idempotent_write, true)) return true;
  if (ctx.svc.authz->allowed_on_some(ctx.principal(), ctx.host, security::acl_operation::write,
                                     security::resource_type::topic)) {
    return true;
  }
  return authorize_cluster(ctx, security::acl_operation::idempotent_write);
}

bool authorize_create(const request_ctx& ctx, std::string_view topic) {
  return authorize_cluster(ctx, security::acl_operation::create, true) ||
         authorize(ctx, security::acl_operation::create, security::resource_type::topic, topic);
}

}  // namespace eb::bridge

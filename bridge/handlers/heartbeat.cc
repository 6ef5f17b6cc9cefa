#include "bridge/handlers/heartbeat.h"

#include "bridge/errors.h"
#include "bridge/groups/coordinator.h"
#include "bridge/handlers/authz.h"

namespace eb::bridge {

awaitable<handler_result<net::msg::heartbeat_response>> heartbeat_handler::handle(
    request_ctx& ctx, net::msg::heartbeat_request req) {
  handler_result<net::msg::heartbeat_response> result;
  if (!authorize(ctx, security::acl_operation::read, security::resource_type::group,
                 req.group_id)) {
    result.body.error_code = static_cast<int16_t>(net::error_code::group_authorization_failed);
    co_return result;
  }
  if (!ctx.svc.groups) {
    result.body.error_code = static_cast<int16_t>(net::error_code::coordinator_not_available);
    co_return result;
  }
  auto e = co_await ctx.svc.groups->heartbeat(std::move(req.group_id), req.generation_id,
                                              std::move(req.member_id));
  result.body.error_code = static_cast<int16_t>(to_kafka(e));
  co_return result;
}

}  // namespace eb::bridge

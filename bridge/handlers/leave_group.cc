#include "bridge/handlers/leave_group.h"

#include "bridge/errors.h"
#include "bridge/groups/coordinator.h"
#include "bridge/handlers/authz.h"

namespace eb::bridge {

awaitable<handler_result<net::msg::leave_group_response>> leave_group_handler::handle(
    request_ctx& ctx, net::msg::leave_group_request req) {
  handler_result<net::msg::leave_group_response> result;
  auto& resp = result.body;
  if (!authorize(ctx, security::acl_operation::read, security::resource_type::group,
                 req.group_id)) {
    resp.error_code = static_cast<int16_t>(net::error_code::group_authorization_failed);
    co_return result;
  }
  if (!ctx.svc.groups) {
    resp.error_code = static_cast<int16_t>(net::error_code::coordinator_not_available);
    co_return result;
  }
  const bool batch = ctx.version() >= 3;
  std::vector<groups::member_identity> who;
  if (batch) {
    for (auto& m : req.members) who.push_back({m.member_id, m.group_instance_id});
  } else {
    who.push_back({req.member_id, std::nullopt});
  }
  auto errors = co_await ctx.svc.groups->leave(std::move(req.group_id), who);
  if (!batch) {
    resp.error_code = static_cast<int16_t>(to_kafka(errors.at(0)));
    co_return result;
  }
  for (size_t i = 0; i < who.size(); ++i) {
    auto& out = resp.members.emplace_back();
    out.member_id = who[i].member_id;
    out.group_instance_id = who[i].group_instance_id;
    out.error_code = static_cast<int16_t>(to_kafka(errors.at(i)));
  }
  co_return result;
}

}  // namespace eb::bridge

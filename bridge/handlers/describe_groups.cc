#include "bridge/handlers/describe_groups.h"

#include "bridge/async_storage.h"
#include "bridge/groups/coordinator.h"

namespace eb::bridge {

awaitable<handler_result<net::msg::describe_groups_response>> describe_groups_handler::handle(
    request_ctx& ctx, net::msg::describe_groups_request req) {
  handler_result<net::msg::describe_groups_response> reply;
  for (auto& id : req.groups) {
    auto& out = reply.body.groups.emplace_back();
    out.group_id = id;
    if (!ctx.svc.groups) {
      out.error_code = static_cast<int16_t>(net::error_code::coordinator_not_available);
      continue;
    }
    if (auto kip848 = co_await ctx.svc.groups->consumer_describe(id); kip848) {
      // A consumer-protocol group (KIP-848) is not a classic group: Kafka answers Dead at these
      // versions (the admin client asks ConsumerGroupDescribe first).
      out.group_state = "Dead";
      continue;
    }
    auto view = co_await ctx.svc.groups->describe(id);
    if (view.state == groups::group_state::dead) {
      // Not in memory: Empty when it has committed offsets (a consumer group at rest), else
      // Dead, which is Kafka's answer for an unknown group at these versions.
      auto offsets = co_await async_read(
          ctx.svc.readers, [&store = ctx.svc.store, &id] { return store.group_offsets(id); });
      out.group_state = offsets.empty() ? "Dead" : "Empty";
      out.protocol_type = offsets.empty() ? "" : "consumer";
      continue;
    }
    out.group_state = groups::to_string(view.state);
    out.protocol_type = view.protocol_type;
    out.protocol_data = view.protocol;
    for (auto& m : view.member_details) {
      auto& member = out.members.emplace_back();
      member.member_id = m.member_id;
      member.group_instance_id = m.group_instance_id;
      member.client_id = m.client_id;
      member.client_host = m.client_host;
      member.member_metadata = m.metadata;
      member.member_assignment = m.assignment;
    }
  }
  co_return reply;
}

}  // namespace eb::bridge

#include "bridge/handlers/consumer_group_describe.h"

#include "bridge/errors.h"
#include "bridge/groups/coordinator.h"
#include "bridge/handlers/authz.h"
#include "bridge/handlers/topic_ids.h"

namespace eb::bridge {
namespace {

using described_group = net::msg::consumer_group_describe_response::described_group;
using wire_assignment = net::msg::consumer_group_describe_response::assignment;

wire_assignment to_wire(const groups::assignment& a,
                        const std::map<groups::topic_uuid, std::string>& names) {
  wire_assignment out;
  for (auto& [id, ps] : a) {
    auto& tp = out.topic_partitions.emplace_back();
    tp.topic_id = id;
    if (auto n = names.find(id); n != names.end()) tp.topic_name = n->second;
    tp.partitions.assign(ps.begin(), ps.end());
  }
  return out;
}

}  // namespace

awaitable<handler_result<net::msg::consumer_group_describe_response>>
consumer_group_describe_handler::handle(request_ctx& ctx,
                                        net::msg::consumer_group_describe_request req) {
  handler_result<net::msg::consumer_group_describe_response> result;
  std::map<groups::topic_uuid, std::string> names;
  for (auto& t : ctx.svc.topics.all()) names[t.uuid] = t.name;
  for (auto& id : req.group_ids) {
    auto& out = result.body.groups.emplace_back();
    out.group_id = id;
    if (!authorize(ctx, security::acl_operation::describe, security::resource_type::group, id)) {
      out.error_code = static_cast<int16_t>(net::error_code::group_authorization_failed);
      continue;
    }
    if (!ctx.svc.groups) {
      out.error_code = static_cast<int16_t>(net::error_code::coordinator_not_available);
      continue;
    }
    auto view = co_await ctx.svc.groups->consumer_describe(id);
    if (!view) {
      // Kafka's answer for an unknown group or a classic one; the admin client then asks
      // DescribeGroups.
      out.error_code = static_cast<int16_t>(net::error_code::group_id_not_found);
      out.error_message = "Group " + id + " not found.";
      out.group_state = "Dead";
      continue;
    }
    out.group_state = view->state;
    out.group_epoch = view->group_epoch;
    out.assignment_epoch = view->assignment_epoch;
    out.assignor_name = view->assignor;
    for (auto& m : view->members) {
      auto& w = out.members.emplace_back();
      w.member_id = m.member_id;
      w.instance_id = m.instance_id;
      w.rack_id = m.rack_id;
      w.member_epoch = m.member_epoch;
      w.client_id = m.client_id;
      w.client_host = m.client_host;
      w.subscribed_topic_names = m.topic_names;
      w.subscribed_topic_regex = m.topic_regex;
      w.assignment = to_wire(m.assigned, names);
      w.target_assignment = to_wire(m.target, names);
      w.member_type = 1;  // a consumer-protocol member (KIP-1099; 0 is classic)
    }
  }
  co_return result;
}

}  // namespace eb::bridge

// OffsetForLeaderEpoch: edgebridge never changes leader, so there is one epoch, 0, whose end is
// the high watermark. Clients validating a position (KIP-320) after a metadata refresh ask with
// their last seen epoch: 0, or -1 when they have none; both get (0, high watermark), so a
// position at or below it never looks truncated. A larger epoch was never ours: undefined.
#include "bridge/handlers/offset_for_leader_epoch.h"

#include "bridge/errors.h"
#include "bridge/handlers/authz.h"

namespace eb::bridge {

awaitable<handler_result<net::msg::offset_for_leader_epoch_response>>
offset_for_leader_epoch_handler::handle(request_ctx& ctx,
                                        net::msg::offset_for_leader_epoch_request req) {
  handler_result<net::msg::offset_for_leader_epoch_response> result;
  auto& resp = result.body;
  resp.topics.reserve(req.topics.size());
  for (auto& t : req.topics) {
    auto& tr = resp.topics.emplace_back();
    tr.topic = t.topic;
    auto info = ctx.svc.topics.find(t.topic);
    const bool authorized =
        authorize(ctx, security::acl_operation::describe, security::resource_type::topic, t.topic);
    for (auto& p : t.partitions) {
      auto& out = tr.partitions.emplace_back();
      out.partition = p.partition;
      out.leader_epoch = -1;
      out.end_offset = -1;
      if (!authorized) {
        out.error_code = static_cast<int16_t>(net::error_code::topic_authorization_failed);
        continue;
      }
      if (!info || p.partition < 0 || p.partition >= info->config.partitions) {
        out.error_code = static_cast<int16_t>(net::error_code::unknown_topic_or_partition);
        continue;
      }
      // v2+: the client's view of the current epoch; newer than ours means it knows a leader we
      // are not (Kafka's check).
      if (p.current_leader_epoch > 0) {
        out.error_code = static_cast<int16_t>(net::error_code::unknown_leader_epoch);
        continue;
      }
      if (p.leader_epoch > 0) continue;
      auto offsets = ctx.svc.store.offsets(t.topic, p.partition);
      if (!offsets) {
        out.error_code = static_cast<int16_t>(to_kafka(offsets.error()));
        continue;
      }
      out.leader_epoch = 0;
      out.end_offset = offsets->high_watermark;
    }
  }
  co_return result;
}

}  // namespace eb::bridge

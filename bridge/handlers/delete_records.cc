#include "bridge/handlers/delete_records.h"

#include "bridge/async_storage.h"
#include "bridge/errors.h"

namespace eb::bridge {

awaitable<handler_result<net::msg::delete_records_response>> delete_records_handler::handle(
    request_ctx& ctx, net::msg::delete_records_request req) {
  handler_result<net::msg::delete_records_response> reply;
  for (auto& t : req.topics) {
    auto& tr = reply.body.topics.emplace_back();
    tr.name = t.name;
    auto info = ctx.svc.topics.find(t.name);
    for (auto& p : t.partitions) {
      auto& out = tr.partitions.emplace_back();
      out.partition_index = p.partition_index;
      out.low_watermark = -1;
      if (!info || p.partition_index < 0 || p.partition_index >= info->config.partitions) {
        out.error_code = static_cast<int16_t>(net::error_code::unknown_topic_or_partition);
        continue;
      }
      int64_t offset = p.offset;
      if (offset == -1) {  // Kafka: -1 means the high watermark
        auto offs = ctx.svc.store.offsets(t.name, p.partition_index);
        if (offs) offset = offs->high_watermark;
      }
      auto start = co_await async_delete_records(ctx.svc.store, t.name, p.partition_index, offset);
      if (!start) {
        out.error_code = static_cast<int16_t>(to_kafka(start.error()));
        continue;
      }
      out.low_watermark = *start;
    }
  }
  co_return reply;
}

}  // namespace eb::bridge

// ListOffsets: -2 is the log start, -1 the high watermark, a timestamp finds the first record at
// or after it (storage finds the batch, we decode it for the exact record, like Kafka). -3 (max
// timestamp, v7+) is the first record carrying the partition's largest timestamp: storage keeps
// each segment's largest, and the lookup by that timestamp finds the record.
#include "bridge/handlers/list_offsets.h"

#include "bridge/async_storage.h"
#include "bridge/errors.h"
#include "bridge/handlers/authz.h"
#include "net/record_batch.h"

namespace eb::bridge {
namespace {

using partition_response =
    net::msg::list_offsets_response::list_offsets_topic_response::list_offsets_partition_response;

constexpr int64_t latest = -1;
constexpr int64_t earliest = -2;
constexpr int64_t max_timestamp = -3;

void set_error(partition_response& out, net::error_code code) {
  out.error_code = static_cast<int16_t>(code);
  out.offset = -1;
  out.timestamp = -1;
  out.leader_epoch = -1;
}

// The first record at or after `timestamp`, as (offset, its timestamp); (-1, -1) when none.
result<std::pair<int64_t, int64_t>> by_timestamp(storage::log_store& store,
                                                 const std::string& topic, int32_t partition,
                                                 int64_t timestamp, int64_t high_watermark) {
  auto found = store.offset_for_timestamp(topic, partition, timestamp);
  if (!found) return found.error();
  if (*found >= high_watermark) return std::pair<int64_t, int64_t>{-1, -1};
  // One batch is enough: it is the first whose max timestamp reaches the target.
  auto batches = store.read(topic, partition, *found, 1);
  if (!batches) return batches.error();
  if (batches->empty()) return std::pair<int64_t, int64_t>{-1, -1};
  auto& b = batches->front();
  auto bytes =
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(b.bytes.data()), b.bytes.size());
  // Compacted topics hold batches with records removed: read those too.
  auto decoded = net::decode_compacted_batch(bytes);
  if (!decoded) {
    // A batch we stored but cannot decode (it was validated on produce): answer at batch
    // granularity rather than fail the client.
    return std::pair<int64_t, int64_t>{std::max(b.base_offset, *found), b.max_timestamp};
  }
  for (auto& r : decoded->records) {
    const int64_t offset = decoded->offset_of(r);
    const int64_t ts = decoded->timestamp_of(r);
    if (offset >= *found && ts >= timestamp) return std::pair<int64_t, int64_t>{offset, ts};
  }
  return std::pair<int64_t, int64_t>{std::max(b.base_offset, *found), b.max_timestamp};
}

}  // namespace

awaitable<handler_result<net::msg::list_offsets_response>> list_offsets_handler::handle(
    request_ctx& ctx, net::msg::list_offsets_request req) {
  handler_result<net::msg::list_offsets_response> result;
  auto& resp = result.body;
  resp.topics.reserve(req.topics.size());
  for (auto& t : req.topics) {
    auto& tr = resp.topics.emplace_back();
    tr.name = t.name;
    auto info = ctx.svc.topics.find(t.name);
    const bool authorized =
        authorize(ctx, security::acl_operation::describe, security::resource_type::topic, t.name);
    for (auto& p : t.partitions) {
      auto& out = tr.partitions.emplace_back();
      out.partition_index = p.partition_index;
      if (!authorized) {
        set_error(out, net::error_code::topic_authorization_failed);
        continue;
      }
      if (!info || p.partition_index < 0 || p.partition_index >= info->config.partitions) {
        set_error(out, net::error_code::unknown_topic_or_partition);
        continue;
      }
      auto offsets = ctx.svc.store.offsets(t.name, p.partition_index);
      if (!offsets) {
        set_error(out, to_kafka(offsets.error()));
        continue;
      }
      // A single leader epoch, 0, as Metadata reports.
      out.leader_epoch = 0;
      out.timestamp = -1;
      if (p.timestamp == earliest) {
        out.offset = offsets->log_start;
      } else if (p.timestamp == latest) {
        out.offset = offsets->high_watermark;
      } else if (p.timestamp == max_timestamp && ctx.version() < 7) {
        set_error(out, net::error_code::unsupported_version);
      } else if (p.timestamp < 0 && p.timestamp != max_timestamp) {
        set_error(out, net::error_code::invalid_request);
      } else {
        // Reads and decodes a stored batch: on the reader pool, never this io thread.
        auto found = co_await async_read(ctx.svc.readers, [&] {
          int64_t ts = p.timestamp;
          if (ts == max_timestamp) {
            auto max = ctx.svc.store.max_timestamp(t.name, p.partition_index);
            if (!max) return eb::result<std::pair<int64_t, int64_t>>(max.error());
            if (*max < 0) {
              return eb::result<std::pair<int64_t, int64_t>>(std::pair<int64_t, int64_t>{-1, -1});
            }
            ts = *max;
          }
          return by_timestamp(ctx.svc.store, t.name, p.partition_index, ts,
                              offsets->high_watermark);
        });
        if (!found) {
          set_error(out, to_kafka(found.error()));
          continue;
        }
        out.offset = found->first;
        out.timestamp = found->second;
        if (found->first < 0) out.leader_epoch = -1;
      }
    }
  }
  co_return result;
}

}  // namespace eb::bridge

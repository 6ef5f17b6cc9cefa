// Produce: validate each partition's batch, hand the valid ones to storage in one group, answer
// with the assigned offsets. acks=0 gets no response; acks=1 and acks=all both answer once the
// group is committed under the fsync policy (storage's only notion of "written").
#include "bridge/handlers/produce.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/use_awaitable.hpp>

#include "bridge/async_storage.h"
#include "bridge/errors.h"
#include "bridge/handlers/authz.h"
#include "bridge/status/traffic.h"
#include "common/rate_limited.h"
#include "net/record_batch.h"

namespace eb::bridge {
namespace {

using partition_response =
    net::msg::produce_response::topic_produce_response::partition_produce_response;

// Where one partition's answer comes from: an error found while validating, or an append.
struct pending_partition {
  partition_response* out;
  std::optional<size_t> append_index;
  // What a stored append adds to its topic's counters.
  topic_traffic* counters = nullptr;
  const std::string* topic = nullptr;  // in the request, which outlives this
  int32_t records = 0;
  uint64_t bytes = 0;
};

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Counts a partition answered with an error: its records are not stored.
void count_refusal(request_ctx& ctx, const std::string& topic, int32_t partition,
                   topic_traffic* counters, std::string reason) {
  if (!ctx.svc.traffic) return;
  if (counters) counters->produce_refused.fetch_add(1, std::memory_order_relaxed);
  ctx.svc.traffic->refused({.time_ms = now_ms(),
                            .topic = topic,
                            .partition = partition,
                            .peer = ctx.peer,
                            .reason = std::move(reason)});
}

partition_response error_response(int32_t index, net::error_code code, std::string message) {
  partition_response p;
  p.index = index;
  p.error_code = static_cast<int16_t>(code);
  p.base_offset = -1;
  p.log_append_time_ms = -1;
  p.log_start_offset = -1;
  if (!message.empty()) p.error_message = std::move(message);
  return p;
}

// How far produce inflates a compressed batch to check its records: never what the batch
// announces, but a multiple of the largest request, capped at what the mirror and the other
// decoders of stored batches inflate (net::default_max_decompressed), so that everything accepted
// can be decoded there.
// Checks one partition's records and turns them into an append. Kafka (v3+, magic 2) takes
// exactly one batch per partition; anything else is a client bug we answer, not store.
result<storage::append_request> to_append(const std::string& topic, int32_t partition,
                                          std::optional<std::string>&& records,
                                          size_t max_decompressed, size_t max_message_bytes,
                                          std::string& why) {
  if (!records || records->empty()) {
    why = "empty records";
    return net::errc::truncated;
  }
  auto bytes =
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(records->data()), records->size());
  auto batches = net::split_batches(bytes);
  if (!batches) {
    why = "malformed record batch framing";
    return batches.error();
  }
  if (batches->size() != 1) {
    why = "expected exactly one record batch per partition";
    return net::errc::invalid_value;
  }
  auto header = net::validate_produce_batch(batches->front(), max_decompressed);
  if (!header) {
    why = header.error().message();
    return header.error();
  }
  // Kafka's max.message.bytes, refused here rather than by the cloud later: a Java producer
  // splits the batch and retries, the others report the record as too large.
  if (header->total_size() > max_message_bytes) {
    why = "a batch of " + std::to_string(header->total_size()) + " bytes is above " +
          "topics.max_message_bytes (" + std::to_string(max_message_bytes) + ")";
    return topic_errc::message_too_large;
  }
  if (header->is_transactional() || header->is_control()) {
    why = "transactional and control batches are not supported";
    return net::errc::invalid_value;
  }
  storage::append_request a;
  a.topic = topic;
  a.partition = partition;
  a.record_count = header->last_offset_delta + 1;
  a.max_timestamp = header->max_timestamp;
  a.producer = {header->producer_id, header->producer_epoch, header->base_sequence};
  // The one batch is the whole field: move it instead of copying.
  a.batch = std::move(*records);
  return a;
}

}  // namespace

awaitable<handler_result<net::msg::produce_response>> produce_handler::handle(
    request_ctx& ctx, net::msg::produce_request req) {
  handler_result<net::msg::produce_response> reply;
  auto& resp = reply.body;
  reply.send = req.acks != 0;
  const bool supported_version = ctx.version() >= 3;
  const bool valid_acks = req.acks == 0 || req.acks == 1 || req.acks == -1;

  std::vector<storage::append_request> appends;
  std::vector<pending_partition> pending;
  resp.responses.reserve(req.topic_data.size());
  for (auto& topic : req.topic_data) {
    auto& tr = resp.responses.emplace_back();
    tr.name = topic.name;
    tr.partition_responses.reserve(topic.partition_data.size());
    std::optional<result<storage::topic_info>> info;
    topic_traffic* counters = nullptr;
    // Write on the topic, and Create (cluster or topic) to auto-create it.
    const bool authorized = authorize(ctx, security::acl_operation::write,
                                      security::resource_type::topic, topic.name) &&
                            (ctx.svc.topics.find(topic.name) || authorize_create(ctx, topic.name));
    for (auto& part : topic.partition_data) {
      auto& out = tr.partition_responses.emplace_back();
      auto fail = [&](net::error_code code, std::string message) {
        count_refusal(ctx, topic.name, part.index, counters,
                      message.empty() ? std::string(net::name(code)) : message);
        out = error_response(part.index, code, std::move(message));
        pending.push_back({&out, std::nullopt});
      };
      if (!supported_version) {
        // Advertised from v0 for old librdkafka's sake (docs/PROTOCOL.md); magic 0/1 is never
        // stored.
        fail(net::error_code::unsupported_version, "produce v0-2 (magic 0/1) is not supported");
        continue;
      }
      if (!valid_acks) {
        fail(net::error_code::invalid_required_acks, "acks must be -1, 0 or 1");
        continue;
      }
      if (!authorized) {
        fail(net::error_code::topic_authorization_failed, "");
        continue;
      }
      if (!info) {
        info = co_await ctx.svc.topics.find_or_create(topic.name);
        if (*info && ctx.svc.traffic) {
          counters = &ctx.svc.traffic->topic(topic.name);
          counters->produce_requests.fetch_add(1, std::memory_order_relaxed);
        }
      }
      if (!*info) {
        fail(to_kafka(info->error()), "");
        continue;
      }
      if (part.index < 0 || part.index >= (*info)->config.partitions) {
        fail(net::error_code::unknown_topic_or_partition, "");
        continue;
      }
      std::string why;
      auto append = to_append(topic.name, part.index, std::move(part.records),
                              ctx.svc.handlers.max_decompressed_batch_bytes,
                              ctx.svc.topics.max_message_bytes((*info)->config), why);
      if (!append) {
        // A misbehaving client sends the same bad batch on every retry: once per interval.
        static rate_limited rejected_warnings(std::chrono::seconds(10));
        if (auto suppressed = rejected_warnings.admit()) {
          spdlog::warn("produce from {}: {}-{} rejected: {} ({} more suppressed)", ctx.peer,
                       topic.name, part.index, why, *suppressed);
        }
        fail(to_kafka(append.error()), why);
        continue;
      }
      out.index = part.index;
      pending.push_back({&out, appends.size(), counters, &topic.name, append->record_count,
                         append->batch.size()});
      appends.push_back(std::move(*append));
    }
  }

  std::vector<::eb::result<storage::append_ack>> acks;
  if (!appends.empty()) {
    acks = co_await async_append(ctx.svc.store, std::move(appends));
  }
  bool throttle = false;
  for (auto& p : pending) {
    if (!p.append_index) continue;
    auto& ack = acks.at(*p.append_index);
    if (!ack) {
      throttle |= ack.error() == storage::errc::disk_full;
      count_refusal(ctx, *p.topic, p.out->index, p.counters, ack.error().message());
      *p.out = error_response(p.out->index, to_kafka(ack.error()), ack.error().message());
      continue;
    }
    if (auto* c = p.counters) {
      c->produce_records.fetch_add(static_cast<uint64_t>(p.records), std::memory_order_relaxed);
      c->produce_bytes.fetch_add(p.bytes, std::memory_order_relaxed);
    }
    p.out->error_code = 0;
    p.out->base_offset = ack->base_offset;
    p.out->log_append_time_ms = -1;
    p.out->log_start_offset = ack->log_start_offset;
  }
  // A full disk clears only as the mirror confirms and retention deletes: ask clients to slow
  // down rather than retry at once.
  if (throttle) resp.throttle_time_ms = 1000;
  co_return reply;
}

}  // namespace eb::bridge

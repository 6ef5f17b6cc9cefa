// Fetch: reads whole stored batches for each partition and long-polls while fewer than min_bytes
// are available. Limits follow KIP-74: the response stops at max_bytes and each partition at its
// partition_max_bytes, except that the first batch of the first partition with data is always
// returned whole, so a batch larger than the limits cannot stall a consumer.
//
// The wait is event-driven: the handler registers with bridge/fetch/waiters.h, which storage's
// advance listener wakes, and a timer ends it at max_wait_ms. On server stop (total
// cancellation) it answers at once with what it has.
#include "bridge/handlers/fetch.h"

#include <algorithm>
#include <boost/asio/this_coro.hpp>
#include <chrono>

#include "bridge/async_storage.h"
#include "bridge/errors.h"
#include "bridge/fetch/waiters.h"
#include "bridge/handlers/authz.h"
#include "bridge/status/traffic.h"
#include "common/batch_header.h"

namespace eb::bridge {
namespace {

namespace asio = boost::asio;
using partition_data = net::msg::fetch_response::fetchable_topic_response::partition_data;

// A long poll never outlives this, whatever the client asks: it bounds how long a request holds
// its in-flight slot.
constexpr std::chrono::milliseconds max_long_poll{60'000};

struct wanted {
  const std::string* topic;
  int32_t partition;
  int64_t fetch_offset;
  int32_t max_bytes;
  partition_data* out;
  // Unknown topic or partition: answered with the error, never read.
  bool known;
};

// One pass over every partition, on the reader pool (the handler waits for it). Returns the record
// bytes gathered and whether any partition answered with an error (Kafka then answers at once).
std::pair<size_t, bool> read_all(storage::log_store& store, std::vector<wanted>& parts,
                                 int32_t total_max_bytes) {
  size_t total = 0;
  bool any_error = false;
  // KIP-74: until some partition returned data, the first batch is returned whatever its size.
  bool min_one = true;
  int64_t remaining = std::max<int32_t>(total_max_bytes, 0);
  for (auto& w : parts) {
    auto& out = *w.out;
    out.records = std::string();
    if (!w.known) {
      out.error_code = static_cast<int16_t>(net::error_code::unknown_topic_or_partition);
      out.high_watermark = out.last_stable_offset = out.log_start_offset = -1;
      any_error = true;
      continue;
    }
    auto offsets = store.offsets(*w.topic, w.partition);
    if (!offsets) {
      out.error_code = static_cast<int16_t>(to_kafka(offsets.error()));
      out.high_watermark = out.last_stable_offset = out.log_start_offset = -1;
      any_error = true;
      continue;
    }
    out.error_code = 0;
    out.high_watermark = offsets->high_watermark;
    // No transactions: everything below the high watermark is stable.
    out.last_stable_offset = offsets->high_watermark;
    out.log_start_offset = offsets->log_start;
    if (w.fetch_offset < offsets->log_start || w.fetch_offset > offsets->high_watermark) {
      out.error_code = static_cast<int16_t>(net::error_code::offset_out_of_range);
      any_error = true;
      continue;
    }
    if (w.fetch_offset == offsets->high_watermark) continue;
    const int64_t limit = std::min<int64_t>(std::max<int32_t>(w.max_bytes, 0), remaining);
    if (limit <= 0 && !min_one) continue;
    auto batches = store.read(*w.topic, w.partition, w.fetch_offset,
                              static_cast<size_t>(std::max<int64_t>(limit, 1)));
    if (!batches) {
      out.error_code = static_cast<int16_t>(to_kafka(batches.error()));
      any_error = true;
      continue;
    }
    size_t taken = 0;
    size_t count = 0;
    for (auto& b : *batches) {
      const bool fits = static_cast<int64_t>(taken + b.bytes.size()) <= limit;
      if (!fits && !(min_one && count == 0)) break;
      taken += b.bytes.size();
      ++count;
    }
    if (count == 0) continue;
    auto& rec = *out.records;
    rec.reserve(taken);
    for (size_t i = 0; i < count; ++i) rec += (*batches)[i].bytes;
    total += taken;
    remaining = std::max<int64_t>(remaining - static_cast<int64_t>(taken), 0);
    min_one = false;
  }
  return {total, any_error};
}

// Adds what the response hands out to its topics' counters: records from the batch headers.
// Topics answered only with errors are not counted: a client cannot grow the registry with names.
void count_fetched(traffic_registry& traffic, const net::msg::fetch_response& resp) {
  for (auto& t : resp.responses) {
    const bool known = std::any_of(t.partitions.begin(), t.partitions.end(),
                                   [](auto& p) { return p.error_code == 0; });
    if (!known) continue;
    auto& c = traffic.topic(t.topic);
    c.fetch_requests.fetch_add(1, std::memory_order_relaxed);
    uint64_t records = 0, bytes = 0;
    for (auto& p : t.partitions) {
      if (!p.records) continue;
      std::string_view rest = *p.records;
      bytes += rest.size();
      while (auto h = batch_v2::parse_batch_header(rest)) {
        records += static_cast<uint64_t>(h->last_offset_delta) + 1;
        const size_t size = static_cast<size_t>(h->batch_length) + 12;
        if (h->batch_length < 0 || size > rest.size()) break;
        rest.remove_prefix(size);
      }
    }
    c.fetch_records.fetch_add(records, std::memory_order_relaxed);
    c.fetch_bytes.fetch_add(bytes, std::memory_order_relaxed);
  }
}

}  // namespace

awaitable<handler_result<net::msg::fetch_response>> fetch_handler::handle(
    request_ctx& ctx, net::msg::fetch_request req) {
  // Server stop offers total cancellation: a long poll answers early instead of being cut off.
  co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
  co_await asio::this_coro::throw_if_cancelled(false);
  const auto start = std::chrono::steady_clock::now();

  handler_result<net::msg::fetch_response> result;
  auto& resp = result.body;
  // Fetch sessions (KIP-227) are declined: session id 0 keeps clients on full fetches. An
  // incremental fetch names a session we never created.
  resp.session_id = 0;
  if (req.session_id != 0) {
    resp.error_code = static_cast<int16_t>(net::error_code::fetch_session_id_not_found);
    co_return result;
  }

  std::vector<wanted> parts;
  size_t count = 0;
  for (auto& t : req.topics) count += t.partitions.size();
  parts.reserve(count);
  resp.responses.reserve(req.topics.size());
  for (auto& t : req.topics) {
    auto& tr = resp.responses.emplace_back();
    tr.topic = t.topic;
    tr.partitions.reserve(t.partitions.size());
    auto info = ctx.svc.topics.find(t.topic);
    const bool authorized =
        authorize(ctx, security::acl_operation::read, security::resource_type::topic, t.topic);
    for (auto& p : t.partitions) {
      auto& out = tr.partitions.emplace_back();
      out.partition_index = p.partition;
      out.aborted_transactions.reset();  // read_uncommitted and no transactions: null
      if (!authorized) {
        out.error_code = static_cast<int16_t>(net::error_code::topic_authorization_failed);
        out.high_watermark = out.last_stable_offset = out.log_start_offset = -1;
        out.records = std::string();
        continue;
      }
      const bool known = info && p.partition >= 0 && p.partition < info->config.partitions;
      // Kafka fetch.max.bytes: a consumer's limits never exceed the server's.
      const auto max_bytes = std::min(p.partition_max_bytes, ctx.svc.handlers.fetch_max_bytes);
      parts.push_back({&tr.topic, p.partition, p.fetch_offset, max_bytes, &out, known});
    }
  }

  const auto wait = std::clamp(std::chrono::milliseconds(req.max_wait_ms),
                               std::chrono::milliseconds::zero(), max_long_poll);
  const auto deadline = start + wait;
  std::unique_ptr<fetch_waiter> waiter;
  for (;;) {
    // RocksDB reads (a cache miss waits on the disk): on the reader pool, never this io thread.
    auto [bytes, any_error] = co_await async_read(ctx.svc.readers, [&] {
      return read_all(ctx.svc.store, parts,
                      std::min(req.max_bytes, ctx.svc.handlers.fetch_max_bytes));
    });
    if (any_error || static_cast<int64_t>(bytes) >= req.min_bytes || wait.count() == 0 ||
        parts.empty() || !ctx.svc.fetches || std::chrono::steady_clock::now() >= deadline) {
      break;
    }
    if (!waiter) {
      // Registered after a read that came up short, then read again: a record committed in
      // between is seen by that read or wakes the waiter.
      std::vector<std::pair<std::pair<std::string, int32_t>, int64_t>> watched;
      watched.reserve(parts.size());
      for (auto& w : parts) watched.push_back({{*w.topic, w.partition}, w.fetch_offset});
      waiter = ctx.svc.fetches->watch(co_await asio::this_coro::executor, watched);
      continue;
    }
    auto woke = co_await waiter->wait_until(deadline);
    if (woke == fetch_waiter::wake::advanced) continue;
    // Deadline or cancellation: nothing advanced since the last read, which stands.
    break;
  }
  if (ctx.svc.traffic) count_fetched(*ctx.svc.traffic, resp);
  co_return result;
}

}  // namespace eb::bridge

#include "bridge/mirror/scheduler.h"

namespace eb::bridge::mirror_detail {

part* scheduler::pick(std::span<const std::unique_ptr<part>> parts, steady::time_point now) {
  part* best = nullptr;
  for (auto& owned : parts) {
    part* p = owned.get();
    if (blocked(*p, now) && p->ahead.bytes > 0) release(*p);  // leave the budget to others
    if (!ready_to_produce(*p, now)) continue;
    if (!best || p->priority > best->priority ||
        (p->priority == best->priority && p->oldest_ms < best->oldest_ms)) {
      best = p;
    }
  }
  return best;
}

bool scheduler::blocked(const part& p, steady::time_point now) {
  return p.is_gaps || p.gone || !p.resolved || p.failed || !p.tgt ||
         p.tgt->state != target_state::ready || p.next >= p.hw || p.retry_at > now;
}

bool scheduler::ready_to_produce(const part& p, steady::time_point now) const {
  return !blocked(p, now) && !pipeline_full(p) &&
         (!p.ahead.empty() || _readahead_bytes == 0 ||
          _readahead_bytes + min_read_bytes <= readahead_budget);
}

// A partition's pipeline is five batches: the requests the idempotent producer may have in flight
// per partition (librdkafka as patched in scripts/librdkafka). A batch beyond them would wait and,
// once older than linger.ms, make librdkafka's broker thread busy-poll (measured before the patch,
// with one request in flight: a poll() per record, 3.8 of the 6.7 CPU seconds of a 1 GiB drain).
//
// Two more bounds apply to some partitions. Below the target's batch_budget, so that no batch
// librdkafka builds of them exceeds the cloud topic's max.message.bytes. And while a refusal the
// broker reported is narrowed down, one record per request.
bool scheduler::pipeline_full(const part& p) const {
  if (!p.inflight.empty()) {
    if (p.next <= p.careful_until) return true;
    if (p.tgt && p.tgt->batch_budget > 0 && p.waiting_wire > 0 &&
        p.inflight_wire + p.waiting_wire > p.tgt->batch_budget) {
      return true;
    }
  }
  return p.inflight_payload >= _pipeline_bytes || p.inflight.size() >= _pipeline_records;
}

size_t scheduler::read_size() const {
  size_t room = _readahead_bytes < readahead_budget ? readahead_budget - _readahead_bytes : 0;
  return std::clamp(room, min_read_bytes, read_chunk_bytes);
}

void scheduler::hold(part& p, std::vector<storage::stored_batch> chunk) {
  auto& a = p.ahead;
  a.chunk = std::move(chunk);
  for (auto& b : a.chunk) a.bytes += b.bytes.size();
  _readahead_bytes += a.bytes;
}

void scheduler::release(part& p) {
  _readahead_bytes -= p.ahead.bytes;
  p.ahead = {};
}

void scheduler::launch(part& p, const inflight_record& r) {
  p.inflight.push_back(r);
  p.inflight_payload += r.payload;
  p.inflight_wire += r.wire;
  _inflight_bytes += r.bytes;
  _inflight_records++;
}

inflight_record scheduler::settle(part& p) {
  auto r = p.inflight.front();
  p.inflight.pop_front();
  p.inflight_payload -= r.payload;
  p.inflight_wire -= r.wire;
  _inflight_bytes -= r.bytes;
  _inflight_records--;
  return r;
}

void scheduler::forget_inflight(std::span<part* const> parts) {
  for (auto* p : parts) {
    p->inflight.clear();
    p->inflight_payload = 0;
    p->inflight_wire = 0;
  }
  _inflight_bytes = 0;
  _inflight_records = 0;
}

}  // namespace eb::bridge::mirror_detail

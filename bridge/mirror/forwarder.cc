#include "bridge/mirror/forwarder.h"

#include <spdlog/spdlog.h>

#include <cstring>

namespace eb::bridge::mirror_detail {
namespace {
constexpr milliseconds produce_slice{20};
}  // namespace

// Returns after a time slice at most, so that a long drain (delivery reports keep freeing the
// in-flight budget) does not starve cursor commits, status and target checks. The partition is
// picked again after every batch and whenever its pipeline is full, so that several partitions
// have a request in flight at once and the oldest data goes first.
bool forwarder::produce_some(std::vector<std::unique_ptr<part>>& parts) {
  slice s{.end = steady::now() + produce_slice};
  while (!_uplink.resync_needed() && !_stopping) {
    if (s.progressed && steady::now() >= s.end) return true;
    part* picked = _sched.pick(parts, steady::now());
    if (!picked) return s.progressed;
    part& p = *picked;
    if (p.refused && !look_again(p)) continue;
    if (!p.ahead.batch && !load_batch(p)) continue;  // p's state changed: pick again
    switch (hand_over(p, s)) {
      case step::stop:
        return s.progressed;
      case step::pick_again:
        continue;
      case step::batch_done:
        batch_done(p);
        s.progressed = true;
    }
  }
  return s.progressed;
}

// Hands p's current batch to librdkafka from where it stopped.
forwarder::step forwarder::hand_over(part& p, slice& s) {
  auto& a = p.ahead;
  auto& b = *a.batch;
  for (; a.record_index < b.records.size(); a.record_index++) {
    const auto& r = b.records[a.record_index];
    int64_t offset = b.offset_of(r);
    if (offset < p.next) continue;  // already mirrored: the batch started before our position
    if (offset >= p.skip_first && offset <= p.skip_last) {
      p.next = offset + 1;  // skipped before a resync that resumed below it
      continue;
    }
    uint64_t payload = (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0);
    for (auto& h : r.headers) payload += h.key.size() + (h.value ? h.value->size() : 0);
    uint64_t cost =
        payload + record_overhead + header_overhead * (r.headers.size() + provenance_headers);
    uint64_t wire = wire_bytes(p, r, offset);
    if (auto limit = p.tgt->max_message_bytes;
        limit && wire + batch_overhead(*limit, _opts.compression) > uint64_t(*limit)) {
      // The cloud would refuse it, and librdkafka's idempotent producer would then stop for
      // every partition: the policy decides here instead.
      if (!refuse(p,
                  {.first_offset = offset,
                   .last_offset = offset,
                   .reason = "record at offset " + std::to_string(offset) + " (up to " +
                             std::to_string(wire) + " bytes in a batch) is larger than " +
                             "max.message.bytes " + std::to_string(*limit) + " of " + p.target_name,
                   .too_large = true})) {
        return step::pick_again;  // p waits now; the others go on in this slice
      }
      p.next = offset + 1;
      continue;
    }
    if (!_sched.admits(cost)) return step::stop;  // wait for delivery reports
    p.waiting_wire = wire;
    if (_sched.pipeline_full(p)) return step::pick_again;  // another partition may use the link
    // The cap counts what crosses the link: framing, provenance headers, after compression.
    if (_bucket.limited() && !_bucket.take(_uplink.meter().charge(wire), steady::now())) {
      return step::stop;
    }
    auto err = _uplink.send_record(p, b, r, offset);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) return step::stop;
    if (err) {
      produce_failed(p, offset, err);
      _sched.release(p);
      s.progressed = true;
      return step::stop;
    }
    _sched.launch(p, {offset, cost, payload, wire});
    p.waiting_wire = 0;
    p.next = offset + 1;
    s.progressed = true;
    if (++s.produced % 1024 == 0) {
      _uplink.serve();
      if (steady::now() >= s.end) return step::stop;
    }
  }
  return step::batch_done;
}

// The whole batch is handed over: offsets it does not hold (control records, compaction) are
// behind us too.
void forwarder::batch_done(part& p) {
  auto& a = p.ahead;
  p.next = std::max(p.next, a.batch->header.last_offset() + 1);
  if (p.inflight.empty()) p.confirmed = p.next;
  a.batch.reset();
  if (!a.stored_left()) _sched.release(p);
}

// Decodes p's next stored batch into p.ahead.batch, reading a chunk from storage when none is
// left. False when p cannot go on now; its state then says why (retry_at, error, hw, next).
bool forwarder::load_batch(part& p) {
  auto& a = p.ahead;
  if (!a.stored_left() && !read_chunk(p)) return false;
  auto& stored = a.chunk[a.batch_index++];
  // The bridge's append time, not a device clock that may say 1970 or 2099.
  p.oldest_ms = stored.append_time_ms;
  auto decoded = net::decode_batch(bytes_of(stored.bytes));
  if (!decoded) {
    // Stored before produce validated batches, or corrupted since: the policy decides, for this
    // partition only.
    refusal r{.first_offset = std::max(stored.base_offset, p.next),
              .last_offset = stored.last_offset,
              .reason = "undecodable batch at offset " + std::to_string(stored.base_offset) + " (" +
                        decoded.error().message() + ")"};
    if (refuse(p, std::move(r))) {
      p.next = std::max(p.next, stored.last_offset + 1);
      if (p.inflight.empty()) p.confirmed = p.next;
    }
    return false;
  }
  int64_t count = stored.last_offset - stored.base_offset + 1;
  if (count > 0) {
    double bpr = static_cast<double>(stored.bytes.size()) / static_cast<double>(count);
    p.bytes_per_record = p.bytes_per_record == 0 ? bpr : 0.9 * p.bytes_per_record + 0.1 * bpr;
  }
  a.batch = std::move(*decoded);
  a.record_index = 0;
  if (a.batch->header.is_control()) {
    // Transaction markers are not records: nothing to mirror.
    a.batch->records.clear();
  }
  return true;
}

bool forwarder::read_chunk(part& p) {
  _sched.release(p);
  auto r = _store.read(p.topic, p.partition, p.next, _sched.read_size());
  if (!r) {
    if (r.error() == storage::errc::offset_out_of_range) {
      // Dropped by retention/quota below our position: storage reported it as a gap.
      auto o = _store.offsets(p.topic, p.partition);
      if (o && p.next < o->log_start) {
        _log.warn("mirror: {}[{}] offsets {}..{} were dropped locally before mirroring", p.topic,
                  p.partition, p.next, o->log_start - 1);
        p.next = o->log_start;
        if (p.inflight.empty()) p.confirmed = p.next;
        return false;
      }
    }
    stop_partition(p, "storage read: " + r.error().message());
    return false;
  }
  if (r->empty()) {
    // Our view of the high watermark ran ahead of what is readable: take storage's.
    auto o = _store.offsets(p.topic, p.partition);
    if (o && o->high_watermark <= p.next) {
      p.hw = o->high_watermark;
    } else {
      p.retry_at = steady::now() + _opts.retry_backoff_min;
    }
    return false;
  }
  _sched.hold(p, std::move(*r));
  return true;
}

// p waits retry_backoff_max before it is tried again; nothing of it is skipped.
void forwarder::stop_partition(part& p, std::string error) {
  p.error = std::move(error);
  p.retry_at = steady::now() + _opts.retry_backoff_max;
  _log.error("mirror: {}[{}]: {}", p.topic, p.partition, p.error);
}

void forwarder::produce_failed(part& p, int64_t offset, rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__FATAL:
      _uplink.request_resync(_uplink.fatal_reason());
      return;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
      if (refuse(p, {.first_offset = offset,
                     .last_offset = offset,
                     .reason = "record at offset " + std::to_string(offset) +
                               " is larger than the producer's message.max.bytes (raise it in "
                               "mirror.properties and on the cloud topic)",
                     .too_large = true})) {
        p.next = offset + 1;
      }
      return;
    default:
      p.error =
          std::string("produce at offset ") + std::to_string(offset) + ": " + rd_kafka_err2str(err);
      // The cloud topic may have changed (deleted, fewer partitions): look at it again.
      if (p.tgt) _targets.recheck_soon(*p.tgt);
  }
  _log.error("mirror: {}[{}]: {}", p.topic, p.partition, p.error);
  _board.note_error(p.error);
  p.retry_at = steady::now() + _opts.retry_backoff_max;
}

bool forwarder::look_again(part& p) {
  refusal r = std::move(*p.refused);
  p.refused.reset();
  if (r.whole_batch && r.too_large && r.last_offset > r.first_offset && p.tgt) {
    // The batch was too large for a limit the mirror does not know (DescribeConfigs not
    // allowed, or the limit was lowered): cut this target's batches to half of it, and again
    // should that still be too large, rather than one record per request.
    uint64_t budget = std::max<uint64_t>(1, r.wire / 2);
    if (p.tgt->batch_budget == 0 || budget < p.tgt->batch_budget) {
      _log.warn(
          "mirror: {} refused a batch of about {} bytes as too large; its batches are cut "
          "to {} bytes",
          p.target_name, r.wire, budget);
      p.tgt->batch_budget = budget;
    }
    return true;
  }
  if (r.whole_batch) {
    // Which record of the batch? Each goes alone until past the batch.
    p.careful_until = std::max(p.careful_until, r.last_offset);
    return true;
  }
  if (r.from_broker) {
    if (p.on_refusal == refusal_policy::skip) {
      // Passed over by hand_over through the skip range, wherever the resync resumed.
      (void)refuse(p, std::move(r));
      return false;
    }
    // Sent again alone: refused again, it is paused again (exactly), or it goes.
    p.careful_until = std::max(p.careful_until, r.last_offset);
  }
  // Perhaps the cloud topic's limit was raised: the check before sending uses the new one.
  if (r.too_large && p.tgt) _targets.learn_limit(*p.tgt);
  return true;
}

bool forwarder::refuse(part& p, refusal r) {
  if (p.on_refusal == refusal_policy::skip) {
    auto error = _gaps.skip(p, r);
    if (error.empty()) {
      p.skip_first = r.first_offset;
      p.skip_last = r.last_offset;
      p.logged_refusal.clear();
      p.refusal_wait = milliseconds(0);
      return true;
    }
    r.reason += "; cannot skip it: " + error;
  }
  _sched.release(p);
  _uplink.block(p, std::move(r), true);
  return false;
}

uint64_t forwarder::wire_bytes(const part& p, const net::record& r, int64_t offset) const {
  // A record's varints at their widest: length, attributes, timestamp and offset deltas, key and
  // value lengths, header count; and per header its two lengths.
  constexpr uint64_t record_varints = 5 + 1 + 10 + 5 + 5 + 5 + 5;
  constexpr uint64_t header_varints = 10;
  uint64_t n = record_varints + (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0);
  for (auto& h : r.headers) n += header_varints + h.key.size() + (h.value ? h.value->size() : 0);
  // Counted without formatting them: this runs for every record.
  auto digits = [](int64_t v) {
    uint64_t u = static_cast<uint64_t>(v);
    uint64_t count = 1;
    if (v < 0) {
      u = 0 - u;
      count++;
    }
    for (; u >= 10; u /= 10) count++;
    return count;
  };
  n += provenance_headers * header_varints + std::strlen(h_site) + std::strlen(h_topic) +
       std::strlen(h_partition) + std::strlen(h_offset) + std::strlen(h_gen) +
       _opts.site_id.size() + p.topic.size() + digits(p.partition) + digits(offset) +
       digits(p.topic_id);
  return n;
}

std::optional<steady::time_point> forwarder::tokens_ready_at(steady::time_point now) const {
  if (_bucket.limited() && _bucket.ready_at() > now) return _bucket.ready_at();
  return std::nullopt;
}

}  // namespace eb::bridge::mirror_detail

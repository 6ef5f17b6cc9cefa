#include "bridge/mirror/forwarder.h"

#include <spdlog/spdlog.h>

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
    uint64_t payload = (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0);
    for (auto& h : r.headers) payload += h.key.size() + (h.value ? h.value->size() : 0);
    uint64_t cost =
        payload + record_overhead + header_overhead * (r.headers.size() + provenance_headers);
    if (!_sched.admits(cost)) return step::stop;           // wait for delivery reports
    if (_sched.pipeline_full(p)) return step::pick_again;  // another partition may use the link
    if (_bucket.limited() && !_bucket.take(payload, steady::now())) return step::stop;
    auto err = _uplink.send_record(p, b, r, offset);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) return step::stop;
    if (err) {
      produce_failed(p, offset, err);
      _sched.release(p);
      s.progressed = true;
      return step::stop;
    }
    _sched.launch(p, {offset, cost, payload});
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
  p.oldest_ms = first_timestamp(stored);
  auto decoded = net::decode_batch(bytes_of(stored.bytes));
  if (!decoded) {
    // Storage validated it on append, so this is corruption or a bug: stop this partition
    // (nothing is skipped) and say so.
    stop_partition(p, "stored batch at offset " + std::to_string(stored.base_offset) +
                          " does not decode: " + decoded.error().message());
    _sched.release(p);
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
      p.error = "record at offset " + std::to_string(offset) +
                " is larger than the producer's message.max.bytes; the partition waits (raise "
                "message.max.bytes in mirror.properties and on the cloud topic)";
      break;
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

std::optional<steady::time_point> forwarder::tokens_ready_at(steady::time_point now) const {
  if (_bucket.limited() && _bucket.ready_at() > now) return _bucket.ready_at();
  return std::nullopt;
}

}  // namespace eb::bridge::mirror_detail

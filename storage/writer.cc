// The writer thread: its loop, group commit and high-watermark publication (retention and the
// disk quota, which it also runs, are in retention.cc). Everything here runs on the writer thread.
#include <rocksdb/convenience.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/batch_header.h"
#include "storage/keys.h"
#include "storage/store_impl.h"

namespace eb::storage {
namespace {

using clock = std::chrono::steady_clock;

// How often a failed store retries DB::Resume() (each try flushes memtables).
constexpr auto resume_backoff = std::chrono::milliseconds(200);

template <class F>
void guarded(const char* what, F&& f) {
  // A throwing callback is a bug in the caller; it must not kill the writer thread.
  try {
    f();
  } catch (const std::exception& e) {
    spdlog::error("storage: {} threw: {}", what, e.what());
  } catch (...) {
    spdlog::error("storage: {} threw a non-exception", what);
  }
}

}  // namespace

int64_t store_impl::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count() +
         _clock_offset_ms.load(std::memory_order_relaxed);
}

clock::time_point store_impl::next_deadline() const {
  auto d = _retention_deadline;
  if (_unsynced) d = std::min(d, _sync_deadline);
  return d;
}

void store_impl::append(std::vector<append_request> requests, append_callback done) {
  const size_t n = requests.size();
  if (n == 0) {
    done({});
    return;
  }
  uint64_t bytes = 0;
  for (const auto& r : requests) bytes += keys::log_key_size + r.batch.size();
  std::error_code reject;
  {
    std::lock_guard lk(_q_mu);
    if (_stopping) {
      reject = errc::shutting_down;
    } else if (_queued_requests + n > _opts.max_pending_appends ||
               (_queued_bytes > 0 && _queued_bytes + bytes > _opts.max_pending_bytes)) {
      reject = errc::queue_full;
    } else {
      _queued_requests += n;
      _queued_bytes += bytes;
      _queue.emplace_back(pending_append{std::move(requests), std::move(done), bytes});
    }
  }
  if (reject) {
    done(std::vector<result<append_ack>>(n, reject));
    return;
  }
  _q_cv.notify_one();
}

void store_impl::writer_loop() {
  for (;;) {
    std::vector<queue_item> items;
    bool exit_now = false;
    {
      std::unique_lock lk(_q_mu);
      _q_cv.wait_until(lk, next_deadline(), [&] { return !_queue.empty() || _stopping; });
      // Take everything waiting, up to the group byte cap (always at least one item).
      uint64_t bytes = 0;
      while (!_queue.empty()) {
        auto* a = std::get_if<pending_append>(&_queue.front());
        if (a != nullptr) {
          if (!items.empty() && bytes + a->bytes > _opts.max_group_commit_bytes) break;
          bytes += a->bytes;
          _queued_requests -= a->requests.size();
          _queued_bytes -= a->bytes;
        }
        items.push_back(std::move(_queue.front()));
        _queue.pop_front();
      }
      exit_now = items.empty() && _stopping;
    }
    if (!items.empty()) {
      wait_while_held(items.size());
      process_group(items);
    }

    const auto now = clock::now();
    if (_unsynced && now >= _sync_deadline && sync_wal()) {
      advanced_list advanced;
      publish(advanced);
      notify(advanced);
    }
    if (now >= _retention_deadline) {
      run_retention();
      run_compaction();
      _retention_deadline = clock::now() + _opts.retention_check_interval;
      _retention_passes.fetch_add(1, std::memory_order_release);
    }
    if (exit_now) break;
  }
  // A clean close leaves nothing unsynced, whatever the policy (RocksDB's Close does not sync).
  if (sync_wal()) {
    advanced_list advanced;
    publish(advanced);
    notify(advanced);
  }
}

bool store_impl::writes_blocked(std::error_code& ec) {
  if (!_latched) return false;
  const auto now = clock::now();
  if (now >= _next_resume) {
    // RocksDB stops writes after a failed WAL write or flush (e.g. ENOSPC); Resume() flushes
    // the memtables to a new WAL and clears the error once space is back.
    auto st = _db->Resume();
    if (st.ok()) {
      spdlog::info("storage: writes resumed after {}", _latched.message());
      _latched = {};
      return false;
    }
    _next_resume = now + resume_backoff;
  }
  ec = _latched;
  return true;
}

void store_impl::latch_error(const rocksdb::Status& s, const char* what) {
  const auto ec = status_error(s);
  if (!_latched) spdlog::error("storage: {} failed: {}", what, s.ToString());
  if (ec == errc::disk_full || ec == errc::io_error) {
    _latched = ec;
    _next_resume = clock::now() + resume_backoff;
  }
}

void store_impl::count_sync(clock::duration took) {
  const auto us = static_cast<uint64_t>(
      std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::microseconds>(took).count()));
  size_t i = 0;
  while (i < sync_latency_bounds_us.size() && us > sync_latency_bounds_us[i]) ++i;
  _sync_counts[i].fetch_add(1, std::memory_order_relaxed);
  _sync_sum_us.fetch_add(us, std::memory_order_relaxed);
}

bool store_impl::sync_wal() {
  // After a failed write (ENOSPC) the WAL writer keeps its error until recovery switches to a new
  // WAL, and syncing it trips an assertion in RocksDB (SyncWithoutFlush after a failed Append;
  // seen under fsync interval in enospc_test). Resume first: nothing unsynced is lost by waiting,
  // as Resume() flushes the memtables.
  std::error_code blocked;
  if (writes_blocked(blocked)) {
    _sync_deadline = clock::now() + _opts.fsync_interval;
    return false;
  }
  const auto started = clock::now();
  auto st = _db->FlushWAL(true);
  count_sync(clock::now() - started);
  if (!st.ok()) {
    spdlog::error("storage: WAL sync failed: {}", st.ToString());
    _sync_deadline = clock::now() + _opts.fsync_interval;
    return false;
  }
  _unsynced = false;
  return true;
}

void store_impl::publish(advanced_list& advanced) {
  for (auto* p : _unpublished) {
    p->unpublished = false;
    if (p->next_offset <= p->high_watermark.load()) continue;
    p->high_watermark.store(p->next_offset, std::memory_order_release);
    advanced.emplace_back(p->topic->info.name, p->partition, p->next_offset);
  }
  _unpublished.clear();
  for (auto& [topic, partition] : _gone) advanced.emplace_back(std::move(topic), partition, -1);
  _gone.clear();
}

void store_impl::notify(const advanced_list& advanced) {
  if (advanced.empty()) return;
  std::lock_guard running(_notify_mu);
  std::vector<std::pair<uint64_t, std::shared_ptr<advance_listener>>> listeners;
  {
    std::lock_guard lk(_listeners_mu);
    listeners.assign(_listeners.begin(), _listeners.end());
  }
  for (const auto& [token, l] : listeners) {
    {
      // A listener may unsubscribe another (or itself) from inside a notification.
      std::lock_guard lk(_listeners_mu);
      if (!_listeners.contains(token)) continue;
    }
    for (const auto& [topic, partition, hw] : advanced) {
      guarded("advance listener", [&] { (*l)(topic, partition, hw); });
    }
  }
}

staged_result store_impl::stage_append(group_ctx& ctx, append_request& req) {
  // The writer is the only mutator of the map: no lock needed.
  topic_entry* t = live_topic(ctx, req.topic);
  if (t == nullptr) return {make_error_code(errc::unknown_topic)};
  if (req.partition < 0 || req.partition >= static_cast<int32_t>(t->partitions.size())) {
    return {make_error_code(errc::unknown_partition)};
  }
  partition_state* p = t->partitions[req.partition].get();
  const auto invalid = std::make_error_code(std::errc::invalid_argument);
  const auto header = batch_v2::parse_batch_header(req.batch);
  if (!header || req.record_count <= 0 ||
      int64_t{header->last_offset_delta} + 1 != req.record_count) {
    return {invalid};
  }
  if (req.source_key.size() > max_source_cursor_bytes ||
      req.source_value.size() > max_source_cursor_bytes ||
      (req.source_key.empty() && !req.source_value.empty())) {
    return {invalid};
  }
  const auto& prod = req.producer;
  const bool idempotent = prod.producer_id >= 0;
  if (idempotent && (prod.epoch < 0 || prod.base_sequence < 0)) return {invalid};

  // Idempotence: against the state as of the earlier batches of this group.
  producer_key pk{prod.producer_id, p->topic_id, p->partition};
  producer_entry* entry = nullptr;
  if (idempotent) {
    auto o = ctx.producers.find(pk);
    if (o == ctx.producers.end()) {
      if (auto c = _producers.find(pk); c != _producers.end()) {
        o = ctx.producers.emplace(pk, c->second).first;
      }
    }
    if (o != ctx.producers.end()) entry = &o->second;
    const auto check = check_sequence(entry, prod.epoch, prod.base_sequence, req.record_count);
    switch (check.verdict) {
      case sequence_verdict::accept:
        break;
      case sequence_verdict::duplicate: {
        // The original may be in this very group: then the answer depends on the write.
        const bool in_group = check.duplicate_offset >= p->next_offset;
        return {append_ack{check.duplicate_offset, p->log_start.load(), true}, in_group};
      }
      case sequence_verdict::out_of_order:
        return {make_error_code(errc::out_of_order_sequence)};
      case sequence_verdict::invalid_epoch:
        return {make_error_code(errc::invalid_producer_epoch)};
      case sequence_verdict::unknown_producer:
        return {make_error_code(errc::unknown_producer_id)};
    }
  }

  const uint64_t bytes = keys::log_key_size + req.batch.size();
  if (_opts.max_disk_bytes > 0 &&
      _total_bytes.load() + ctx.added_bytes + bytes > _opts.max_disk_bytes) {
    return {make_error_code(errc::disk_full)};
  }

  auto [sit, fresh] = ctx.parts.try_emplace(p);
  staged_partition& sp = sit->second;
  if (fresh) {
    sp.next_offset = p->next_offset;
    if (!p->segments.empty()) {
      sp.tail.push_back(p->segments.back());
      sp.extends_active = true;
    }
  }
  const int64_t base = sp.next_offset;
  sp.next_offset += req.record_count;
  keys::set_u64(req.batch.data(), static_cast<uint64_t>(base));  // BaseOffset; outside the CRC

  if (sp.tail.empty() || sp.tail.back().bytes >= _opts.segment_bytes ||
      ctx.now_ms - sp.tail.back().created_ms >= _opts.segment_ms.count()) {
    sp.tail.push_back(segment{base, base, 0, -1, ctx.now_ms, ctx.now_ms});
  }
  auto& seg = sp.tail.back();
  seg.end_offset = sp.next_offset;
  seg.last_append_ms = std::max(seg.last_append_ms, ctx.now_ms);
  seg.bytes += bytes;
  seg.max_timestamp = std::max(seg.max_timestamp, header->max_timestamp);
  sp.added_bytes += bytes;
  ctx.added_bytes += bytes;
  ctx.batch.Put(_log_cf, keys::log_key(p->topic_id, p->partition, base), req.batch);
  // The source cursor rides in the same WriteBatch: stored exactly when the batch is.
  if (!req.source_key.empty()) {
    ctx.batch.Put(_meta_cf, keys::source_key(req.source_key), req.source_value);
  }

  if (idempotent) {
    if (entry == nullptr) entry = &ctx.producers[pk];
    ctx.changed_producers.insert(pk);
    record_batch(
        *entry, prod.epoch,
        producer_batch{prod.base_sequence, last_sequence(prod.base_sequence, req.record_count),
                       base, base + req.record_count - 1},
        ctx.now_ms);
  }
  return {append_ack{base, p->log_start.load(), false}, true};
}

void store_impl::process_group(std::vector<queue_item>& items) {
  group_ctx ctx = begin_group();
  group_results results(items.size());
  advanced_list advanced;
  std::error_code error = admit_group(items);
  const bool staged = !error;
  if (staged) {
    stage_group(items, ctx, results);
    error = write_group(ctx, advanced);
    if (!error) count_group(items);
  }
  // The high watermarks are already published: complete every waiter, then wake the listeners.
  complete_group(items, results, staged, error);
  notify(advanced);
}

void store_impl::count_group(const std::vector<queue_item>& items) {
  uint64_t records = 0;
  bool appends = false;
  for (const auto& it : items) {
    if (const auto* a = std::get_if<pending_append>(&it)) {
      appends = true;
      for (const auto& r : a->requests) records += static_cast<uint64_t>(r.record_count);
    }
  }
  if (!appends) return;
  _group_commits.fetch_add(1, std::memory_order_relaxed);
  _group_commit_records.fetch_add(records, std::memory_order_relaxed);
}

group_ctx store_impl::begin_group() const {
  group_ctx ctx;
  ctx.now_ms = now_ms();
  ctx.next_topic_id = _next_topic_id;
  ctx.pid_next = _pid_next;
  ctx.pid_limit = _pid_limit;
  return ctx;
}

std::error_code store_impl::admit_group(const std::vector<queue_item>& items) {
  std::error_code blocked;
  if (writes_blocked(blocked)) return blocked;
  if (_opts.max_disk_bytes == 0) return {};
  uint64_t incoming = 0;
  for (const auto& it : items) {
    if (const auto* a = std::get_if<pending_append>(&it)) incoming += a->bytes;
  }
  if (_total_bytes.load() + incoming > _opts.max_disk_bytes) {
    make_room(incoming);
    if (writes_blocked(blocked)) return blocked;
  }
  return {};
}

void store_impl::stage_group(std::vector<queue_item>& items, group_ctx& ctx,
                             group_results& results) {
  for (size_t i = 0; i < items.size(); ++i) {
    if (auto* a = std::get_if<pending_append>(&items[i])) {
      results.appends[i].reserve(a->requests.size());
      for (auto& req : a->requests) results.appends[i].push_back(stage_append(ctx, req));
    } else {
      results.ops[i] = std::get<std::unique_ptr<pending_op>>(items[i])->prepare(ctx);
    }
  }
  for (const auto& k : ctx.changed_producers) {
    if (ctx.deleted_ids.contains(k.topic_id)) continue;
    ctx.batch.Put(_meta_cf, keys::producer_key(k.producer_id, k.topic_id, k.partition),
                  encode(ctx.producers.at(k)));
  }
  for (const auto& [p, sp] : ctx.parts) {
    if (ctx.deleted_ids.contains(p->topic_id)) continue;
    for (const auto& s : sp.tail) {
      ctx.batch.Put(_meta_cf, keys::segment_key(p->topic_id, p->partition, s.base_offset),
                    encode(s));
    }
  }
  // Deleted topics last: nothing put above under their ids survives the write.
  for (const auto& [name, t] : ctx.deleted_topics) stage_topic_deletion(ctx, *t);
}

std::error_code store_impl::write_group(group_ctx& ctx, advanced_list& advanced) {
  const bool write = ctx.batch.Count() > 0;
  rocksdb::WriteOptions wo;
  wo.sync = _opts.fsync == fsync_policy::always || ctx.force_sync;
  // Nothing to write (duplicates, errors, ids from a reserved block) still commits.
  const auto started = clock::now();
  const auto st = write ? _db->Write(wo, &ctx.batch) : rocksdb::Status::OK();
  if (write && wo.sync) count_sync(clock::now() - started);
  if (!st.ok()) {
    latch_error(st, "append write");
    return status_error(st);
  }
  apply_group(ctx);
  if (!write) {
    // Nothing new for readers.
  } else if (wo.sync) {
    _unsynced = false;  // this sync covered every earlier unsynced write too
    publish(advanced);
  } else if (_opts.fsync == fsync_policy::never) {
    publish(advanced);
  } else {
    // interval: acknowledged now, visible to readers after the next sync.
    if (!_unsynced) _sync_deadline = clock::now() + _opts.fsync_interval;
    _unsynced = true;
  }
  return {};
}

void store_impl::apply_group(group_ctx& ctx) {
  for (auto& [p, sp] : ctx.parts) {
    if (ctx.deleted_ids.contains(p->topic_id)) continue;  // its batches were deleted with it
    p->next_offset = sp.next_offset;
    {
      std::lock_guard lk(p->mu);
      size_t i = 0;
      if (sp.extends_active) p->segments.back() = sp.tail[i++];
      for (; i < sp.tail.size(); ++i) p->segments.push_back(sp.tail[i]);
      p->bytes += sp.added_bytes;
    }
    _total_bytes += sp.added_bytes;
    if (!p->unpublished) {
      p->unpublished = true;
      _unpublished.push_back(p);
    }
  }
  for (const auto& k : ctx.changed_producers) {
    if (!ctx.deleted_ids.contains(k.topic_id)) _producers[k] = std::move(ctx.producers.at(k));
  }
  for (auto& c : ctx.commits) c();
}

void store_impl::complete_group(std::vector<queue_item>& items, group_results& results, bool staged,
                                std::error_code write_error) {
  for (size_t i = 0; i < items.size(); ++i) {
    if (auto* a = std::get_if<pending_append>(&items[i])) {
      std::vector<result<append_ack>> out;
      out.reserve(a->requests.size());
      if (!staged) {
        out.assign(a->requests.size(), result<append_ack>(write_error));
      } else {
        for (auto& r : results.appends[i]) {
          if (write_error && r.needs_write) {
            out.emplace_back(write_error);
          } else {
            out.push_back(std::move(r.ack));
          }
        }
      }
      guarded("append callback", [&] { a->done(std::move(out)); });
    } else {
      auto& op = std::get<std::unique_ptr<pending_op>>(items[i]);
      auto ec = staged ? results.ops[i] : write_error;
      if (!ec && write_error) ec = write_error;
      guarded("write callback", [&] { op->done(ec); });
    }
  }
}

}  // namespace eb::storage

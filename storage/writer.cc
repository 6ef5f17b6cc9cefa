// The writer thread: group commit, high-watermark publication, retention and the disk quota.
// Everything here runs on the writer thread.
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
  auto t = _topics.find(req.topic);  // the writer is the only mutator: no lock needed
  if (t == _topics.end()) return {make_error_code(errc::unknown_topic)};
  if (req.partition < 0 || req.partition >= static_cast<int32_t>(t->second->partitions.size())) {
    return {make_error_code(errc::unknown_partition)};
  }
  partition_state* p = t->second->partitions[req.partition].get();
  const auto invalid = std::make_error_code(std::errc::invalid_argument);
  const auto header = batch_v2::parse_batch_header(req.batch);
  if (!header || req.record_count <= 0 ||
      int64_t{header->last_offset_delta} + 1 != req.record_count) {
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
    ctx.batch.Put(_meta_cf, keys::producer_key(k.producer_id, k.topic_id, k.partition),
                  encode(ctx.producers.at(k)));
  }
  for (const auto& [p, sp] : ctx.parts) {
    for (const auto& s : sp.tail) {
      ctx.batch.Put(_meta_cf, keys::segment_key(p->topic_id, p->partition, s.base_offset),
                    encode(s));
    }
  }
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
  for (const auto& k : ctx.changed_producers) _producers[k] = std::move(ctx.producers.at(k));
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

void store_impl::stage_deletion(rocksdb::WriteBatch& wb, const deletion& d,
                                std::vector<producer_key>& evicted) {
  const auto* p = d.p;
  wb.DeleteRange(_log_cf, keys::log_key(p->topic_id, p->partition, d.old_log_start),
                 keys::log_key(p->topic_id, p->partition, d.new_log_start));
  wb.DeleteRange(_meta_cf, keys::segment_key(p->topic_id, p->partition, d.old_log_start),
                 keys::segment_key(p->topic_id, p->partition, d.new_log_start));
  std::string v;
  keys::put_i64(v, d.new_log_start);
  wb.Put(_meta_cf, keys::tp_key(keys::meta::log_start, p->topic_id, p->partition), v);
  // A producer whose batches are all gone has no state worth keeping (as in Kafka).
  for (const auto& [k, e] : _producers) {
    if (k.topic_id == p->topic_id && k.partition == p->partition &&
        e.batches.back().last_offset < d.new_log_start) {
      evicted.push_back(k);
    }
  }
}

void store_impl::commit_deletion(const deletion& d) {
  auto* p = d.p;
  {
    std::lock_guard lk(p->mu);
    for (size_t i = 0; i < d.segments; ++i) p->segments.pop_front();
    p->bytes -= d.bytes;
  }
  p->log_start.store(d.new_log_start, std::memory_order_release);
  _total_bytes -= d.bytes;
}

std::error_code store_impl::apply_deletions(std::vector<deletion>& dels, std::vector<gap> gaps,
                                            std::vector<producer_key> evicted, const char* why) {
  if (dels.empty() && evicted.empty()) return {};
  std::error_code blocked;
  if (writes_blocked(blocked)) return blocked;
  rocksdb::WriteBatch wb;
  uint64_t dropped = 0;
  for (const auto& d : dels) {
    stage_deletion(wb, d, evicted);
    dropped += d.dropped_records;
  }
  for (const auto& g : gaps) wb.Put(_meta_cf, keys::gap_key(g.id), encode_gap(g));
  if (!gaps.empty() && _opts.unmirrored == unmirrored_retention::delete_and_record &&
      gaps.back().id > gaps_kept) {
    // No mirror ever reports these: the ledger keeps the newest gaps_kept, like reported ones.
    wb.DeleteRange(_meta_cf, keys::gap_key(0), keys::gap_key(gaps.back().id - gaps_kept + 1));
  }
  if (dropped > 0) {
    std::string v;
    keys::put_u64(v, _dropped_records.load() + dropped);
    wb.Put(_meta_cf, keys::counter_key("dropped"), v);
  }
  std::sort(evicted.begin(), evicted.end());
  evicted.erase(std::unique(evicted.begin(), evicted.end()), evicted.end());
  for (const auto& k : evicted) {
    wb.Delete(_meta_cf, keys::producer_key(k.producer_id, k.topic_id, k.partition));
  }
  // Synced whatever the policy: files are removed below, and the log start must not go back.
  rocksdb::WriteOptions wo;
  wo.sync = true;
  const auto st = _db->Write(wo, &wb);
  if (!st.ok()) {
    latch_error(st, why);
    return status_error(st);
  }
  _unsynced = false;
  // The sync above covered every earlier write: publish them first, so that a reader never sees
  // a log start above the high watermark.
  advanced_list advanced;
  publish(advanced);
  for (const auto& d : dels) commit_deletion(d);
  for (const auto& k : evicted) _producers.erase(k);
  for (const auto& g : gaps) _last_gap_id = std::max(_last_gap_id, g.id);
  _dropped_records += dropped;

  uint64_t bytes = 0;
  for (const auto& d : dels) {
    bytes += d.bytes;
    // Whole SST files inside the range go now; the rest is reclaimed by compaction.
    const auto b = keys::log_key(d.p->topic_id, d.p->partition, d.old_log_start);
    const auto e = keys::log_key(d.p->topic_id, d.p->partition, d.new_log_start);
    rocksdb::Slice bs(b), es(e);
    if (auto s = rocksdb::DeleteFilesInRange(_db.get(), _log_cf, &bs, &es, false); !s.ok()) {
      spdlog::warn("storage: DeleteFilesInRange: {}", s.ToString());
    }
  }
  if (!dels.empty()) {
    spdlog::info("storage: {} deleted {} bytes from {} partitions{}", why, bytes, dels.size(),
                 dropped > 0 ? fmt::format(", dropping {} unmirrored records", dropped) : "");
  }
  notify(advanced);
  return {};
}

std::vector<store_impl::group_commits> store_impl::protected_commits() const {
  // A prefix scan of meta per protected group: a few entries each.
  std::vector<group_commits> out;
  for (const auto& g : _opts.retention_protected_groups) out.push_back(group_offsets(g));
  return out;
}

int64_t store_impl::keep_from(const partition_state& p,
                              const std::vector<group_commits>& protected_groups) const {
  // Retention deletes only below the mirror cursor (no cursor: nothing mirrored, keep all), unless
  // no mirror is configured: then it may delete everything, and records what was unmirrored...
  int64_t keep =
      _opts.unmirrored == unmirrored_retention::hold ? p.cursor.load() : p.high_watermark.load();
  // ...and below every protected group's commit (no commit: keep all).
  for (const auto& commits : protected_groups) {
    auto it = commits.find({p.topic->info.name, p.partition});
    keep = std::min(keep, it == commits.end() ? p.log_start.load() : it->second.offset);
  }
  return keep;
}

void store_impl::run_retention() {
  const int64_t now = now_ms();
  const auto protected_groups = protected_commits();
  std::vector<deletion> dels;
  for (auto* p : _all_partitions) {
    const auto& cfg = p->topic->info.config;
    const int64_t cursor = keep_from(*p, protected_groups);
    if (cursor < 0 || (cfg.retention_ms < 0 && cfg.retention_bytes < 0)) continue;
    deletion d{p, p->log_start.load(), p->log_start.load()};
    uint64_t remaining = p->bytes;
    for (const auto& s : p->segments) {
      if (s.end_offset > cursor) break;
      // By the bridge's append time: a device clock saying 1970 or 2099 must not decide.
      const bool expired = cfg.retention_ms >= 0 && s.last_append_ms < now - cfg.retention_ms;
      // Kafka keeps at least retention.bytes: a segment goes only if the rest still reach it.
      const bool too_big = cfg.retention_bytes >= 0 &&
                           remaining - s.bytes >= static_cast<uint64_t>(cfg.retention_bytes);
      if (!expired && !too_big) break;
      d.new_log_start = s.end_offset;
      d.segments++;
      d.bytes += s.bytes;
      remaining -= s.bytes;
    }
    if (d.segments > 0) dels.push_back(d);
  }
  // Only under delete_and_record can retention reach above a cursor; whatever it takes there the
  // cloud never got, and it is recorded.
  std::vector<gap> gaps;
  uint64_t gap_id = _last_gap_id;
  for (auto& d : dels) {
    if (auto g = unmirrored_part(d, "retention (no mirror)", now)) {
      // Expected without a mirror (a local broker): recorded, not alarming.
      spdlog::info("storage: retention (no mirror): deleting {}-{} offsets [{}, {}]", g->topic,
                   g->partition, g->first_offset, g->last_offset);
      g->id = ++gap_id;
      gaps.push_back(std::move(*g));
    }
  }
  std::vector<producer_key> expired;
  for (const auto& [k, e] : _producers) {
    if (now - e.last_append_ms > _opts.producer_expiry.count()) expired.push_back(k);
  }
  // Logged; retried next time.
  (void)apply_deletions(dels, std::move(gaps), std::move(expired), "retention");
}

std::optional<gap> store_impl::unmirrored_part(deletion& d, const char* reason, int64_t now) const {
  const int64_t first = std::max<int64_t>({d.p->cursor.load(), d.old_log_start, 0});
  if (first >= d.new_log_start) return std::nullopt;
  d.dropped_records = static_cast<uint64_t>(d.new_log_start - first);
  return gap{0, d.p->topic->info.name, d.p->partition, first, d.new_log_start - 1, reason, now};
}

void store_impl::make_room(uint64_t incoming) {
  const uint64_t quota = _opts.max_disk_bytes;
  const uint64_t total = _total_bytes.load();
  // A group larger than the whole quota cannot fit: its requests fail, nothing is dropped.
  if (incoming > quota || total + incoming <= quota) return;
  const uint64_t need = total + incoming - quota;

  struct cut {
    size_t segments = 0;
    uint64_t bytes = 0;
  };
  std::map<partition_state*, cut> cuts;
  uint64_t freed = 0;
  auto next_segment = [&](partition_state* p) -> const segment* {
    const size_t taken = cuts.contains(p) ? cuts[p].segments : 0;
    return taken < p->segments.size() ? &p->segments[taken] : nullptr;
  };
  auto take = [&](partition_state* p, const segment& s) {
    auto& c = cuts[p];
    c.segments++;
    c.bytes += s.bytes;
    freed += s.bytes;
  };
  // First what retention could delete anyway (mirrored, and past the protected groups' commits):
  // no loss, oldest first, whatever the policy.
  const auto protected_groups = protected_commits();
  std::map<const partition_state*, int64_t> keep;
  for (const auto* p : _all_partitions) keep[p] = keep_from(*p, protected_groups);
  while (freed < need) {
    partition_state* best = nullptr;
    const segment* best_seg = nullptr;
    for (auto* p : _all_partitions) {
      const auto* s = next_segment(p);
      if (s == nullptr || s->end_offset > keep[p]) continue;
      if (best_seg == nullptr || s->created_ms < best_seg->created_ms) {
        best = p;
        best_seg = s;
      }
    }
    if (best == nullptr) break;
    take(best, *best_seg);
  }
  // Then, under drop_oldest, the oldest data of the lowest-priority topics.
  while (freed < need && _opts.on_quota == quota_policy::drop_oldest) {
    partition_state* best = nullptr;
    const segment* best_seg = nullptr;
    for (auto* p : _all_partitions) {
      const auto* s = next_segment(p);
      if (s == nullptr) continue;
      if (best_seg == nullptr ||
          std::pair(p->topic->info.config.priority, s->created_ms) <
              std::pair(best->topic->info.config.priority, best_seg->created_ms)) {
        best = p;
        best_seg = s;
      }
    }
    if (best == nullptr) break;
    take(best, *best_seg);
  }
  if (cuts.empty()) return;

  std::vector<deletion> dels;
  std::vector<gap> gaps;
  const int64_t now = now_ms();
  uint64_t gap_id = _last_gap_id;
  for (const auto& [p, c] : cuts) {
    deletion d{p, p->log_start.load(), p->segments[c.segments - 1].end_offset};
    d.segments = c.segments;
    d.bytes = c.bytes;
    if (auto g = unmirrored_part(d, "disk quota: dropped oldest unmirrored data", now)) {
      spdlog::warn("storage: quota: dropping {}-{} offsets [{}, {}] before they were mirrored",
                   g->topic, g->partition, g->first_offset, g->last_offset);
      g->id = ++gap_id;
      gaps.push_back(std::move(*g));
    }
    dels.push_back(d);
  }
  (void)apply_deletions(dels, std::move(gaps), {}, "quota");  // on failure the group fails too
}

}  // namespace eb::storage

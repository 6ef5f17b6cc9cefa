// Retention and the disk quota: which whole segments go, the gaps that deleting unmirrored data
// records, and one synced WriteBatch per pass. Runs on the writer thread (writer_loop calls
// run_retention every retention_check_interval, and make_room before a group over the quota).
#include <rocksdb/convenience.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "storage/keys.h"
#include "storage/store_impl.h"

namespace eb::storage {

void store_impl::stage_deletion(rocksdb::WriteBatch& wb, const deletion& d,
                                std::vector<producer_key>& evicted) {
  const auto* p = d.p;
  // DeleteRecords may have left the log start inside the first segment: its batches below the
  // start are still stored, from the segment's base.
  const int64_t from = p->segments.empty()
                           ? d.old_log_start
                           : std::min(d.old_log_start, p->segments.front().base_offset);
  wb.DeleteRange(_log_cf, keys::log_key(p->topic_id, p->partition, from),
                 keys::log_key(p->topic_id, p->partition, d.new_log_start));
  wb.DeleteRange(_meta_cf, keys::segment_key(p->topic_id, p->partition, from),
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
    if (cursor < 0 || !cfg.cleanup_delete || (cfg.retention_ms < 0 && cfg.retention_bytes < 0)) {
      continue;
    }
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

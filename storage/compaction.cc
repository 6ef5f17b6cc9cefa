// Log compaction (cleanup.policy compact, compact_delete): keep the newest record of each key.
// Runs on the writer thread after each retention pass, within options::compaction_max_pass_bytes.
//
// Per partition, the range compacted is [log start, limit): limit is the first offset retention
// must keep (the mirror cursor under `hold`: nothing the cloud has not confirmed is touched; the
// protected groups' commits) and never beyond the active (last) segment, as in Kafka. Records
// superseded by a newer record of the same key in that range go; a tombstone that is its key's
// newest goes once its segment's last append is older than delete_retention_ms. Batches keep
// their offsets (rewritten batches keep BaseOffset and LastOffsetDelta, through the codec); a
// batch with nothing left is deleted. The batches and their segments' byte counts change in one
// synced WriteBatch, so the quota's numbers stay exact.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <unordered_map>

#include "common/batch_header.h"
#include "storage/keys.h"
#include "storage/store_impl.h"

namespace eb::storage {
namespace {

struct scanned_batch {
  int64_t base = 0;
  std::string bytes;
  std::vector<compaction_record> records;
  bool listed = false;  // false: kept whole (undecodable or a control batch)
};

std::string_view view(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

}  // namespace

void store_impl::run_compaction() {
  if (!_opts.codec || _all_partitions.empty()) return;
  const int64_t now = now_ms();
  const auto protected_groups = protected_commits();
  uint64_t budget = _opts.compaction_max_pass_bytes;
  // Round robin: a pass that runs out of budget continues with the next partition next time.
  const size_t n = _all_partitions.size();
  for (size_t i = 0; i < n && budget > 0; ++i) {
    auto* p = _all_partitions[(_compact_next + i) % n];
    if (!p->topic->info.config.cleanup_compact) continue;
    compact_partition(*p, keep_from(*p, protected_groups), now, budget);
    if (budget == 0) _compact_next = (_compact_next + i + 1) % n;
  }
}

void store_impl::compact_partition(partition_state& p, int64_t limit, int64_t now,
                                   uint64_t& budget) {
  const auto started = std::chrono::steady_clock::now();
  std::vector<segment> segs;
  {
    std::lock_guard lk(p.mu);
    if (p.segments.size() < 2) return;  // only the active segment
    segs.assign(p.segments.begin(), p.segments.end() - 1);
    limit = std::min(limit, p.segments.back().base_offset);
  }
  const int64_t start = p.log_start.load();
  if (limit <= start) return;
  if (p.compacted_from == start && p.compacted_to >= limit && !p.compacted_tombstones) return;

  // Read the range (up to the budget), and find each key's newest offset in it.
  std::vector<scanned_batch> batches;
  std::unordered_map<std::string, int64_t> newest;
  const std::string end_key = keys::log_key(p.topic_id, p.partition, limit);
  rocksdb::Slice upper(end_key);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(_db->NewIterator(ro, _log_cf));
  int64_t scanned_to = start;
  bool whole_range = true;  // false: the budget stopped the scan short of `limit`
  for (it->Seek(keys::log_key(p.topic_id, p.partition, start)); it->Valid(); it->Next()) {
    const auto v = view(it->value());
    const auto h = batch_v2::parse_batch_header(v);
    if (!h || it->key().size() != keys::log_key_size) break;
    const int64_t base = keys::log_key_offset(view(it->key()));
    const int64_t last = base + h->last_offset_delta;
    if (last >= limit) break;
    if (v.size() > budget) {
      whole_range = false;
      break;
    }
    budget -= v.size();
    scanned_batch b{base, std::string(v), {}, false};
    b.listed = _opts.codec->list(b.bytes, b.records);
    if (b.listed) {
      for (const auto& r : b.records) {
        if (r.key) newest[*r.key] = r.offset;  // ascending offsets: the last one wins
      }
    }
    batches.push_back(std::move(b));
    scanned_to = last + 1;
  }
  if (!it->status().ok()) {
    spdlog::warn("storage: compaction of {}-{}: {}", p.topic->info.name, p.partition,
                 it->status().ToString());
    return;
  }
  it.reset();
  if (batches.empty()) return;

  const int64_t keep_tombstones = p.topic->info.config.delete_retention_ms;
  const int64_t tombstone_before = keep_tombstones < 0 ? INT64_MIN : now - keep_tombstones;
  auto segment_of = [&](int64_t offset) -> size_t {
    auto s = std::upper_bound(segs.begin(), segs.end(), offset,
                              [](int64_t o, const segment& x) { return o < x.base_offset; });
    return s == segs.begin() ? 0 : static_cast<size_t>(s - segs.begin() - 1);
  };
  rocksdb::WriteBatch wb;
  std::vector<int64_t> seg_delta(segs.size(), 0);
  bool tombstones_left = false;
  uint64_t removed = 0;
  for (const auto& b : batches) {
    if (!b.listed || b.records.empty()) continue;
    const size_t si = segment_of(b.base);
    const bool expired = segs[si].last_append_ms < tombstone_before;
    std::vector<int64_t> keep;
    for (const auto& r : b.records) {
      if (!r.key) {
        keep.push_back(r.offset);
        continue;
      }
      if (newest[*r.key] != r.offset) continue;
      if (r.tombstone && expired) continue;
      if (r.tombstone) tombstones_left = true;
      keep.push_back(r.offset);
    }
    if (keep.size() == b.records.size()) continue;
    removed += b.records.size() - keep.size();
    const auto key = keys::log_key(p.topic_id, p.partition, b.base);
    if (keep.empty()) {
      wb.Delete(_log_cf, key);
      seg_delta[si] -= static_cast<int64_t>(keys::log_key_size + b.bytes.size());
      continue;
    }
    auto rewritten = _opts.codec->filter(b.bytes, keep);
    if (!rewritten) continue;  // kept whole
    wb.Put(_log_cf, key, *rewritten);
    seg_delta[si] += static_cast<int64_t>(rewritten->size()) - static_cast<int64_t>(b.bytes.size());
  }
  p.compacted_from = start;
  p.compacted_to = whole_range ? limit : scanned_to;
  p.compacted_tombstones = tombstones_left;
  if (removed == 0) return;

  for (size_t i = 0; i < segs.size(); ++i) {
    if (seg_delta[i] == 0) continue;
    segs[i].bytes = static_cast<uint64_t>(static_cast<int64_t>(segs[i].bytes) + seg_delta[i]);
    wb.Put(_meta_cf, keys::segment_key(p.topic_id, p.partition, segs[i].base_offset),
           encode(segs[i]));
  }
  std::error_code blocked;
  if (writes_blocked(blocked)) return;
  rocksdb::WriteOptions wo;
  wo.sync = true;
  if (auto st = _db->Write(wo, &wb); !st.ok()) {
    latch_error(st, "compaction");
    p.compacted_to = -1;
    return;
  }
  // The sync covered every earlier write: publish them, as after a deletion.
  _unsynced = false;
  advanced_list advanced;
  publish(advanced);
  int64_t freed = 0;
  {
    std::lock_guard lk(p.mu);
    for (size_t i = 0; i < segs.size(); ++i) {
      if (seg_delta[i] == 0) continue;
      p.segments[i].bytes = segs[i].bytes;
      freed -= seg_delta[i];
    }
    p.bytes -= static_cast<uint64_t>(freed);
  }
  _total_bytes -= static_cast<uint64_t>(freed);
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started);
  spdlog::info(
      "storage: compacted {}-{} offsets [{}, {}): {} records removed, {} bytes freed in {} us",
      p.topic->info.name, p.partition, start, scanned_to, removed, freed, took.count());
  notify(advanced);
}

}  // namespace eb::storage

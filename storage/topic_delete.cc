// DeleteTopics: a topic and everything keyed by it (its partitions' batches, segment records, log
// starts, mirror cursors and producer states, by topic id; consumer group offsets and gap ledger
// entries, by name; the topic record with its configs) go in one synced WriteBatch, so a crash
// leaves either the whole topic or none of it. Topic ids are never reused (the next id is
// persisted with the deletion), so a topic created again under the same name starts empty at
// offset 0 and can never see a key of the old one. The space is reclaimed by a background
// compaction of the deleted ranges; no caller waits for it.
#include <rocksdb/convenience.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "storage/keys.h"
#include "storage/store_impl.h"

namespace eb::storage {
namespace {

std::string id_prefix(uint32_t id) {
  std::string k;
  keys::put_u32(k, id);
  return k;
}

std::string meta_id_prefix(char type, uint32_t id) {
  std::string k(1, type);
  keys::put_u32(k, id);
  return k;
}

}  // namespace

topic_entry* store_impl::live_topic(const group_ctx& ctx, std::string_view name) const {
  auto it = _topics.find(name);
  if (it == _topics.end() || ctx.deleted_topics.contains(name)) return nullptr;
  return it->second.get();
}

void store_impl::delete_topic(const std::string& name, write_callback<topic_info> done) {
  auto info = std::make_shared<topic_info>();
  auto prepare = [this, info, name](group_ctx& ctx) -> std::error_code {
    // A topic created earlier in this very group is not in the map yet: unknown_topic too (two
    // admin requests racing; the caller retries).
    if (live_topic(ctx, name) == nullptr) return errc::unknown_topic;
    const auto& entry = _topics.find(name)->second;
    *info = entry->info;
    ctx.deleted_topics.emplace(name, entry);
    ctx.deleted_ids.insert(info->id);
    // In queue order: a create of the same name later in this group puts the key again.
    ctx.batch.Delete(_meta_cf, keys::topic_key(name));

    // Committed offsets of every group for this topic (Kafka deletes them with the topic), and
    // the gap ledger's entries for it. Meta is small; the writer reads it (never an io thread).
    const std::string gprefix(1, keys::meta::group);
    size_t offsets = 0, gaps = 0;
    auto st = scan_prefix(*_db, _meta_cf, gprefix, [&](std::string_view k, std::string_view) {
      keys::reader r{k.substr(1)};
      const auto glen = r.u16();
      if (!r.need(glen)) return true;
      r.in.remove_prefix(glen);
      if (r.str16() == name && r.ok) {
        ctx.batch.Delete(_meta_cf, rocksdb::Slice(k.data(), k.size()));
        ++offsets;
      }
      return true;
    });
    if (st.ok()) {
      st = scan_prefix(
          *_db, _meta_cf, std::string(1, keys::meta::gap),
          [&](std::string_view k, std::string_view v) {
            gap g;
            if (k.size() == 9 && decode_gap(keys::get_u64(k.data() + 1), v, g) && g.topic == name) {
              ctx.batch.Delete(_meta_cf, rocksdb::Slice(k.data(), k.size()));
              ++gaps;
            }
            return true;
          });
    }
    if (!st.ok()) {
      spdlog::error("storage: delete topic {}: reading meta failed: {}", name, st.ToString());
      return status_error(st);
    }
    // Ids are never reused, also when the newest topic is the one deleted.
    std::string next;
    keys::put_u64(next, std::max(ctx.next_topic_id, info->id + 1));
    ctx.batch.Put(_meta_cf, keys::counter_key("topic_id"), next);
    ctx.force_sync = true;  // durable when done runs, whatever the fsync policy
    ctx.commits.push_back([this, entry, offsets, gaps] {
      remove_topic(entry);
      if (offsets + gaps > 0) {
        spdlog::info("storage: deleted topic {}: {} committed group offsets, {} gap entries",
                     entry->info.name, offsets, gaps);
      }
    });
    return {};
  };
  submit_op(std::move(prepare), [info, done = std::move(done)](std::error_code ec) {
    if (ec) {
      done(ec);
    } else {
      done(*info);
    }
  });
}

void store_impl::stage_topic_deletion(group_ctx& ctx, const topic_entry& t) {
  const uint32_t id = t.info.id;
  // Last in the WriteBatch: after the batches and segment records an earlier append of this
  // group put under the same id.
  const auto log_lo = id_prefix(id);
  ctx.batch.DeleteRange(_log_cf, log_lo, keys::prefix_end(log_lo));
  for (char type : {keys::meta::segment, keys::meta::log_start, keys::meta::cursor}) {
    const auto lo = meta_id_prefix(type, id);
    ctx.batch.DeleteRange(_meta_cf, lo, keys::prefix_end(lo));
  }
  for (const auto& [k, e] : _producers) {
    if (k.topic_id == id) {
      ctx.batch.Delete(_meta_cf, keys::producer_key(k.producer_id, k.topic_id, k.partition));
    }
  }
}

void store_impl::remove_topic(const std::shared_ptr<topic_entry>& t) {
  const uint32_t id = t->info.id;
  auto of_topic = [&](const partition_state* p) { return p->topic == t.get(); };
  uint64_t bytes = 0, unmirrored = 0;
  for (const auto& p : t->partitions) {
    {
      std::lock_guard lk(p->mu);
      bytes += p->bytes;
    }
    const int64_t hw = p->high_watermark.load();
    const int64_t from = std::max(p->cursor.load(), p->log_start.load());
    if (hw > from) unmirrored += static_cast<uint64_t>(hw - from);
  }
  t->deleted.store(true, std::memory_order_release);
  {
    std::unique_lock lk(_topics_mu);
    if (auto it = _topics.find(t->info.name); it != _topics.end() && it->second == t) {
      _topics.erase(it);
    }
    std::erase_if(_all_partitions, of_topic);
  }
  std::erase_if(_unpublished, of_topic);
  std::erase_if(_producers, [&](const auto& kv) { return kv.first.topic_id == id; });
  _total_bytes -= std::min<uint64_t>(bytes, _total_bytes.load());
  for (const auto& p : t->partitions) _gone.emplace_back(t->info.name, p->partition);
  spdlog::info("storage: deleted topic {} (id {}, {} partitions, {} bytes){}", t->info.name, id,
               t->partitions.size(), bytes,
               _opts.unmirrored == unmirrored_retention::hold && unmirrored > 0
                   ? fmt::format(", {} records the mirror had not sent", unmirrored)
                   : "");
  const auto lo = id_prefix(id);
  queue_compaction(lo, keys::prefix_end(lo), true);
}

void store_impl::queue_compaction(std::string begin, std::string end, bool log) {
  {
    std::lock_guard lk(_compact_mu);
    if (_compact_stop || _compact_queue.size() >= max_queued_compactions) return;
    _compact_queue.push_back({std::move(begin), std::move(end), log});
  }
  _compact_cv.notify_one();
}

void store_impl::compactor_loop() {
  for (;;) {
    compaction_range r;
    {
      std::unique_lock lk(_compact_mu);
      _compact_cv.wait(lk, [&] { return _compact_stop || !_compact_queue.empty(); });
      if (_compact_stop) return;
      r = std::move(_compact_queue.front());
      _compact_queue.pop_front();
    }
    auto* cf = r.log ? _log_cf : _meta_cf;
    rocksdb::Slice b(r.begin), e(r.end);
    // Whole SST files inside the range go at once; compaction rewrites the rest without it.
    auto s = rocksdb::DeleteFilesInRange(_db.get(), cf, &b, &e, false);
    if (s.ok()) {
      rocksdb::CompactRangeOptions o;
      o.exclusive_manual_compaction = false;
      s = _db->CompactRange(o, cf, &b, &e);
    }
    if (!s.ok() && !s.IsShutdownInProgress() && !s.IsIncomplete()) {  // Incomplete: closing
      spdlog::warn("storage: compacting a deleted topic's range: {}", s.ToString());
    }
    _compactions_done.fetch_add(1, std::memory_order_release);
  }
}

}  // namespace eb::storage

// Every write but append: topics, producer ids, mirror cursors, group offsets and gap marks. Each
// travels through the writer's queue as an op (prepared in queue order against committed and
// tentative state, written in the group's WriteBatch) and completes through its callback on the
// writer thread, as append does.
#include <algorithm>
#include <functional>
#include <memory>

#include "common/topic_name.h"
#include "storage/keys.h"
#include "storage/store_impl.h"

namespace eb::storage {
namespace {

// An op's completion for a write that yields a value: the value its prepare step set, or the
// error.
template <class T>
std::function<void(std::error_code)> yielding(std::shared_ptr<T> value, write_callback<T> done) {
  return [value = std::move(value), done = std::move(done)](std::error_code ec) {
    if (ec) {
      done(ec);
    } else {
      done(*value);
    }
  };
}

// Completes `done` with an op's verdict.
void finish(const write_callback<void>& done, std::error_code ec) {
  if (ec) {
    done(ec);
  } else {
    done(result<void>());
  }
}

std::function<void(std::error_code)> as_void(write_callback<void> done) {
  return [done = std::move(done)](std::error_code ec) { finish(done, ec); };
}

// A partition whose topic was deleted after the caller looked it up (or earlier in this group).
bool gone(const group_ctx& ctx, const partition_state& p) {
  return p.topic->deleted.load(std::memory_order_acquire) || ctx.deleted_ids.contains(p.topic_id);
}

bool valid_config(const topic_config& cfg) {
  if (cfg.partitions < 1 || cfg.partitions > 10'000 || cfg.retention_ms < -1 ||
      cfg.retention_bytes < -1 || cfg.settings.size() > max_topic_settings) {
    return false;
  }
  return std::all_of(cfg.settings.begin(), cfg.settings.end(), [](const auto& kv) {
    return !kv.first.empty() && kv.first.size() <= 0xffff && kv.second.size() <= 0x8000;
  });
}

}  // namespace

void store_impl::submit_op(std::function<std::error_code(group_ctx&)> prepare,
                           std::function<void(std::error_code)> done) {
  auto op = std::make_unique<pending_op>();
  op->prepare = std::move(prepare);
  op->done = std::move(done);
  {
    std::lock_guard lk(_q_mu);
    if (!_stopping) _queue.emplace_back(std::move(op));
  }
  if (op) {
    op->done(errc::shutting_down);
    return;
  }
  _q_cv.notify_one();
}

void store_impl::create_topic(const std::string& name, const topic_config& cfg,
                              write_callback<topic_info> done) {
  if (!is_legal_topic_name(name) || !valid_config(cfg)) {
    done(make_error_code(errc::invalid_topic_config));
    return;
  }
  auto info = std::make_shared<topic_info>();
  info->name = name;
  info->config = cfg;
  auto prepare = [this, info](group_ctx& ctx) -> std::error_code {
    if (live_topic(ctx, info->name) != nullptr || ctx.new_topics.contains(info->name)) {
      return errc::topic_exists;
    }
    info->id = ctx.next_topic_id++;
    info->uuid = new_topic_uuid();
    ctx.new_topics.insert(info->name);
    ctx.batch.Put(_meta_cf, keys::topic_key(info->name), encode_topic(*info));
    ctx.force_sync = true;  // durable when done runs, whatever the fsync policy
    ctx.commits.push_back([this, info] {
      std::unique_lock lk(_topics_mu);
      add_topic_locked(*info);
      _next_topic_id = std::max(_next_topic_id, info->id + 1);
    });
    return {};
  };
  submit_op(std::move(prepare), yielding(info, std::move(done)));
}

void store_impl::alter_topic(const std::string& name, const topic_config& cfg,
                             write_callback<topic_info> done) {
  if (!valid_config(cfg)) {
    done(make_error_code(errc::invalid_topic_config));
    return;
  }
  auto info = std::make_shared<topic_info>();
  info->name = name;
  info->config = cfg;
  auto prepare = [this, info](group_ctx& ctx) -> std::error_code {
    // The writer reads the topic map without the lock; only it changes the map.
    topic_entry* entry = live_topic(ctx, info->name);
    if (entry == nullptr) return errc::unknown_topic;
    info->id = entry->info.id;
    info->uuid = entry->info.uuid;
    info->config.partitions = entry->info.config.partitions;
    ctx.batch.Put(_meta_cf, keys::topic_key(info->name), encode_topic(*info));
    ctx.force_sync = true;
    ctx.commits.push_back([this, info, entry] {
      std::unique_lock lk(_topics_mu);
      entry->info.config = info->config;
    });
    return {};
  };
  submit_op(std::move(prepare), yielding(info, std::move(done)));
}

void store_impl::add_partitions(const std::string& name, int32_t partitions,
                                write_callback<topic_info> done) {
  if (partitions < 1 || partitions > 10'000) {
    done(make_error_code(errc::invalid_topic_config));
    return;
  }
  auto info = std::make_shared<topic_info>();
  auto prepare = [this, info, name, partitions](group_ctx& ctx) -> std::error_code {
    topic_entry* entry = live_topic(ctx, name);
    if (entry == nullptr) return errc::unknown_topic;
    if (partitions <= entry->info.config.partitions) return errc::invalid_topic_config;
    *info = entry->info;
    info->config.partitions = partitions;
    ctx.batch.Put(_meta_cf, keys::topic_key(name), encode_topic(*info));
    ctx.force_sync = true;
    ctx.commits.push_back([this, info, entry] {
      std::unique_lock lk(_topics_mu);
      for (auto i = static_cast<int32_t>(entry->partitions.size()); i < info->config.partitions;
           ++i) {
        auto p = std::make_unique<partition_state>();
        p->topic = entry;
        p->topic_id = entry->info.id;
        p->partition = i;
        _all_partitions.push_back(p.get());
        entry->partitions.push_back(std::move(p));
      }
      entry->info.config.partitions = info->config.partitions;
    });
    return {};
  };
  submit_op(std::move(prepare), yielding(info, std::move(done)));
}

void store_impl::allocate_producer_id(write_callback<int64_t> done) {
  // Ids are reserved durably a block at a time; a restart skips the rest of the block.
  constexpr int64_t block = 1000;
  auto id = std::make_shared<int64_t>(-1);
  auto prepare = [this, id](group_ctx& ctx) -> std::error_code {
    if (ctx.pid_next >= ctx.pid_limit) {
      ctx.pid_limit = ctx.pid_next + block;
      std::string v;
      keys::put_i64(v, ctx.pid_limit);
      ctx.batch.Put(_meta_cf, keys::counter_key("pid"), v);
      ctx.force_sync = true;
    }
    *id = ctx.pid_next++;
    ctx.commits.push_back([this, next = ctx.pid_next, limit = ctx.pid_limit] {
      _pid_next = next;
      _pid_limit = limit;
    });
    return {};
  };
  submit_op(std::move(prepare), yielding(id, std::move(done)));
}

void store_impl::commit_mirror_cursors(
    const std::map<std::pair<std::string, int32_t>, int64_t>& next_offsets,
    write_callback<void> done) {
  if (next_offsets.empty()) return finish(done, {});
  auto items =
      std::make_shared<std::vector<std::pair<std::shared_ptr<partition_state>, int64_t>>>();
  for (const auto& [tp, off] : next_offsets) {
    auto p = find_partition(tp.first, tp.second);
    if (!p) return finish(done, p.error());
    if (off < 0) return finish(done, errc::offset_out_of_range);
    items->emplace_back(std::move(*p), off);
  }
  auto prepare = [this, items](group_ctx& ctx) -> std::error_code {
    for (const auto& [p, off] : *items) {
      // Deleted since the lookup: the cursor must not land on its keys (or a new topic's).
      if (gone(ctx, *p)) return errc::unknown_topic;
      if (off > p->high_watermark.load()) return errc::offset_out_of_range;
    }
    for (const auto& [p, off] : *items) {
      std::string v;
      keys::put_i64(v, off);
      ctx.batch.Put(_meta_cf, keys::tp_key(keys::meta::cursor, p->topic_id, p->partition), v);
    }
    ctx.commits.push_back([items] {
      for (const auto& [p, off] : *items) p->cursor.store(off);
    });
    return {};
  };
  submit_op(std::move(prepare), as_void(std::move(done)));
}

void store_impl::delete_records(const std::string& topic, int32_t partition, int64_t offset,
                                write_callback<int64_t> done) {
  auto found = find_partition(topic, partition);
  if (!found) return done(found.error());
  if (offset < 0) return done(make_error_code(errc::offset_out_of_range));
  std::shared_ptr<partition_state> p = std::move(*found);
  auto start = std::make_shared<int64_t>(0);
  auto prepare = [this, p, offset, start](group_ctx& ctx) -> std::error_code {
    if (gone(ctx, *p)) return errc::unknown_topic;
    const int64_t ls = p->log_start.load();
    if (offset > p->high_watermark.load()) return errc::offset_out_of_range;
    if (offset <= ls) {
      *start = ls;
      return {};
    }
    if (_opts.unmirrored == unmirrored_retention::hold && offset > p->cursor.load()) {
      return errc::held_for_mirror;
    }
    // Whole segments below the new start go, never the active (last) one: a group may be
    // extending it. The writer owns the segment list; readers lock it.
    size_t n = 0;
    int64_t from = ls, to = ls;
    if (!p->segments.empty()) from = std::min(ls, p->segments.front().base_offset);
    for (size_t i = 0; i + 1 < p->segments.size(); ++i) {
      if (p->segments[i].end_offset > offset) break;
      ++n;
      to = p->segments[i].end_offset;
    }
    if (n > 0) {
      ctx.batch.DeleteRange(_log_cf, keys::log_key(p->topic_id, p->partition, from),
                            keys::log_key(p->topic_id, p->partition, to));
      ctx.batch.DeleteRange(_meta_cf, keys::segment_key(p->topic_id, p->partition, from),
                            keys::segment_key(p->topic_id, p->partition, to));
    }
    std::string v;
    keys::put_i64(v, offset);
    ctx.batch.Put(_meta_cf, keys::tp_key(keys::meta::log_start, p->topic_id, p->partition), v);
    ctx.force_sync = true;  // the log start never goes back
    *start = offset;
    // Re-checked at commit: two DeleteRecords of one partition may share a group.
    ctx.commits.push_back([this, p, offset] {
      uint64_t freed = 0;
      {
        std::lock_guard lk(p->mu);
        while (p->segments.size() > 1 && p->segments.front().end_offset <= offset) {
          freed += p->segments.front().bytes;
          p->segments.pop_front();
        }
        p->bytes -= freed;
      }
      if (offset > p->log_start.load()) p->log_start.store(offset, std::memory_order_release);
      _total_bytes -= freed;
    });
    return {};
  };
  submit_op(std::move(prepare), yielding(start, std::move(done)));
}

void store_impl::commit_group_offsets(
    const std::string& group,
    const std::map<std::pair<std::string, int32_t>, committed_offset>& offsets,
    write_callback<void> done) {
  const auto invalid = std::make_error_code(std::errc::invalid_argument);
  if (group.size() > 0xffff) return finish(done, invalid);
  if (offsets.empty()) return finish(done, {});
  auto puts = std::make_shared<std::vector<std::pair<std::string, std::string>>>();
  for (const auto& [tp, c] : offsets) {
    if (tp.first.size() > 0xffff) return finish(done, invalid);
    std::string v;
    keys::put_i64(v, c.offset);
    v.append(c.metadata);
    puts->emplace_back(keys::group_key(group, tp.first, tp.second), std::move(v));
  }
  auto prepare = [this, puts](group_ctx& ctx) -> std::error_code {
    for (const auto& [k, v] : *puts) ctx.batch.Put(_meta_cf, k, v);
    return {};
  };
  submit_op(std::move(prepare), as_void(std::move(done)));
}

void store_impl::delete_group_offsets(const std::string& group, write_callback<void> done) {
  if (group.size() > 0xffff) return finish(done, std::make_error_code(std::errc::invalid_argument));
  auto prefix = std::make_shared<std::string>(keys::group_prefix(group));
  auto prepare = [this, prefix](group_ctx& ctx) -> std::error_code {
    ctx.batch.DeleteRange(_meta_cf, *prefix, keys::prefix_end(*prefix));
    return {};
  };
  submit_op(std::move(prepare), as_void(std::move(done)));
}

void store_impl::mark_gaps_reported(uint64_t up_to_id, write_callback<void> done) {
  auto prepare = [this, up_to_id](group_ctx& ctx) -> std::error_code {
    const uint64_t mark = std::min(up_to_id, _last_gap_id);
    if (mark <= _reported_gap.load()) return {};
    std::string v;
    keys::put_u64(v, mark);
    ctx.batch.Put(_meta_cf, keys::counter_key("gap_reported"), v);
    if (mark > gaps_kept) {
      // The ledger is bounded: reported gaps beyond the newest gaps_kept go.
      ctx.batch.DeleteRange(_meta_cf, keys::gap_key(0), keys::gap_key(mark - gaps_kept + 1));
    }
    ctx.commits.push_back([this, mark] { _reported_gap.store(mark); });
    return {};
  };
  submit_op(std::move(prepare), as_void(std::move(done)));
}

void store_impl::add_gap(gap g, write_callback<uint64_t> done) {
  if (g.timestamp_ms == 0) {
    g.timestamp_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  }
  auto id = std::make_shared<uint64_t>(0);
  auto prepare = [this, g = std::move(g), id](group_ctx& ctx) -> std::error_code {
    // Taken at once (not at commit) so that two gaps in one group get distinct ids; an id of a
    // failed group is simply never used.
    *id = ++_last_gap_id;
    ctx.batch.Put(_meta_cf, keys::gap_key(*id), encode_gap(g));
    ctx.force_sync = true;
    return {};
  };
  submit_op(std::move(prepare), yielding(id, std::move(done)));
}

void store_impl::put_source_cursors(const std::map<std::string, std::string>& entries,
                                    write_callback<void> done) {
  if (entries.empty()) return finish(done, {});
  for (const auto& [k, v] : entries) {
    if (k.empty() || k.size() > max_source_cursor_bytes || v.size() > max_source_cursor_bytes) {
      return finish(done, std::make_error_code(std::errc::invalid_argument));
    }
  }
  auto items = std::make_shared<std::map<std::string, std::string>>(entries);
  auto prepare = [this, items](group_ctx& ctx) -> std::error_code {
    for (const auto& [k, v] : *items) {
      if (v.empty()) {
        ctx.batch.Delete(_meta_cf, keys::source_key(k));
      } else {
        ctx.batch.Put(_meta_cf, keys::source_key(k), v);
      }
    }
    return {};
  };
  submit_op(std::move(prepare), as_void(std::move(done)));
}

}  // namespace eb::storage

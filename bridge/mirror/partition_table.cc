#include "bridge/mirror/partition_table.h"

#include <spdlog/spdlog.h>

#include <set>

#include "common/topic_settings.h"

namespace eb::bridge::mirror_detail {
namespace {
constexpr milliseconds topic_refresh_interval{10'000};

// The topic configs set through the Kafka admin APIs (common/topic_settings.h) win over the
// config file's mapping.
bool excluded(const mirror_options& opts, const storage::topic_info& info) {
  if (auto v = topic_settings::find(info.config.settings, topic_settings::mirror_enabled)) {
    return *v == "false" || *v == "FALSE" || *v == "False";
  }
  return opts.excluded_topics.count(info.name) > 0 || (opts.exclude && opts.exclude(info.name));
}

std::string target_of(const mirror_options& opts, const storage::topic_info& info) {
  if (auto v = topic_settings::find(info.config.settings, topic_settings::mirror_target)) {
    return *v;
  }
  return opts.target_topic(info.name);
}

refusal_policy refusal_of(const mirror_options& opts, const storage::topic_info& info) {
  if (auto v = topic_settings::find(info.config.settings, topic_settings::mirror_on_refusal)) {
    return *v == "skip" ? refusal_policy::skip : refusal_policy::pause;
  }
  return opts.refusal_for(info.name);
}

}  // namespace

void partition_table::refresh() {
  _next_refresh = steady::now() + topic_refresh_interval;
  auto topics = _store.topics();
  std::map<std::string, uint32_t> ids;
  for (auto& info : topics) ids[info.name] = info.id;
  forget_deleted(ids);
  for (auto& info : topics) {
    if (excluded(_opts, info)) {
      add_excluded(info);
    } else {
      add_mirrored(info);
    }
  }
}

void partition_table::forget_deleted(const std::map<std::string, uint32_t>& ids) {
  auto deleted = [&](const std::string& topic, uint32_t id) {
    auto it = ids.find(topic);
    return it == ids.end() || it->second != id;
  };
  std::set<std::string> logged;
  for (auto& p : _parts) {
    if (p->gone || p->is_gaps || !deleted(p->topic, p->topic_id)) continue;
    // The cloud topic stays as it is; what was sent is settled by its delivery reports.
    p->gone = true;
    if (logged.insert(p->topic).second) {
      _log.info(
          "mirror: local topic {} was deleted: its partitions are no longer mirrored (the "
          "cloud topic {} stays)",
          p->topic, p->target_name);
    }
  }
  std::erase_if(_excluded,
                [&](const auto& kv) { return deleted(kv.first.first, kv.second.topic_id); });
}

std::vector<std::unique_ptr<part>> partition_table::take_gone() {
  std::vector<std::unique_ptr<part>> out;
  for (auto& p : _parts) {
    if (!p->gone || !p->inflight.empty()) continue;  // delivery reports still point at it
    _index.erase({p->topic, p->partition});
    out.push_back(std::move(p));
  }
  if (out.empty()) return out;
  std::erase(_parts, nullptr);
  // A topic created again under the name is added by the next refresh.
  _next_refresh = std::min(_next_refresh, steady::now() + milliseconds{100});
  return out;
}

void partition_table::add_excluded(const storage::topic_info& info) {
  for (int32_t i = 0; i < info.config.partitions; ++i) {
    auto [it, added] = _excluded.try_emplace({info.name, i});
    if (added) {
      it->second.topic_id = info.id;
      if (auto o = _store.offsets(info.name, i)) it->second.hw = o->high_watermark;
      it->second.committed = _store.mirror_cursor(info.name, i).value_or(-1);
    }
  }
}

void partition_table::add_mirrored(const storage::topic_info& info) {
  std::string target_name = target_of(_opts, info);
  auto& t = _targets.get(target_name);
  if (info.config.partitions > t.needed_partitions) {
    // New partitions (CreatePartitions): the cloud topic must grow before they can go.
    if (t.state == target_state::ready) _targets.recheck_soon(t);
    t.needed_partitions = info.config.partitions;
  }
  for (int32_t i = 0; i < info.config.partitions; ++i) {
    auto key = std::make_pair(info.name, i);
    auto it = _index.find(key);
    part* p = it == _index.end() ? nullptr : it->second;
    if (p && p->gone) continue;  // the deleted topic's part settles first (take_gone)
    if (!p) {
      auto owned = std::make_unique<part>();
      p = owned.get();
      p->topic = info.name;
      p->partition = i;
      p->topic_id = info.id;
      p->target_name = target_name;
      p->tgt = &t;
      if (auto c = _store.mirror_cursor(info.name, i)) p->committed = *c;
      if (auto o = _store.offsets(info.name, i)) p->hw = o->high_watermark;
      p->oldest_ms = wall_ms();
      _parts.push_back(std::move(owned));
      _index[key] = p;
    }
    p->priority = info.config.priority;
    p->on_refusal = refusal_of(_opts, info);
  }
}

void partition_table::absorb(const std::map<partition_key, int64_t>& advanced) {
  bool unknown = false;
  for (auto& [key, hw] : advanced) {
    auto it = _index.find(key);
    if (it == _index.end()) {
      if (auto ex = _excluded.find(key); ex != _excluded.end()) {
        ex->second.hw = std::max(ex->second.hw, hw);
      } else {
        unknown = true;
      }
      continue;
    }
    part* p = it->second;
    if (hw <= p->hw) continue;
    if (p->resolved && p->next >= p->hw) p->oldest_ms = wall_ms();
    p->hw = hw;
  }
  if (unknown) refresh();
}

void partition_table::commit_cursors() {
  std::map<partition_key, int64_t> cursors;
  for (auto& p : _parts) {
    if (!p->gone && p->resolved && p->confirmed > p->committed) {
      cursors[{p->topic, p->partition}] = p->confirmed;
    }
  }
  // Excluded topics have nothing to mirror: their cursor follows the high watermark, so local
  // retention treats them like mirrored data and the quota never reports them as gaps.
  for (auto& [key, e] : _excluded) {
    if (e.hw > e.committed) cursors[key] = e.hw;
  }
  if (cursors.empty()) return;
  if (auto r = _store.commit_mirror_cursors(cursors); !r) {
    _board.note_error("storage: commit_mirror_cursors: " + r.error().message());
    _log.warn("mirror: persisting cursors failed: {}", r.error().message());
    // A topic deleted since the last refresh fails the whole commit: look again at once.
    if (r.error() == storage::errc::unknown_topic) refresh_soon();
    return;
  }
  for (auto& [key, next] : cursors) {
    if (auto it = _index.find(key); it != _index.end()) {
      it->second->committed = next;
    } else {
      _excluded[key].committed = next;
    }
  }
}

}  // namespace eb::bridge::mirror_detail

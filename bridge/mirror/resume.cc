#include "bridge/mirror/resume.h"

#include <spdlog/spdlog.h>

namespace eb::bridge::mirror_detail {
namespace {
// Followers fetch every replica.fetch.wait.max.ms (500 ms by default) at the latest, and the
// leader's high watermark follows on their next fetch.
constexpr milliseconds tail_settle{1500};
constexpr int max_unsettled_reads = 5;
}  // namespace

tail_query resume::query_for(const part& p) const {
  tail_query q{.topic = p.target_name, .partition = p.partition};
  q.must_match.emplace_back(h_site, _opts.site_id);
  if (p.is_gaps) {
    q.value_header = h_gap_id;
  } else {
    q.must_match.emplace_back(h_topic, p.topic);
    q.must_match.emplace_back(h_partition, decimal(p.partition));
    // Not the records of a deleted topic of the same name.
    q.match_if_present.emplace_back(h_gen, decimal(p.topic_id));
    q.value_header = h_offset;
  }
  return q;
}

std::vector<std::pair<part*, tail_answer>> resume::read(const std::vector<part*>& parts) {
  std::vector<std::pair<part*, tail_answer>> out;
  if (steady::now() < _retry_at || _uplink.link() == link_state::disconnected) return out;
  std::vector<part*> todo;
  std::vector<tail_query> queries;
  for (auto* p : parts) {
    if (p->resolved || !p->tgt || p->tgt->state != target_state::ready) continue;
    todo.push_back(p);
    queries.push_back(query_for(*p));
  }
  if (todo.empty()) return out;
  auto r = read_tails(_uplink.consumer_conf(), queries, _opts.tail_scan_records, tail_timeout,
                      _stopping);
  if (!r.error.empty()) {
    _board.note_error("reading the cloud's tail: " + r.error);
    _log.warn("mirror: reading the cloud's tail failed ({}); retrying", r.error);
    _retry_at = steady::now() + _uplink.retry_backoff().next();
    return out;
  }
  // Trusted once it stands still: two reads tail_settle apart agree on every high watermark.
  // Bounded, for partitions that other writers keep growing.
  bool settled = true;
  for (size_t i = 0; i < todo.size(); ++i) {
    std::string key = queries[i].topic + '\0' + std::to_string(queries[i].partition);
    auto [it, fresh] = _seen_hw.try_emplace(key, r.answers[i].high_watermark);
    if (fresh || it->second != r.answers[i].high_watermark) settled = false;
    it->second = r.answers[i].high_watermark;
  }
  if (!settled && ++_unsettled_reads <= max_unsettled_reads) {
    _retry_at = steady::now() + tail_settle;
    return out;
  }
  _unsettled_reads = 0;
  for (size_t i = 0; i < todo.size(); ++i) {
    _seen_hw.erase(queries[i].topic + '\0' + std::to_string(queries[i].partition));
    out.emplace_back(todo[i], r.answers[i]);
  }
  return out;
}

void resume::apply(part& p, const tail_answer& a) {
  auto offsets = _store.offsets(p.topic, p.partition);
  if (!offsets) {
    p.error = "storage: " + offsets.error().message();
    return;
  }
  int64_t log_start = offsets->log_start;
  p.hw = std::max(p.hw, offsets->high_watermark);
  int64_t cursor = std::max<int64_t>(p.committed, std::max<int64_t>(p.confirmed, log_start));
  int64_t resume = cursor;
  const char* source = "storage cursor";
  if (a.value) {
    resume = *a.value + 1;
    source = "the cloud's last record";
    if (resume > p.hw) {
      // Only possible if the local store was reset under the same site id: keep everything
      // local rather than skip it.
      _log.error(
          "mirror: {}[{}] holds offset {} of {}[{}] but the local log ends at {} (local store "
          "reset?); mirroring from the cursor {}",
          p.target_name, p.partition, *a.value, p.topic, p.partition, p.hw, cursor);
      resume = cursor;
    }
  }
  warn_if_behind(p, a, resume, log_start);
  resume = std::clamp(resume, log_start, p.hw);
  _log.log(resume == p.last_resume ? spdlog::level::debug : spdlog::level::info,
           "mirror: {}[{}] -> {}[{}] resumes at offset {} (from {}; local log {}..{})", p.topic,
           p.partition, p.target_name, p.partition, resume, source, log_start, p.hw);
  p.last_resume = resume;
  p.next = p.confirmed = resume;
  p.resolved = true;
  p.failed = false;
  p.error.clear();
  if (p.next < p.hw) {
    // The age of the data waiting, so that after an outage the oldest goes first.
    auto first = _store.read(p.topic, p.partition, p.next, 1);
    p.oldest_ms = first && !first->empty() ? first->front().append_time_ms : wall_ms();
  }
}

bool resume::skipped(const part& p, int64_t first, int64_t last) const {
  for (uint64_t after = 0;;) {
    auto gaps = _store.gaps_after(after);
    if (gaps.empty()) return false;
    for (auto& g : gaps) {
      if (g.topic == p.topic && g.partition == p.partition && g.first_offset == first &&
          g.last_offset == last) {
        return true;
      }
    }
    after = gaps.back().id;
  }
}

void resume::warn_if_behind(const part& p, const tail_answer& a, int64_t resume,
                            int64_t log_start) {
  // Below what the cloud once confirmed: it lost records (truncation, unclean election).
  int64_t confirmed_before = std::max(p.committed, p.confirmed);
  if (!a.value || resume >= confirmed_before) return;
  if (skipped(p, resume, confirmed_before - 1)) return;  // never in the cloud: nothing lost
  _log.warn("mirror: {}[{}] ends at offset {} but confirmed up to {}; sending again from {}",
            p.target_name, p.partition, *a.value, confirmed_before - 1, resume);
  if (resume < log_start) {
    // What storage already deleted as mirrored cannot be sent again. (Below the log start and
    // above the confirmed position is a storage gap, reported on its own.)
    _log.error("mirror: {}[{}] lost offsets {}..{} of {}[{}], no longer stored locally",
               p.target_name, p.partition, resume, std::min(log_start, confirmed_before) - 1,
               p.topic, p.partition);
    _board.note_error("the cloud lost records of " + p.topic + "[" + std::to_string(p.partition) +
                      "] that are no longer stored locally");
  }
}

}  // namespace eb::bridge::mirror_detail

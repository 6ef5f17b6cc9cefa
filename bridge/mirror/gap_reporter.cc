#include "bridge/mirror/gap_reporter.h"

#include <spdlog/spdlog.h>

#include "common/json.h"

namespace eb::bridge::mirror_detail {

gap_reporter::gap_reporter(const mirror_options& opts, storage::log_store& store, uplink& link,
                           scheduler& sched, target_topics& targets, status_board& board,
                           spdlog::logger& log)
    : _opts(opts),
      _store(store),
      _uplink(link),
      _sched(sched),
      _targets(targets),
      _board(board),
      _log(log) {
  _part.is_gaps = true;
  _part.target_name = _opts.gaps_target();
  _part.partition = 0;
}

// The delivery bookkeeping sets the part's confirmed offset to the confirmed gap id + 1.
uint64_t gap_reporter::confirmed() const {
  return _part.confirmed > 0 ? static_cast<uint64_t>(_part.confirmed - 1) : 0;
}

void gap_reporter::start() {
  _marked = _store.last_reported_gap();
  _board.set_gaps_reported(_marked);
}

// The gaps topic is only needed once storage has dropped something: until then it is neither
// checked nor created, so a cloud without it is not "refusing".
void gap_reporter::attach() {
  if (_part.tgt || _store.gaps_after(_marked).empty()) return;
  _part.tgt = &_targets.get(_part.target_name);
}

void gap_reporter::resolve(const tail_answer& a) {
  uint64_t reported = _store.last_reported_gap();
  if (a.value && static_cast<uint64_t>(*a.value) > reported) {
    // The report reached the cloud but the crash came before it was marked.
    if (auto r = _store.mark_gaps_reported(static_cast<uint64_t>(*a.value)); !r) {
      _board.note_error("storage: mark_gaps_reported: " + r.error().message());
    }
    reported = static_cast<uint64_t>(*a.value);
  }
  _marked = _produced = reported;
  _part.confirmed = static_cast<int64_t>(reported) + 1;
  _part.resolved = true;
  _part.failed = false;
}

std::string gap_reporter::json_of(const storage::gap& g) const {
  std::string json = "{\"site\":";
  append_json_string(json, _opts.site_id);
  json += ",\"topic\":";
  append_json_string(json, g.topic);
  json += ",\"partition\":" + decimal(g.partition) +
          ",\"first_offset\":" + decimal(g.first_offset) +
          ",\"last_offset\":" + decimal(g.last_offset) + ",\"reason\":";
  append_json_string(json, g.reason);
  json += ",\"time_ms\":" + decimal(g.timestamp_ms) +
          ",\"gap_id\":" + decimal(static_cast<int64_t>(g.id)) + "}";
  return json;
}

void gap_reporter::report() {
  if (!_part.resolved || !_part.tgt || _part.tgt->state != target_state::ready) return;
  if (_produced != confirmed()) return;  // one round in flight at a time
  for (auto& g : _store.gaps_after(_produced)) {
    std::string json = json_of(g);
    std::string key = g.topic + "/" + decimal(g.partition);
    auto err = _uplink.send_gap(_part, key, json, g.timestamp_ms, g.id);
    if (err) {
      if (err == RD_KAFKA_RESP_ERR__FATAL) _uplink.request_resync(_uplink.fatal_reason());
      return;  // retried at the next tick
    }
    uint64_t cost = json.size() + record_overhead + 2 * header_overhead;
    _sched.launch(_part, {static_cast<int64_t>(g.id), cost, json.size()});
    _produced = g.id;
    _log.warn("mirror: reporting gap {}: {}[{}] offsets {}..{} ({})", g.id, g.topic, g.partition,
              g.first_offset, g.last_offset, g.reason);
  }
}

std::string gap_reporter::skip(const part& p, const refusal& r) {
  for (uint64_t after = 0;;) {
    auto gaps = _store.gaps_after(after);
    if (gaps.empty()) break;
    for (auto& g : gaps) {
      if (g.topic == p.topic && g.partition == p.partition && g.first_offset == r.first_offset &&
          g.last_offset == r.last_offset) {
        return {};
      }
    }
    after = gaps.back().id;
  }
  auto id = _store.add_gap({.topic = p.topic,
                            .partition = p.partition,
                            .first_offset = r.first_offset,
                            .last_offset = r.last_offset,
                            .reason = r.reason});
  if (!id) return "storage: add_gap: " + id.error().message();
  _log.warn("mirror: {}[{}] skips offsets {}..{} (mirror.on_refusal skip), reported as gap {}: {}",
            p.topic, p.partition, r.first_offset, r.last_offset, *id, r.reason);
  attach();
  return {};
}

void gap_reporter::mark_confirmed() {
  if (confirmed() <= _marked) return;
  if (auto r = _store.mark_gaps_reported(confirmed()); r) {
    _marked = confirmed();
    _board.set_gaps_reported(_marked);
  }
}

}  // namespace eb::bridge::mirror_detail

#include "bridge/mirror/status.h"

namespace eb::bridge::mirror_detail {
namespace {

uplink_state uplink_of(link_state link, const std::map<std::string, target>& targets) {
  switch (link) {
    case link_state::connecting:
      return uplink_state::connecting;
    case link_state::disconnected:
      return uplink_state::disconnected;
    case link_state::refusing:
      return uplink_state::refusing;
    case link_state::connected:
      break;
  }
  // Connected, but a target topic the cloud will not let us use makes the uplink refusing.
  for (auto& [name, t] : targets) {
    if (t.state == target_state::missing || t.state == target_state::too_few_partitions ||
        t.state == target_state::refused) {
      return uplink_state::refusing;
    }
  }
  return uplink_state::connected;
}

mirror_partition_status partition_status(const part& p, steady::time_point now) {
  mirror_partition_status ps;
  ps.topic = p.topic;
  ps.partition = p.partition;
  ps.target_topic = p.target_name;
  ps.priority = p.priority;
  ps.high_watermark = p.hw;
  ps.produced_offset = p.resolved ? p.next : -1;
  ps.confirmed_offset = p.resolved ? p.confirmed : -1;
  ps.committed_offset = p.committed;
  int64_t base = p.resolved ? p.confirmed : std::max<int64_t>(p.committed, 0);
  ps.backlog_records = std::max<int64_t>(0, p.hw - base);
  ps.backlog_bytes =
      static_cast<uint64_t>(static_cast<double>(ps.backlog_records) * p.bytes_per_record);
  ps.delivered_records = p.delivered_records;
  ps.delivered_bytes = p.delivered_bytes;
  ps.error = p.error;
  if (p.tgt && p.tgt->state != target_state::ready && p.tgt->state != target_state::unknown) {
    ps.state = "waiting";
    ps.error = p.tgt->error;
  } else if (p.refused) {
    // Refused by the cloud for good, or undecodable: only this partition waits.
    ps.state = "blocked";
    ps.error = p.refused->reason;
  } else if (!p.resolved) {
    ps.state = "resolving";
  } else if (p.retry_at > now) {
    ps.state = "waiting";
  } else {
    ps.state = ps.backlog_records > 0 ? "mirroring" : "caught-up";
  }
  return ps;
}

}  // namespace

void status_board::note_error(const std::string& e) {
  std::lock_guard lk(_mutex);
  _status.last_error = e;
}

void status_board::set_gaps_reported(uint64_t n) {
  std::lock_guard lk(_mutex);
  _status.gaps_reported = n;
}

void status_board::publish(mirror_status s) {
  std::lock_guard lk(_mutex);
  s.last_error = _status.last_error;
  s.gaps_reported = _status.gaps_reported;
  _status = std::move(s);
}

mirror_status status_board::get() const {
  std::lock_guard lk(_mutex);
  return _status;
}

mirror_status snapshot(bool running, link_state link, const std::map<std::string, target>& targets,
                       std::span<const std::unique_ptr<part>> parts, const mirror_counters& c,
                       steady::time_point now) {
  mirror_status s;
  s.running = running;
  s.connected = link == link_state::connected;
  s.uplink = running ? uplink_of(link, targets) : uplink_state::stopped;
  s.inflight_bytes = c.inflight_bytes;
  s.inflight_records = c.inflight_records;
  s.delivered_records = c.delivered_records;
  s.delivered_bytes = c.delivered_bytes;
  s.resyncs = c.resyncs;
  s.reconnects = c.reconnects;
  for (auto& owned : parts) {
    auto ps = partition_status(*owned, now);
    s.backlog_records += ps.backlog_records;
    s.partitions.push_back(std::move(ps));
  }
  s.taken_at = std::chrono::system_clock::now();
  return s;
}

}  // namespace eb::bridge::mirror_detail

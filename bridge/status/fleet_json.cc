// The fleet record: what one site tells the cloud's status topic every remote.status_interval,
// so that one consumer there sees every site. A subset of /v1/status, from the same snapshot.
#include <algorithm>
#include <string>

#include "bridge/status/snapshot.h"
#include "bridge/status/writers.h"

namespace eb::bridge {

std::string render_fleet_json(const status_snapshot& s, const std::string& software_version) {
  status_detail::json_writer w;
  w.open()
      .str("type", "fleet")
      .str("site", s.site_id)
      .str("version", software_version)
      .num("config_version", s.config ? s.config->remote_version : 0)
      .num("time_ms", s.time_ms)
      .dbl("uptime_s", s.uptime_s)
      .boolean("ready", s.listening);
  int64_t backlog = 0;
  uint64_t backlog_bytes = 0;
  w.open_array("topics");
  for (auto& t : s.topics) {
    backlog += t.backlog_records;
    backlog_bytes += t.backlog_bytes;
    w.open()
        .str("name", t.name)
        .num("end_offsets", t.end_offsets)
        .num("backlog_records", t.backlog_records)
        .unum("backlog_bytes", t.backlog_bytes)
        .close();
  }
  w.close();
  w.num("backlog_records", backlog).unum("backlog_bytes", backlog_bytes);
  w.open("disk")
      .unum("used_bytes", s.usage.log_bytes)
      .unum("quota_bytes", s.disk_quota_bytes)
      .unum("unmirrored_bytes", s.usage.unmirrored_bytes)
      .close();
  w.open("uplink");
  if (s.uplink) {
    w.str("state", s.uplink->state)
        .str("last_error", s.uplink->last_error)
        .unum("delivered_records", s.uplink->delivered_records)
        .unum("bandwidth_bytes_per_sec", s.uplink->bandwidth_bytes_per_sec);
  } else {
    w.str("state", "off");
  }
  w.close();
  w.open("downlink");
  if (s.downlink) {
    int64_t lag = 0;
    for (auto& p : s.downlink->partitions) lag += std::max<int64_t>(p.lag, 0);
    w.str("state", s.downlink->state)
        .str("last_error", s.downlink->last_error)
        .unum("records", s.downlink->records)
        .num("lag_records", lag)
        .unum("partitions", s.downlink->partitions.size());
  } else {
    w.str("state", "off");
  }
  w.close();
  uint64_t dropped = 0;
  for (auto& g : s.gaps) dropped += uint64_t(g.last_offset - g.first_offset + 1);
  w.open("gaps")
      .unum("recent", s.gaps.size())
      .unum("recent_records", dropped)
      .unum("reported", s.uplink ? s.uplink->gaps_reported : 0)
      .unum("dropped_records", s.usage.dropped_records)
      .close();
  w.close();
  return w.take();
}

}  // namespace eb::bridge

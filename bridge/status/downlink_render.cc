// The downlink in /metrics and /v1/status: its state, what it copied, and per cloud partition
// the stored cursor, the cloud's high watermark and the lag between them.
#include "bridge/status/downlink_render.h"

#include <string>

namespace eb::bridge::status_detail {

void downlink_metrics(prom_writer& m, const status_snapshot& s) {
  m.family("edgebridge_downlink_state", "gauge", "1 for the downlink's current state.");
  static constexpr std::string_view states[] = {"off",       "stopped",      "connecting",
                                                "connected", "disconnected", "paused"};
  const std::string current = s.downlink ? s.downlink->state : "off";
  for (auto st : states) {
    m.sample("edgebridge_downlink_state", {{"state", std::string(st)}}, st == current ? 1 : 0);
  }
  if (!s.downlink) return;
  const auto& d = *s.downlink;
  m.one("edgebridge_downlink_records_total", "counter",
        "Cloud records stored in local topics since start.", static_cast<double>(d.records));
  m.one("edgebridge_downlink_errors_total", "counter",
        "Failed local appends (retried from the stored cursor) and consumer errors.",
        static_cast<double>(d.errors));
  m.one("edgebridge_downlink_quota_pauses_total", "counter",
        "Times the downlink paused before the local disk quota.",
        static_cast<double>(d.quota_pauses));
  auto part_labels = [](const downlink_partition_view& p) {
    return labels{{"cloud_topic", p.cloud_topic},
                  {"partition", std::to_string(p.partition)},
                  {"topic", p.topic}};
  };
  m.family("edgebridge_downlink_cursor_offset", "gauge",
           "Next cloud offset to copy, stored with the local records (-1 before the first).");
  for (auto& p : d.partitions) {
    m.sample("edgebridge_downlink_cursor_offset", part_labels(p), static_cast<double>(p.cursor));
  }
  m.family("edgebridge_downlink_lag_records", "gauge",
           "Cloud high watermark minus the stored cursor, as of the last fetch (-1 unknown).");
  for (auto& p : d.partitions) {
    m.sample("edgebridge_downlink_lag_records", part_labels(p), static_cast<double>(p.lag));
  }
  m.family("edgebridge_downlink_partition_state", "gauge",
           "1 for the cloud partition's current downlink state, with its error.");
  for (auto& p : d.partitions) {
    auto ls = part_labels(p);
    ls.emplace_back("state", p.state);
    ls.emplace_back("reason", p.error);
    m.sample("edgebridge_downlink_partition_state", ls, 1);
  }
}

void downlink_json(json_writer& w, const status_snapshot& s) {
  w.open("downlink");
  if (!s.downlink) {
    w.boolean("configured", false).str("state", "off").close();
    return;
  }
  const auto& d = *s.downlink;
  int64_t lag = 0;
  for (auto& p : d.partitions) lag += std::max<int64_t>(0, p.lag);
  w.boolean("configured", true)
      .str("state", d.state)
      .str("last_error", d.last_error)
      .unum("records", d.records)
      .unum("errors", d.errors)
      .unum("quota_pauses", d.quota_pauses)
      .num("lag_records", lag);
  w.open_array("rules");
  for (auto& [cloud, local] : d.rules) w.open().str("cloud", cloud).str("local", local).close();
  w.close();
  w.open_array("partitions");
  for (auto& p : d.partitions) {
    w.open()
        .str("cloud_topic", p.cloud_topic)
        .num("partition", p.partition)
        .str("topic", p.topic)
        .str("state", p.state)
        .str("error", p.error)
        .num("cursor", p.cursor)
        .num("cloud_high_watermark", p.cloud_high_watermark)
        .num("lag", p.lag)
        .unum("records", p.records)
        .close();
  }
  w.close();
  w.close();
}

}  // namespace eb::bridge::status_detail

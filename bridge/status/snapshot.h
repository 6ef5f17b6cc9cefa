#pragma once
// One consistent reading of everything the status endpoints report, taken by
// status_service::take_snapshot() and rendered by render_metrics() (metrics.cc) and
// render_status_json() (status_json.cc).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bridge/status/traffic.h"
#include "storage/storage.h"

namespace eb::bridge {

// One partition as the mirror sees it.
struct uplink_partition {
  std::string topic;
  int32_t partition = 0;
  std::string target_topic;
  // The mirror's state name ("mirroring", "caught-up", "waiting", ...) and why, when it says.
  std::string state;
  std::string reason;
  // Every record below it is in the cloud; -1 while unknown.
  int64_t confirmed_offset = -1;
  int64_t backlog_records = 0;
  uint64_t backlog_bytes = 0;
  uint64_t delivered_records = 0;
  uint64_t delivered_bytes = 0;
};

struct uplink_view {
  std::string state;  // "connecting", "connected", "disconnected", "refusing", "stopped"
  std::string last_error;
  uint64_t resyncs = 0;
  uint64_t reconnects = 0;
  uint64_t gaps_reported = 0;
  uint64_t delivered_records = 0;
  uint64_t delivered_bytes = 0;
  uint64_t inflight_bytes = 0;
  std::vector<uplink_partition> partitions;
};

// One cloud partition the downlink copies (bridge/app.cc fills it from the downlink).
struct downlink_partition_view {
  std::string cloud_topic;
  int32_t partition = 0;
  std::string topic;  // the local topic
  std::string state;
  std::string error;
  int64_t cursor = -1;
  int64_t cloud_high_watermark = -1;
  int64_t lag = -1;
  uint64_t records = 0;
};

struct downlink_view {
  std::string state;  // "connecting", "connected", "disconnected", "paused", "stopped"
  std::string last_error;
  uint64_t quota_pauses = 0;
  uint64_t records = 0;
  uint64_t errors = 0;
  std::vector<std::pair<std::string, std::string>> rules;  // cloud, local
  std::vector<downlink_partition_view> partitions;
};

struct process_usage {
  uint64_t rss_bytes = 0;
  double cpu_seconds = 0;
};

// The backlog at one moment, for the chart and the drain rates.
struct status_sample {
  int64_t time_ms = 0;
  int64_t backlog_records = 0;
  uint64_t backlog_bytes = 0;
  std::map<std::string, uint64_t> delivered_bytes;  // per topic, cumulative
};

struct status_snapshot {
  struct partition {
    std::string topic;
    int32_t partition = 0;
    int64_t log_start = 0;
    int64_t high_watermark = 0;
    const uplink_partition* uplink = nullptr;
    // Seconds since the oldest record not yet in the cloud was written; -1 when none.
    double oldest_unmirrored_age_s = -1;
  };
  struct topic {
    std::string name;
    int32_t partitions = 0;
    int32_t priority = 0;
    int64_t end_offsets = 0;  // sum of high watermarks: records ever stored
    int64_t backlog_records = 0;
    uint64_t backlog_bytes = 0;
    double drain_rate = 0;  // bytes/s
    const topic_traffic* traffic = nullptr;
  };
  int64_t time_ms = 0;
  std::string site_id;
  double uptime_s = 0;
  uint64_t disk_quota_bytes = 0;
  int64_t sample_interval_ms = 0;
  uint64_t refusals_total = 0;
  std::vector<partition> partitions;
  std::vector<topic> topics;
  storage::usage usage;
  storage::stats storage;
  std::optional<uplink_view> uplink;
  std::optional<downlink_view> downlink;
  std::vector<storage::gap> gaps;
  std::vector<refusal> refusals;
  size_t connections = 0;
  bool listening = false;
  process_usage process;
  std::vector<status_sample> samples;
};

// /metrics (Prometheus text format 0.0.4) and /v1/status (JSON) of a snapshot.
std::string render_metrics(const status_snapshot& s, const traffic_registry& traffic);
std::string render_status_json(const status_snapshot& s);

}  // namespace eb::bridge

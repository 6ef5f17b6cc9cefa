#pragma once
// What the HTTP endpoints say: /healthz, /readyz, /metrics (Prometheus text format 0.0.4),
// /v1/status (JSON: everything the page shows), /v1/confirmed (is offset N of a partition in
// the cloud yet?) and / (the status page, bridge/status/page.h).
//
// It reads storage (offsets, usage, gaps, one stored batch per partition for the age of the
// oldest unmirrored record), the traffic counters, and the uplink through `uplink_view`, which
// bridge/app.cc fills from the mirror's status (bridge/ does not see the mirror).
//
// A sampler thread records the backlog every sample_interval into a bounded ring (the page's
// last-hour chart) and derives each topic's drain rate from the delivered bytes.
//
// Thread-safety: handle() from any thread (the HTTP thread); start/stop from the controlling
// thread.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bridge/status/snapshot.h"
#include "bridge/status/traffic.h"
#include "net/http_server.h"
#include "storage/storage.h"

namespace eb::bridge {

struct status_sources {
  storage::log_store& store;
  traffic_registry& traffic;
  std::string site_id;
  uint64_t disk_quota_bytes = 0;
  // Kafka client connections now.
  std::function<size_t()> connections;
  // The Kafka listener accepts connections.
  std::function<bool()> listening;
  // nullopt when no mirror is configured.
  std::function<std::optional<uplink_view>()> uplink;
  // nullopt when no downlink is configured.
  std::function<std::optional<downlink_view>()> downlink;
  std::chrono::milliseconds sample_interval{10'000};
  // Samples kept: one hour at the default interval.
  size_t max_samples = 360;
};

class status_service {
 public:
  explicit status_service(status_sources src);
  ~status_service();  // stop()
  status_service(const status_service&) = delete;
  status_service& operator=(const status_service&) = delete;

  // Takes a first sample and starts the sampler thread.
  void start();
  void stop();

  net::http_response handle(std::string_view method, std::string_view target);

  // The bodies, also for tests.
  std::string metrics_text();
  std::string status_json();

 private:
  status_snapshot take_snapshot();
  void record_sample();
  net::http_response confirmed(std::string_view query);
  net::http_response ready();

  status_sources _src;
  const std::chrono::steady_clock::time_point _started = std::chrono::steady_clock::now();
  mutable std::mutex _mutex;
  std::deque<status_sample> _samples;         // under _mutex
  std::map<std::string, double> _drain_rate;  // bytes/s per topic, under _mutex
  std::condition_variable _wake;
  bool _stopping = false;  // under _mutex
  std::thread _sampler;
};

}  // namespace eb::bridge

#pragma once
// Counters of what clients did, for /metrics and /v1/status: per topic produce and fetch
// requests, records and bytes, and per Kafka API the handler latency as a histogram.
//
// The hot path (handlers, the router) costs a shared-lock map lookup and relaxed atomic adds.
// Topics are counted only once known to storage (auto-created or existing), so the map is bounded
// by the topics that exist. Refusals (produce partitions answered with an error) are also kept
// as a short list of the latest, under a mutex taken only on that error path.
//
// Thread-safety: every method from any thread.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace eb::bridge {

struct topic_traffic {
  std::atomic<uint64_t> produce_requests{0};
  std::atomic<uint64_t> produce_records{0};
  std::atomic<uint64_t> produce_bytes{0};
  // Partitions of produce requests answered with an error (records not stored).
  std::atomic<uint64_t> produce_refused{0};
  std::atomic<uint64_t> fetch_requests{0};
  std::atomic<uint64_t> fetch_records{0};
  std::atomic<uint64_t> fetch_bytes{0};
};

struct refusal {
  int64_t time_ms = 0;
  std::string topic;
  int32_t partition = 0;
  std::string peer;
  std::string reason;
};

// Upper bounds (seconds) of the latency buckets, Prometheus-style cumulative on output.
inline constexpr std::array<double, 14> latency_buckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

struct latency_histogram {
  // The last bucket is +Inf.
  std::array<std::atomic<uint64_t>, latency_buckets.size() + 1> counts{};
  std::atomic<uint64_t> sum_ns{0};
  std::atomic<uint64_t> count{0};
  void observe(std::chrono::nanoseconds d);
};

class traffic_registry {
 public:
  // Kafka API keys are below this (net/messages).
  static constexpr size_t max_api_keys = 128;
  static constexpr size_t max_refusals = 50;

  // The counters of `topic`, created on first use; the reference stays valid for the registry's
  // life.
  topic_traffic& topic(std::string_view topic);
  // Snapshot order: by name.
  std::vector<std::pair<std::string, const topic_traffic*>> topics() const;

  void observe_request(int16_t api_key, std::chrono::nanoseconds d);
  // Null for a key never seen.
  const latency_histogram* request_latency(int16_t api_key) const;

  void refused(refusal r);
  uint64_t refusals_total() const { return _refusals_total.load(std::memory_order_relaxed); }
  // Newest last.
  std::vector<refusal> recent_refusals() const;

 private:
  mutable std::shared_mutex _mutex;
  std::map<std::string, std::unique_ptr<topic_traffic>, std::less<>> _topics;
  std::array<latency_histogram, max_api_keys> _latency;
  mutable std::mutex _refusals_mutex;
  std::deque<refusal> _refusals;
  std::atomic<uint64_t> _refusals_total{0};
};

}  // namespace eb::bridge

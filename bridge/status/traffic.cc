#include "bridge/status/traffic.h"

#include <algorithm>

namespace eb::bridge {

void latency_histogram::observe(std::chrono::nanoseconds d) {
  const double s = std::chrono::duration<double>(d).count();
  auto it = std::lower_bound(latency_buckets.begin(), latency_buckets.end(), s);
  counts[static_cast<size_t>(it - latency_buckets.begin())].fetch_add(1, std::memory_order_relaxed);
  sum_ns.fetch_add(static_cast<uint64_t>(std::max<int64_t>(d.count(), 0)),
                   std::memory_order_relaxed);
  count.fetch_add(1, std::memory_order_relaxed);
}

topic_traffic& traffic_registry::topic(std::string_view name) {
  {
    std::shared_lock lock(_mutex);
    if (auto it = _topics.find(name); it != _topics.end()) return *it->second;
  }
  std::unique_lock lock(_mutex);
  auto [it, inserted] = _topics.try_emplace(std::string(name));
  if (inserted) it->second = std::make_unique<topic_traffic>();
  return *it->second;
}

std::vector<std::pair<std::string, const topic_traffic*>> traffic_registry::topics() const {
  std::shared_lock lock(_mutex);
  std::vector<std::pair<std::string, const topic_traffic*>> out;
  out.reserve(_topics.size());
  for (auto& [name, t] : _topics) out.emplace_back(name, t.get());
  return out;
}

void traffic_registry::observe_request(int16_t api_key, std::chrono::nanoseconds d) {
  if (api_key < 0 || static_cast<size_t>(api_key) >= max_api_keys) return;
  _latency[static_cast<size_t>(api_key)].observe(d);
}

const latency_histogram* traffic_registry::request_latency(int16_t api_key) const {
  if (api_key < 0 || static_cast<size_t>(api_key) >= max_api_keys) return nullptr;
  auto& h = _latency[static_cast<size_t>(api_key)];
  return h.count.load(std::memory_order_relaxed) ? &h : nullptr;
}

void traffic_registry::refused(refusal r) {
  _refusals_total.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(_refusals_mutex);
  _refusals.push_back(std::move(r));
  while (_refusals.size() > max_refusals) _refusals.pop_front();
}

std::vector<refusal> traffic_registry::recent_refusals() const {
  std::lock_guard lock(_refusals_mutex);
  return {_refusals.begin(), _refusals.end()};
}

}  // namespace eb::bridge

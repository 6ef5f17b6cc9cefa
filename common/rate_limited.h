#pragma once
// A warning that may repeat (a client reconnecting in a loop, a refused batch per request) is
// logged at most once per interval, with how many were suppressed since:
//
//   static eb::rate_limited limit(std::chrono::seconds(10));
//   if (auto n = limit.admit()) spdlog::warn("... ({} like it suppressed)", *n);
//
// admit() returns the count of calls suppressed since the last admitted one when this call may
// log, nullopt otherwise. One instance per message site (or per key the caller chooses).
//
// Thread-safety: admit() from any thread; lock-free.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>

namespace eb {

class rate_limited {
 public:
  explicit rate_limited(std::chrono::steady_clock::duration interval) : _interval(interval) {}

  std::optional<uint64_t> admit() {
    const int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
    int64_t next = _next.load(std::memory_order_relaxed);
    if (now < next ||
        !_next.compare_exchange_strong(next, now + _interval.count(), std::memory_order_relaxed)) {
      _suppressed.fetch_add(1, std::memory_order_relaxed);
      return std::nullopt;
    }
    return _suppressed.exchange(0, std::memory_order_relaxed);
  }

 private:
  const std::chrono::steady_clock::duration _interval;
  std::atomic<int64_t> _next{std::numeric_limits<int64_t>::min()};
  std::atomic<uint64_t> _suppressed{0};
};

}  // namespace eb

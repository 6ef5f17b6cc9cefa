#pragma once
// Long-poll fetches waiting for new records: a registry of waiters per partition, woken from
// storage's advance listener (KIP-227 style fetch sessions are declined, so a waiter lives only as
// long as one Fetch request).
//
// Threading: storage calls the listener on its writer thread. There we only look up the waiters
// of the advanced partition under a short mutex and post a wake-up to each waiter's executor (the
// connection's strand): nothing blocks the writer. A waiter is created, awaited and destroyed on
// its owner's strand.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "storage/storage.h"

namespace eb::bridge {

class fetch_waiters;

// One waiting fetch. Registered for a set of partitions while it lives; `wait_until` returns when
// one of them advanced, the deadline passed, or the awaiting coroutine was cancelled.
class fetch_waiter {
 public:
  enum class wake { advanced, deadline, cancelled };

  ~fetch_waiter();
  fetch_waiter(const fetch_waiter&) = delete;
  fetch_waiter& operator=(const fetch_waiter&) = delete;

  // Waits on the owner's strand. A notification that arrived since the last wait (or since
  // registration) returns at once: nothing that advanced between a read and the wait is missed.
  boost::asio::awaitable<wake> wait_until(std::chrono::steady_clock::time_point deadline);

 private:
  friend class fetch_waiters;
  struct state;
  fetch_waiter(fetch_waiters& registry, std::shared_ptr<state> st) : _registry(registry), _st(st) {}

  fetch_waiters& _registry;
  std::shared_ptr<state> _st;
};

// Owned by the process; must outlive every fetch_waiter. Subscribes to the store on construction
// and unsubscribes on destruction.
class fetch_waiters {
 public:
  explicit fetch_waiters(storage::log_store& store);
  ~fetch_waiters();
  fetch_waiters(const fetch_waiters&) = delete;
  fetch_waiters& operator=(const fetch_waiters&) = delete;

  // A waiter on `ex` (the caller's strand) for `partitions`, each with the offset the fetch waits
  // beyond: an advance to a high watermark above it wakes the waiter.
  std::unique_ptr<fetch_waiter> watch(
      boost::asio::any_io_executor ex,
      const std::vector<std::pair<std::pair<std::string, int32_t>, int64_t>>& partitions);

  // Registered waiters (for tests and metrics).
  size_t size() const;

 private:
  friend class fetch_waiter;
  using key = std::pair<std::string, int32_t>;
  struct entry {
    int64_t fetch_offset;
    std::shared_ptr<fetch_waiter::state> waiter;
  };

  void on_advance(const std::string& topic, int32_t partition, int64_t high_watermark);
  void remove(const std::shared_ptr<fetch_waiter::state>& st);

  storage::log_store& _store;
  mutable std::mutex _mu;
  // Per partition, the waiters registered on it. Bounded by the connections' in-flight request
  // bounds (each waiter is one in-flight Fetch).
  std::map<key, std::vector<entry>> _by_partition;
  size_t _count = 0;
  uint64_t _token = 0;
};

}  // namespace eb::bridge

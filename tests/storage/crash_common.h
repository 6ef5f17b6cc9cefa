#pragma once
// Shared by crash_writer and crash_test: what the writer appends, so the test can rebuild it.
#include <time.h>

#include <array>
#include <chrono>
#include <string>
#include <utility>

#include "tests/storage/batch_util.h"

namespace eb::storage::test {

struct crash_topic {
  const char* name;
  int32_t partitions;
};
inline constexpr std::array<crash_topic, 2> crash_topics = {{{"c0", 2}, {"c1", 1}}};
inline const std::array<std::pair<std::string, int32_t>, 3> crash_partitions = {
    {{"c0", 0}, {"c0", 1}, {"c1", 0}}};
inline constexpr int crash_threads = 8;
inline constexpr std::chrono::milliseconds crash_fsync_interval{100};

// The payload starts with a unique id (at most 40 characters) and has a deterministic padding.
inline batch_spec crash_batch(const std::string& run_id, int thread, int i, int64_t pid,
                              int32_t seq) {
  batch_spec b;
  b.records = 1 + i % 3;
  b.producer_id = pid;
  b.epoch = pid >= 0 ? 0 : -1;
  b.base_sequence = pid >= 0 ? seq : -1;
  b.timestamp = 1'700'000'000'000 + i;
  b.payload = "r" + run_id + "-t" + std::to_string(thread) + "-" + std::to_string(i);
  b.payload.resize(40, '.');
  b.payload.append(static_cast<size_t>((i * 37) % 1500), 'p');
  return b;
}

inline int64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace eb::storage::test

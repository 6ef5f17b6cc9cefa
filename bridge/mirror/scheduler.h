#pragma once
// Which partition the mirror serves next, and the memory it may use doing so: the read-ahead
// budget shared by the partitions being drained, the bound on bytes handed to librdkafka and not
// yet confirmed, and the five-batch pipeline per partition. Plain data in, no storage and no
// librdkafka calls, so it is tested on its own; time is passed in.
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "bridge/mirror/mirror_types.h"

namespace eb::bridge::mirror_detail {

class scheduler {
 public:
  // Stored bytes read from storage at once for one partition. Large, because each read seeks
  // anew (measured on a 1 GiB drain of 1 MB batches: the mirror thread's CPU fell from 3.15 s at
  // 1 MiB reads to 1.86 s at 8 MiB). Partitions draining together share the read-ahead budget;
  // a read is never below min_read_bytes.
  static constexpr size_t read_chunk_bytes = 8u << 20;
  static constexpr size_t min_read_bytes = 1u << 20;
  static constexpr uint64_t readahead_budget = 16u << 20;

  explicit scheduler(uint64_t max_inflight_bytes) : _max_inflight_bytes(max_inflight_bytes) {}

  // What librdkafka may hold of one partition: five of its batches (batch.size bytes,
  // batch.num.messages records each), see pipeline_full. Until set, every pipeline is full.
  void set_pipeline(uint64_t bytes, uint64_t records) {
    _pipeline_bytes = bytes;
    _pipeline_records = records;
  }

  // Higher priority first, then the partition whose waiting data is oldest; nullptr if none can
  // go on now. Gives back the read-ahead of partitions that wait for something.
  part* pick(std::span<const std::unique_ptr<part>> parts, steady::time_point now);

  // Waiting for something other than the link: a resync, its target, a retry time, new data.
  static bool blocked(const part& p, steady::time_point now);
  bool ready_to_produce(const part& p, steady::time_point now) const;
  bool pipeline_full(const part& p) const;

  // How much the next storage read for a partition may return.
  size_t read_size() const;
  // Counts a chunk read for p (whose read-ahead must be empty) against the budget.
  void hold(part& p, std::vector<storage::stored_batch> chunk);
  // Drops what was read ahead for p; produced records are tracked by p.next, so nothing is lost.
  void release(part& p);
  uint64_t readahead_bytes() const { return _readahead_bytes; }

  // Whether a record costing `cost` bytes may be handed to librdkafka now. One record always
  // may, so that a record larger than the bound still goes.
  bool admits(uint64_t cost) const {
    return _inflight_bytes == 0 || _inflight_bytes + cost <= _max_inflight_bytes;
  }
  void launch(part& p, const inflight_record& r);
  // The delivery report for p's oldest record in flight (p.inflight must not be empty).
  inflight_record settle(part& p);
  // The producer is gone with everything it held: nothing is in flight any more.
  void forget_inflight(std::span<part* const> parts);
  uint64_t inflight_bytes() const { return _inflight_bytes; }
  uint64_t inflight_records() const { return _inflight_records; }

 private:
  uint64_t _max_inflight_bytes;
  uint64_t _pipeline_bytes = 0;
  uint64_t _pipeline_records = 0;
  uint64_t _readahead_bytes = 0;
  uint64_t _inflight_bytes = 0;
  uint64_t _inflight_records = 0;
};

}  // namespace eb::bridge::mirror_detail

#pragma once
// The status snapshot: status_board is what status() reads (any thread), and snapshot() builds a
// new one from the mirror thread's state every ~100 ms. Every part of the mirror notes its errors
// on the board; the board depends on nothing but the shared types.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "bridge/mirror/mirror.h"
#include "bridge/mirror/mirror_types.h"

namespace eb::bridge::mirror_detail {

class status_board {
 public:
  // The latest error (uplink, target topic or delivery), kept until the next one.
  void note_error(const std::string& e);
  void set_gaps_reported(uint64_t n);
  // Replaces the snapshot, keeping last_error and gaps_reported, which are noted on their own.
  void publish(mirror_status s);
  mirror_status get() const;

 private:
  mutable std::mutex _mutex;
  mirror_status _status;
};

// Totals kept by the scheduler and the uplink.
struct mirror_counters {
  uint64_t inflight_bytes = 0;
  uint64_t inflight_records = 0;
  uint64_t delivered_records = 0;
  uint64_t delivered_bytes = 0;
  uint64_t resyncs = 0;
  uint64_t reconnects = 0;
};

mirror_status snapshot(bool running, link_state link, const std::map<std::string, target>& targets,
                       std::span<const std::unique_ptr<part>> parts, const mirror_counters& c,
                       steady::time_point now);

}  // namespace eb::bridge::mirror_detail

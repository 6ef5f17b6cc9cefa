#pragma once
// Reports storage gaps (data the quota policy dropped before it was mirrored) from storage's gap
// ledger to the gaps topic, one JSON record per gap, and marks them reported in storage once the
// cloud confirmed them. The gaps topic is only checked and created once there is a gap to report.
//
// The gap ids: produced (handed to librdkafka) >= confirmed (the gaps part's confirmed offset
// minus one) >= marked (persisted with mark_gaps_reported).
#include <cstdint>

#include "bridge/mirror/mirror_types.h"
#include "bridge/mirror/scheduler.h"
#include "bridge/mirror/status.h"
#include "bridge/mirror/target_topics.h"
#include "bridge/mirror/uplink.h"

namespace spdlog {
class logger;
}

namespace eb::bridge::mirror_detail {

class gap_reporter {
 public:
  gap_reporter(const mirror_options& opts, storage::log_store& store, uplink& link,
               scheduler& sched, target_topics& targets, status_board& board, spdlog::logger& log);

  // The gaps topic's partition 0, resolved like the mirrored partitions.
  part& target_part() { return _part; }

  // Reads what storage last marked reported (on the mirror thread, before anything else).
  void start();
  // Attaches the gaps topic once storage has a gap to report.
  void attach();
  // The cloud's last gap report (its eb.gap_id) decides where reporting resumes.
  void resolve(const tail_answer& a);
  // Hands the gaps not yet reported to librdkafka; one round in flight at a time.
  void report();
  // Persists the confirmed reports with mark_gaps_reported.
  void mark_confirmed();
  // Writes a range skipped under on_refusal `skip` to storage's gap ledger (reported like any
  // gap), unless the ledger has it already: the same refusal met again after a resync or a
  // restart, which resume before it, is not a new gap. Empty on success, else why not.
  std::string skip(const part& p, const refusal& r);
  // After a producer teardown, what was produced and not confirmed is produced again.
  void rewind() { _produced = confirmed(); }

 private:
  uint64_t confirmed() const;
  std::string json_of(const storage::gap& g) const;

  const mirror_options& _opts;
  storage::log_store& _store;
  uplink& _uplink;
  scheduler& _sched;
  target_topics& _targets;
  status_board& _board;
  spdlog::logger& _log;
  part _part;
  uint64_t _produced = 0;  // highest gap id handed to the producer
  uint64_t _marked = 0;    // highest gap id marked reported in storage
};

}  // namespace eb::bridge::mirror_detail

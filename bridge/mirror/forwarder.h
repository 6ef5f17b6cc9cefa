#pragma once
// Moves records from storage to the uplink: reads each picked partition's stored batches into
// its read-ahead, decodes them and hands their records to librdkafka, within the scheduler's
// bounds and the bandwidth cap. Works in time slices so that a long drain does not starve the
// run loop's other duties.
#include <atomic>
#include <memory>
#include <vector>

#include "bridge/mirror/gap_reporter.h"
#include "bridge/mirror/mirror_types.h"
#include "bridge/mirror/scheduler.h"
#include "bridge/mirror/status.h"
#include "bridge/mirror/target_topics.h"
#include "bridge/mirror/token_bucket.h"
#include "bridge/mirror/uplink.h"

namespace spdlog {
class logger;
}

namespace eb::bridge::mirror_detail {

class forwarder {
 public:
  forwarder(const mirror_options& opts, storage::log_store& store, scheduler& sched, uplink& link,
            target_topics& targets, gap_reporter& gaps, status_board& board, spdlog::logger& log,
            const std::atomic<bool>& stopping)
      : _opts(opts),
        _store(store),
        _sched(sched),
        _uplink(link),
        _targets(targets),
        _gaps(gaps),
        _board(board),
        _log(log),
        _stopping(stopping),
        _bucket(opts.bandwidth_bytes_per_sec, steady::now()) {}

  // Produces as much as the in-flight bound and the token bucket allow. True if it did work.
  // Needs the producer.
  bool produce_some(std::vector<std::unique_ptr<part>>& parts);

  // The uplink cap changed (mirror thread): the bucket takes the new rate from now.
  void set_bandwidth(uint64_t bytes_per_sec) { _bucket.set_rate(bytes_per_sec, steady::now()); }

  // When the bandwidth cap lets records go again, if it held them back.
  std::optional<steady::time_point> tokens_ready_at(steady::time_point now) const;

 private:
  struct slice {
    steady::time_point end;
    int produced = 0;
    bool progressed = false;
  };
  enum class step { batch_done, pick_again, stop };

  step hand_over(part& p, slice& s);
  void batch_done(part& p);
  bool load_batch(part& p);
  bool read_chunk(part& p);
  void produce_failed(part& p, int64_t offset, rd_kafka_resp_err_t err);
  // A blocked partition's wait is over: looks at its refusal again. False if p's state changed
  // (pick again).
  bool look_again(part& p);
  // Applies p's topic's policy to a range refused before it was sent: under `skip` it goes to the
  // gap ledger and p goes on after it (true); under `pause`, or if the ledger write fails, p is
  // blocked (false).
  bool refuse(part& p, refusal r);
  // Upper bound of a record's bytes in an uplink batch, provenance headers included.
  uint64_t wire_bytes(const part& p, const net::record& r, int64_t offset) const;
  void stop_partition(part& p, std::string error);

  const mirror_options& _opts;
  storage::log_store& _store;
  scheduler& _sched;
  uplink& _uplink;
  target_topics& _targets;
  gap_reporter& _gaps;
  status_board& _board;
  spdlog::logger& _log;
  const std::atomic<bool>& _stopping;
  token_bucket _bucket;
};

}  // namespace eb::bridge::mirror_detail

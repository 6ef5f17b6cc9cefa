#pragma once
// Where each partition resumes: the cloud's tail is the truth. The last records of every target
// partition are read (kafka_client's read_tails), the newest one carrying this site's provenance
// for the source partition is found, and mirroring resumes at its eb.offset + 1. Only if the
// cloud holds nothing of ours does the storage cursor decide. Runs at start and after every
// producer teardown (a delivery with an unknown outcome), before the partition produces again.
#include <atomic>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "bridge/mirror/kafka_client.h"
#include "bridge/mirror/mirror_types.h"
#include "bridge/mirror/status.h"
#include "bridge/mirror/uplink.h"

namespace spdlog {
class logger;
}

namespace eb::bridge::mirror_detail {

class resume {
 public:
  resume(const mirror_options& opts, storage::log_store& store, uplink& link, status_board& board,
         spdlog::logger& log, const std::atomic<bool>& stopping)
      : _opts(opts), _store(store), _uplink(link), _board(board), _log(log), _stopping(stopping) {}

  // Reads the cloud's tail for every part of `parts` that is not resolved and whose target is
  // ready, and returns each with its answer once the tail has settled: two reads tail_settle
  // apart found the same high watermarks (a produce request of the previous producer, a killed
  // process or a torn-down one, may still be appended: with acks=all the high watermark moves
  // only once the followers have the records). Empty when there is nothing to read, the link is
  // down, or the read failed (then retried after a backoff, see retry_at()). Blocks for up to
  // tail_timeout.
  std::vector<std::pair<part*, tail_answer>> read(const std::vector<part*>& parts);

  // Sets p's resume point from the tail answer; p produces again from p.next.
  void apply(part& p, const tail_answer& a);

  steady::time_point retry_at() const { return _retry_at; }

 private:
  tail_query query_for(const part& p) const;
  // The cloud holds less than was once confirmed: log what is sent again, and what is lost.
  void warn_if_behind(const part& p, const tail_answer& a, int64_t resume, int64_t log_start);
  // Whether first..last is exactly a range the mirror skipped (under on_refusal `skip`), which
  // the cloud never held: the last thing before a restart or resync.
  bool skipped(const part& p, int64_t first, int64_t last) const;

  const mirror_options& _opts;
  storage::log_store& _store;
  uplink& _uplink;
  status_board& _board;
  spdlog::logger& _log;
  const std::atomic<bool>& _stopping;
  steady::time_point _retry_at{};
  // The high watermark of each target partition at the previous read ("topic\0partition"), and
  // how many reads in a row found it moving.
  std::map<std::string, int64_t> _seen_hw;
  int _unsettled_reads = 0;
};

}  // namespace eb::bridge::mirror_detail

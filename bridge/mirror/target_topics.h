#pragma once
// The cloud topics records go to: whether each exists with enough partitions (checked with
// metadata requests, created when mirror.create_target_topics is on), its state for the status,
// and its librdkafka topic handle while the producer lives.
#include <atomic>
#include <map>
#include <string>

#include "bridge/mirror/mirror_types.h"
#include "bridge/mirror/status.h"
#include "bridge/mirror/uplink.h"

namespace spdlog {
class logger;
}

namespace eb::bridge::mirror_detail {

class target_topics {
 public:
  target_topics(const mirror_options& opts, uplink& link, status_board& board, spdlog::logger& log,
                const std::atomic<bool>& stopping)
      : _opts(opts), _uplink(link), _board(board), _log(log), _stopping(stopping) {}

  // The target named `name`, added (state unknown) if new. References stay valid.
  target& get(const std::string& name);
  const std::map<std::string, target>& all() const { return _targets; }

  // Looks at every target that is not ready and whose retry time came: metadata, then
  // CreateTopics for the missing ones. Blocks for up to metadata_timeout per request. Needs the
  // producer.
  void check(steady::time_point now);

  // A produce to t failed in a way that may mean the topic changed: look at it again soon.
  void recheck_soon(target& t);

  // Reads t's max.message.bytes again (DescribeConfigs, blocking up to metadata_timeout) and
  // sets its batch budget. Done whenever t becomes ready, and when a partition paused on a record
  // too large for t looks again.
  void learn_limit(target& t);

  // Around a producer teardown: handles die before the producer, and every ready target is
  // checked again with the next one.
  void drop_handles();
  void reset_after_resync();

  // When check() has work next (now + 1 ms at the earliest), if any target is not ready.
  steady::time_point next_check(steady::time_point deadline) const;

 private:
  // Checks one target; true if the cloud does not have it and it should be created.
  bool check_one(target& t, steady::time_point now);
  void create(const std::vector<std::pair<std::string, int32_t>>& topics, steady::time_point now);
  void set_state(target& t, target_state s, const std::string& why);
  // The max.message.bytes the mirror gives the topics it creates: holds its largest batch, and
  // never below Kafka's default.
  uint64_t created_limit() const;

  const mirror_options& _opts;
  uplink& _uplink;
  status_board& _board;
  spdlog::logger& _log;
  const std::atomic<bool>& _stopping;
  std::map<std::string, target> _targets;
};

}  // namespace eb::bridge::mirror_detail

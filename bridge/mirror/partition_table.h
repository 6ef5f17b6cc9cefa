#pragma once
// The source partitions the mirror knows: one part per partition of every mirrored topic (found
// in storage's topic list, again every topic_refresh_interval and when an unknown partition
// advances), the excluded partitions, and the persisted mirror cursors of both.
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bridge/mirror/mirror_types.h"
#include "bridge/mirror/status.h"
#include "bridge/mirror/target_topics.h"

namespace spdlog {
class logger;
}

namespace eb::bridge::mirror_detail {

using partition_key = std::pair<std::string, int32_t>;

class partition_table {
 public:
  partition_table(const mirror_options& opts, storage::log_store& store, target_topics& targets,
                  status_board& board, spdlog::logger& log)
      : _opts(opts), _store(store), _targets(targets), _board(board), _log(log) {}

  // Adds the partitions of topics storage has now and updates priorities; marks the parts of
  // deleted topics (gone) and forgets their excluded entries.
  void refresh();
  // Removes the gone parts with nothing in flight and hands them over (the caller releases what
  // the scheduler holds for them). A topic created again under the name is added afterwards.
  std::vector<std::unique_ptr<part>> take_gone();
  // A topic was deleted (storage's advance listener said -1): refresh at once.
  void refresh_soon() { _next_refresh = steady::time_point{}; }
  steady::time_point next_refresh() const { return _next_refresh; }

  // New high watermarks from storage's advance listener.
  void absorb(const std::map<partition_key, int64_t>& advanced);

  // Persists the confirmed offsets (and excluded topics' high watermarks) as mirror cursors.
  void commit_cursors();

  std::vector<std::unique_ptr<part>>& parts() { return _parts; }
  const std::vector<std::unique_ptr<part>>& parts() const { return _parts; }

 private:
  struct excluded_partition {
    uint32_t topic_id = 0;
    int64_t hw = 0;
    int64_t committed = -1;
  };
  void forget_deleted(const std::map<std::string, uint32_t>& ids);
  void add_excluded(const storage::topic_info& info);
  void add_mirrored(const storage::topic_info& info);

  const mirror_options& _opts;
  storage::log_store& _store;
  target_topics& _targets;
  status_board& _board;
  spdlog::logger& _log;
  steady::time_point _next_refresh{};
  std::vector<std::unique_ptr<part>> _parts;
  std::map<partition_key, part*> _index;
  std::map<partition_key, excluded_partition> _excluded;
};

}  // namespace eb::bridge::mirror_detail

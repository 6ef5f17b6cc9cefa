#pragma once
// One group of the consumer group protocol (KIP-848): members, epochs, the target assignment and
// each member's reconciliation towards it. A pure state machine (time is passed in): the
// coordinator runs it on its strand; unit tests drive it directly.
//
// Epochs: the group epoch moves whenever what the assignment depends on changes (a member joins,
// leaves or changes its subscription; a subscribed topic appears or grows). The target
// assignment is recomputed lazily at the next heartbeat and takes the group epoch as its
// assignment epoch. Each member then moves towards its target on its own heartbeats:
//
//   stable ──target differs, member owns partitions it must give up──▶ unrevoked_partitions
//     ▲       (epoch kept; the answer lists only what it keeps)               │ heartbeat whose
//     │                                                                      │ owned partitions
//     │                                                                      ▼ no longer hold them
//     └──all target partitions free──── unreleased_partitions ◀── epoch = assignment epoch;
//                                        (others still own some)      free partitions given
//
// A partition is given to its new owner only once no other member owns it (assigned or being
// revoked): the previous owner's release comes first.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "bridge/groups/assignor.h"

namespace eb::bridge::groups {

struct consumer_group_options {
  std::chrono::milliseconds heartbeat_interval{5'000};
  std::chrono::milliseconds session_timeout{45'000};
  size_t max_group_size = 1'000;
};

struct consumer_heartbeat_args {
  std::string member_id;
  int32_t member_epoch = 0;
  std::optional<std::string> instance_id;
  std::optional<std::string> rack_id;
  int32_t rebalance_timeout_ms = -1;
  std::optional<std::vector<std::string>> topic_names;
  std::optional<std::string> topic_regex;
  std::optional<std::string> server_assignor;
  // The partitions the member owns (null: unchanged since its last heartbeat).
  std::optional<assignment> owned;
  std::string client_id;
  std::string client_host;
};

struct consumer_heartbeat_result {
  std::error_code error;
  std::string message;
  std::string member_id;
  int32_t member_epoch = 0;
  int32_t heartbeat_interval_ms = 0;
  // Set when the member must (re)learn its assignment.
  std::optional<assignment> assigned;
};

enum class member_state { stable, unrevoked_partitions, unreleased_partitions };

struct consumer_member_view {
  std::string member_id;
  std::optional<std::string> instance_id;
  std::optional<std::string> rack_id;
  int32_t member_epoch = 0;
  std::string client_id;
  std::string client_host;
  std::vector<std::string> topic_names;
  std::optional<std::string> topic_regex;
  assignment assigned;
  assignment target;
};

struct consumer_group_view {
  std::string state;  // Empty, Assigning, Reconciling, Stable
  int32_t group_epoch = 0;
  int32_t assignment_epoch = 0;
  std::string assignor;
  std::vector<consumer_member_view> members;
};

class consumer_group {
 public:
  using clock = std::chrono::steady_clock;
  consumer_group(std::string id, consumer_group_options opts) : _id(std::move(id)), _opts(opts) {}

  // ConsumerGroupHeartbeat (join: epoch 0; leave: -1, static leave: -2). The request was checked
  // for form by check_heartbeat.
  consumer_heartbeat_result heartbeat(const consumer_heartbeat_args& req,
                                      const topic_snapshot& topics, clock::time_point now);
  // Members whose session (or revocation deadline) passed: removed. Returns their ids.
  std::vector<std::string> expire(clock::time_point now);
  std::optional<clock::time_point> next_deadline() const;
  // OffsetCommit / OffsetFetch credentials: none, unknown_member_id or stale_member_epoch. An
  // empty member id with epoch < 0 is a standalone call, allowed while the group has no members
  // (commit) or always (fetch).
  std::error_code validate_offsets(const std::string& member_id, int32_t epoch, bool commit) const;

  bool empty() const { return _members.empty(); }
  size_t size() const { return _members.size(); }
  const std::string& id() const { return _id; }
  int32_t group_epoch() const { return _group_epoch; }
  int32_t assignment_epoch() const { return _assignment_epoch; }
  std::string state() const;
  consumer_group_view describe() const;
  // The member's state (tests).
  std::optional<member_state> state_of(const std::string& member_id) const;

 private:
  struct member {
    std::string id;
    std::optional<std::string> instance_id;
    std::optional<std::string> rack_id;
    int32_t epoch = 0;
    int32_t previous_epoch = -1;
    member_state state = member_state::stable;
    std::string client_id;
    std::string client_host;
    std::vector<std::string> topic_names;
    std::optional<std::string> topic_regex;
    std::optional<std::regex> regex;
    std::string server_assignor;
    std::chrono::milliseconds rebalance_timeout{300'000};
    assignment assigned;
    assignment revoking;
    // What the member was last told (epoch, partitions): an answer repeats it only on change.
    int32_t sent_epoch = -1;
    assignment sent;
    clock::time_point deadline;
    std::optional<clock::time_point> revoke_deadline;
    // Static member that left with epoch -2: kept (and its partitions) until it comes back or
    // its session ends.
    bool static_left = false;
  };

  consumer_heartbeat_result join(const consumer_heartbeat_args& req, const topic_snapshot& topics,
                                 clock::time_point now);
  consumer_heartbeat_result leave(const consumer_heartbeat_args& req);
  // Applies subscription changes; true when the group epoch must move.
  bool update_subscription(member& m, const consumer_heartbeat_args& req);
  // Bumps the group epoch when the subscribed topics' metadata changed.
  void refresh_metadata(const topic_snapshot& topics);
  void maybe_compute_target(const topic_snapshot& topics);
  void reconcile(member& m, const std::optional<assignment>& owned, clock::time_point now);
  void release(member& m, const assignment& a);
  void remove(const std::string& member_id);
  std::set<std::string> subscribed(const member& m, const topic_snapshot& topics) const;
  consumer_heartbeat_result answer(member& m, bool full);

  std::string _id;
  consumer_group_options _opts;
  std::map<std::string, member> _members;
  int32_t _group_epoch = 0;
  int32_t _assignment_epoch = 0;
  std::map<std::string, assignment> _target;
  // Who owns each partition now (assigned or being revoked).
  std::map<std::pair<topic_uuid, int32_t>, std::string> _owner;
  // The subscribed topics' metadata at the last check (name -> id, partitions).
  std::map<std::string, std::pair<topic_uuid, int32_t>> _subscribed_meta;
  std::string _assignor{default_assignor};
};

// Form checks of a heartbeat (Kafka's): invalid_request with a message, unsupported_assignor,
// invalid_regular_expression. version: the request's API version.
std::error_code check_heartbeat(const consumer_heartbeat_args& req, int16_t version,
                                std::string& message);

}  // namespace eb::bridge::groups

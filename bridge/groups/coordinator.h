#pragma once
// The classic consumer-group coordinator (Kafka's GroupCoordinator, KIP-62/KIP-345/KIP-394
// subset). edgebridge is the coordinator of every group. Each group is a state machine:
//
//   Empty ──join──▶ PreparingRebalance ──all joined / rebalance timeout──▶ CompletingRebalance
//     ▲                    ▲   │                                                │ leader's sync
//     └── last member ─────┘   └──────────── no member left ──▶ Empty          ▼
//         leaves/expires   └──── join with new metadata, leave, session expiry ─ Stable
//
// Membership lives in memory only: after a restart, members get UNKNOWN_MEMBER_ID and rejoin.
// Committed offsets are not kept here: they live in storage (see the OffsetCommit handler); the
// coordinator only validates that a commit comes from a current member and generation.
//
// Threading: all state is owned by one strand. Every public call posts to it and awaits the
// reply on the caller's executor, so handlers on any connection may call it. Waiting calls (join,
// sync) honour the caller's cancellation: the reply is abandoned and, for total cancellation
// (server stop), answered early with coordinator_not_available.
//
// Lifetime: construct on the server's executor; destroy after that executor's threads stopped
// (timers and replies are then discarded unrun).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include "bridge/groups/consumer_group.h"
#include "bridge/groups/errc.h"
#include "bridge/groups/options.h"
#include "bridge/groups/reply.h"

namespace eb::bridge::groups {

enum class group_state { empty, preparing_rebalance, completing_rebalance, stable, dead };
const char* to_string(group_state s);

struct protocol {
  std::string name;
  std::string metadata;
  bool operator==(const protocol&) const = default;
};

struct join_args {
  std::string group_id;
  // Empty for a new member.
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  std::chrono::milliseconds session_timeout{0};
  std::chrono::milliseconds rebalance_timeout{0};
  std::string protocol_type;
  std::vector<protocol> protocols;
  // JoinGroup v4+: a new member first gets member_id_required with its id (KIP-394).
  bool require_known_member_id = false;
};

struct join_member {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string metadata;
};

struct join_result {
  std::error_code error;
  int32_t generation = -1;
  std::string protocol_type;
  std::optional<std::string> protocol_name;
  std::string leader;
  // The member's id: the assigned one for a new member (also with member_id_required).
  std::string member_id;
  // Every member with its metadata for the chosen protocol: for the leader only.
  std::vector<join_member> members;
};

struct sync_args {
  std::string group_id;
  int32_t generation = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  // The leader's assignment per member; empty from followers.
  std::vector<std::pair<std::string, std::string>> assignments;
};

struct sync_result {
  std::error_code error;
  std::string protocol_type;
  std::optional<std::string> protocol_name;
  std::string assignment;
};

struct member_identity {
  std::string member_id;
  std::optional<std::string> group_instance_id;
};

// A member as DescribeGroups reports it.
struct member_view {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  std::string metadata;  // for the group's chosen protocol
  std::string assignment;
};

// A snapshot of a group, for DescribeGroups, tests and diagnostics.
struct group_view {
  group_state state = group_state::dead;  // dead: no such group in memory
  int32_t generation = 0;
  std::string protocol;
  std::string leader;
  std::vector<std::string> members;
  std::string protocol_type;
  std::vector<member_view> member_details;
};

// A group in memory, for ListGroups.
struct group_summary {
  std::string group_id;
  group_state state = group_state::empty;
  std::string protocol_type;
  // "classic" or "consumer" (ListGroups v5 GroupType); state_name as ListGroups shows it.
  std::string group_type = "classic";
  std::string state_name;
};

class coordinator {
 public:
  coordinator(boost::asio::any_io_executor ex, coordinator_options opts = {});
  ~coordinator();
  coordinator(const coordinator&) = delete;
  coordinator& operator=(const coordinator&) = delete;

  // JoinGroup: completes when the rebalance completes (every known member rejoined, or the
  // rebalance timeout passed), at once for errors, member_id_required, or a rejoin that changes
  // nothing.
  boost::asio::awaitable<join_result> join(join_args args);
  // SyncGroup: completes when the leader has sent the assignment (at once in Stable).
  boost::asio::awaitable<sync_result> sync(sync_args args);
  // Heartbeat: none, or rebalance_in_progress / unknown_member_id / illegal_generation.
  boost::asio::awaitable<std::error_code> heartbeat(std::string group_id, int32_t generation,
                                                    std::string member_id);
  // LeaveGroup: one result per identity (a member id, or a group.instance.id alone).
  boost::asio::awaitable<std::vector<std::error_code>> leave(std::string group_id,
                                                             std::vector<member_identity> members);
  // Whether an OffsetCommit with these credentials may be stored: generation -1 with no member
  // id is a standalone ("simple") commit, allowed while the group has no members. Refreshes the
  // member's session like a heartbeat.
  boost::asio::awaitable<std::error_code> validate_commit(std::string group_id, int32_t generation,
                                                          std::string member_id);
  boost::asio::awaitable<group_view> describe(std::string group_id);
  // Every group in memory (groups with members or a rebalance under way).
  boost::asio::awaitable<std::vector<group_summary>> list();
  // Whether the group may be deleted (DeleteGroups): non_empty_group while it has members.
  boost::asio::awaitable<std::error_code> check_deletable(std::string group_id);

  // Groups in memory (any thread; approximate).
  size_t group_count() const { return _group_count.load(); }

  // The consumer group protocol (KIP-848; bridge/groups/consumer_calls.cc). A group id is served
  // by one protocol at a time: while a group has members under one, a call under the other gets
  // inconsistent_group_protocol. Membership lives in memory, like the classic protocol's.
  //
  // ConsumerGroupHeartbeat: `hb` was checked with check_heartbeat; `topics` is every topic now.
  boost::asio::awaitable<consumer_heartbeat_result> consumer_heartbeat(
      std::string group_id, consumer_heartbeat_args hb,
      std::shared_ptr<const topic_snapshot> topics);
  // ConsumerGroupDescribe: nullopt when no consumer-protocol group of that id is in memory.
  boost::asio::awaitable<std::optional<consumer_group_view>> consumer_describe(
      std::string group_id);
  // OffsetCommit / OffsetFetch of a consumer-protocol group: the member and epoch check
  // (consumer_group::validate_offsets); nullopt when no such group is in memory (the classic
  // rules apply).
  boost::asio::awaitable<std::optional<std::error_code>> consumer_validate_offsets(
      std::string group_id, std::string member_id, int32_t member_epoch, bool commit);

 private:
  struct member;
  struct group;

  // Awaits a reply on the caller's executor; nullopt when the caller was cancelled first (the
  // strand then forgets the waiting reply).
  template <class T>
  boost::asio::awaitable<std::optional<T>> await_reply(std::string group_id,
                                                       std::shared_ptr<reply_slot<T>> reply);

  void do_join(join_args args, std::shared_ptr<reply_slot<join_result>> reply);
  // A join without a member id: the group is made if needed, the member (or member-to-be) added.
  void join_new_member(join_args& args, std::shared_ptr<reply_slot<join_result>> reply);
  // A known member joins again: what it means depends on the group's state.
  void rejoin(group& g, member& m, join_args& args, std::shared_ptr<reply_slot<join_result>> reply);
  void do_sync(sync_args args, std::shared_ptr<reply_slot<sync_result>> reply);
  std::error_code do_heartbeat(const std::string& group_id, int32_t generation,
                               const std::string& member_id);
  std::vector<std::error_code> do_leave(const std::string& group_id,
                                        const std::vector<member_identity>& members);
  std::error_code do_validate_commit(const std::string& group_id, int32_t generation,
                                     const std::string& member_id);
  group_view do_describe(const std::string& group_id) const;
  // A waiting join/sync whose caller went away.
  void abandon(const std::string& group_id, const void* reply);

  group* find(const std::string& group_id);
  std::string new_member_id(const std::string& client_id);
  bool supports(const group& g, const std::string& protocol_type,
                const std::vector<protocol>& protocols) const;
  void add_member(group& g, const std::string& id, join_args& args,
                  std::shared_ptr<reply_slot<join_result>> reply);
  void update_member(group& g, member& m, join_args& args,
                     std::shared_ptr<reply_slot<join_result>> reply);
  void add_pending(group& g, const std::string& id, std::chrono::milliseconds timeout);
  void remove_member(group& g, const std::string& id, const char* why);
  void prepare_rebalance(group& g, const char* why);
  void maybe_complete_join(group& g);
  void complete_join(group& g);
  join_result current_join_result(const group& g, const member& m) const;
  std::string select_protocol(const group& g) const;
  void touch(group& g, member& m);
  void arm_session(group& g, member& m);
  void on_session_timer(const std::string& group_id, const std::string& member_id);
  // Drops an Empty group with nothing pending (its offsets stay in storage). Only at the end of
  // a top-level operation: nothing may hold a group reference across it.
  void maybe_erase(const std::string& group_id);

  // KIP-848 groups: session expiry on one timer armed at the earliest deadline.
  consumer_heartbeat_result do_consumer_heartbeat(const std::string& group_id,
                                                  const consumer_heartbeat_args& hb,
                                                  const topic_snapshot& topics);
  // Not in the coroutine: gcc 12 mis-destroys its frame with this lambda inline.
  void post_consumer_heartbeat(std::string group_id, consumer_heartbeat_args hb,
                               std::shared_ptr<const topic_snapshot> topics,
                               std::shared_ptr<reply_slot<consumer_heartbeat_result>> reply);
  void arm_consumer_timer();
  void on_consumer_timer();
  bool classic_busy(const std::string& group_id);

  boost::asio::strand<boost::asio::any_io_executor> _strand;
  coordinator_options _opts;
  std::map<std::string, std::unique_ptr<consumer_group>> _consumer_groups;
  std::unique_ptr<boost::asio::steady_timer> _consumer_timer;
  std::optional<std::chrono::steady_clock::time_point> _consumer_timer_at;
  std::map<std::string, std::unique_ptr<group>> _groups;
  std::atomic<size_t> _group_count{0};
  // Stamps rebalance timers so a stale expiry (one already queued when cancelled) is ignored.
  uint64_t _next_epoch = 1;
  std::mt19937_64 _rng;
};

}  // namespace eb::bridge::groups

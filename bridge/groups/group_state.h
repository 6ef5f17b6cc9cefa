#pragma once
// The coordinator's state: a group and its members, owned by the coordinator's strand. Internal to
// bridge/groups/ (coordinator.cc: calls, joins, sessions; rebalance.cc: rebalance and sync).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bridge/groups/coordinator.h"

namespace eb::bridge::groups {

struct coordinator::member {
  explicit member(const boost::asio::any_io_executor& ex) : timer(ex) {}
  std::string id;
  std::optional<std::string> instance_id;
  std::string client_id;
  std::string client_host;
  std::chrono::milliseconds session_timeout{0};
  std::chrono::milliseconds rebalance_timeout{0};
  std::string protocol_type;
  std::vector<protocol> protocols;
  // Set while the member waits in JoinGroup / SyncGroup.
  std::shared_ptr<reply_slot<join_result>> pending_join;
  std::shared_ptr<reply_slot<sync_result>> pending_sync;
  // The connection waiting in JoinGroup went away. The member still counts as rejoined (as in
  // Kafka: the rebalance need not wait for it), but no longer as alive: unless it comes back,
  // its session expires and the group rebalances without it.
  bool join_abandoned = false;
  std::string assignment;
  // Session expiry: heartbeats move the deadline; the timer re-arms lazily when it fires, so a
  // heartbeat costs no timer operation.
  std::chrono::steady_clock::time_point deadline;
  boost::asio::steady_timer timer;
  bool timer_armed = false;
  // Join order: the first member to join leads.
  uint64_t seq = 0;
};

struct coordinator::group {
  explicit group(const boost::asio::any_io_executor& ex) : rebalance_timer(ex) {}
  std::string id;
  group_state state = group_state::empty;
  int32_t generation = 0;
  std::string protocol_type;
  std::string protocol;
  std::string leader;
  std::map<std::string, std::unique_ptr<member>> members;
  // KIP-394: ids handed out with member_id_required, expiring after the session timeout unless
  // the member joins with them.
  std::map<std::string, std::unique_ptr<boost::asio::steady_timer>> pending;
  boost::asio::steady_timer rebalance_timer;
  uint64_t rebalance_epoch = 0;
  uint64_t next_seq = 0;
};

// Used by coordinator.cc and consumer_calls.cc.
template <class T>
boost::asio::awaitable<std::optional<T>> coordinator::await_reply(
    std::string group_id, std::shared_ptr<reply_slot<T>> reply) {
  auto value = co_await reply->wait();
  if (!value) {
    // Cancelled (connection closed, server stopping): the coordinator must not keep a waiting
    // reply that nobody reads, nor count its member as rejoined.
    boost::asio::post(_strand, [this, group_id, reply] { abandon(group_id, reply.get()); });
  }
  co_return value;
}

}  // namespace eb::bridge::groups

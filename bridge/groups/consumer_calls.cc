// The coordinator's consumer group protocol calls (KIP-848): the groups' state machines
// (consumer_group.h) on the coordinator's strand, their session expiry, and the rule that one
// group id is served by one protocol at a time.
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>

#include "bridge/groups/coordinator.h"
#include "bridge/groups/group_state.h"

namespace eb::bridge::groups {

namespace asio = boost::asio;

bool coordinator::classic_busy(const std::string& group_id) {
  group* g = find(group_id);
  return g && (!g->members.empty() || !g->pending.empty());
}

consumer_heartbeat_result coordinator::do_consumer_heartbeat(const std::string& group_id,
                                                             const consumer_heartbeat_args& h,
                                                             const topic_snapshot& topics) {
  consumer_heartbeat_result r;
  r.member_id = h.member_id;
  if (classic_busy(group_id)) {
    r.error = errc::inconsistent_group_protocol;
    r.message = "Group " + group_id + " has members using the classic protocol.";
    return r;
  }
  auto it = _consumer_groups.find(group_id);
  if (it == _consumer_groups.end()) {
    if (h.member_epoch != 0) {
      // (Kafka answers GROUP_ID_NOT_FOUND for a group it never had; a group here is gone
      // after a restart too, and UNKNOWN_MEMBER_ID makes the member rejoin.)
      r.error = errc::unknown_member_id;
      return r;
    }
    if (_groups.size() + _consumer_groups.size() >= _opts.max_groups) {
      r.error = errc::coordinator_not_available;
      return r;
    }
    consumer_group_options o;
    o.heartbeat_interval = _opts.consumer_heartbeat_interval;
    o.session_timeout = _opts.consumer_session_timeout;
    o.max_group_size = _opts.max_group_size;
    it = _consumer_groups.emplace(group_id, std::make_unique<consumer_group>(group_id, o)).first;
    _group_count = _groups.size() + _consumer_groups.size();
  }
  r = it->second->heartbeat(h, topics, std::chrono::steady_clock::now());
  if (it->second->empty()) {
    _consumer_groups.erase(it);
    _group_count = _groups.size() + _consumer_groups.size();
  }
  arm_consumer_timer();
  return r;
}

void coordinator::post_consumer_heartbeat(
    std::string group_id, consumer_heartbeat_args hb, std::shared_ptr<const topic_snapshot> topics,
    std::shared_ptr<reply_slot<consumer_heartbeat_result>> reply) {
  asio::post(_strand, [this, group_id = std::move(group_id), h = std::move(hb),
                       topics = std::move(topics), reply = std::move(reply)] {
    reply->deliver(do_consumer_heartbeat(group_id, h, *topics));
  });
}

asio::awaitable<consumer_heartbeat_result> coordinator::consumer_heartbeat(
    std::string group_id, consumer_heartbeat_args hb,
    std::shared_ptr<const topic_snapshot> topics) {
  auto reply =
      std::make_shared<reply_slot<consumer_heartbeat_result>>(co_await asio::this_coro::executor);
  post_consumer_heartbeat(group_id, std::move(hb), std::move(topics), reply);
  auto r = co_await await_reply(group_id, reply);
  if (r) co_return std::move(*r);
  consumer_heartbeat_result failed;
  failed.error = errc::coordinator_not_available;
  co_return failed;
}

asio::awaitable<std::optional<consumer_group_view>> coordinator::consumer_describe(
    std::string group_id) {
  using view = std::optional<consumer_group_view>;
  auto reply = std::make_shared<reply_slot<view>>(co_await asio::this_coro::executor);
  asio::post(_strand, [this, group_id, reply] {
    auto it = _consumer_groups.find(group_id);
    reply->deliver(it == _consumer_groups.end() ? view{} : view{it->second->describe()});
  });
  auto r = co_await await_reply(group_id, reply);
  co_return r ? std::move(*r) : view{};
}

asio::awaitable<std::optional<std::error_code>> coordinator::consumer_validate_offsets(
    std::string group_id, std::string member_id, int32_t member_epoch, bool commit) {
  using answer = std::optional<std::error_code>;
  auto reply = std::make_shared<reply_slot<answer>>(co_await asio::this_coro::executor);
  asio::post(_strand, [this, group_id, member_id, member_epoch, commit, reply] {
    auto it = _consumer_groups.find(group_id);
    if (it == _consumer_groups.end()) return reply->deliver(answer{});
    reply->deliver(answer{it->second->validate_offsets(member_id, member_epoch, commit)});
  });
  auto r = co_await await_reply(group_id, reply);
  co_return r ? std::move(*r) : answer{make_error_code(errc::coordinator_not_available)};
}

void coordinator::arm_consumer_timer() {
  std::optional<std::chrono::steady_clock::time_point> next;
  for (auto& [id, g] : _consumer_groups) {
    auto d = g->next_deadline();
    if (d && (!next || *d < *next)) next = d;
  }
  if (!next) return;  // a pending wait finds nothing to do and stops
  if (_consumer_timer_at && *_consumer_timer_at <= *next) return;
  _consumer_timer_at = next;
  _consumer_timer->expires_at(*next);
  _consumer_timer->async_wait([this](boost::system::error_code ec) {
    if (ec) return;  // re-armed earlier, or the coordinator is going away
    on_consumer_timer();
  });
}

void coordinator::on_consumer_timer() {
  _consumer_timer_at.reset();
  const auto now = std::chrono::steady_clock::now();
  for (auto it = _consumer_groups.begin(); it != _consumer_groups.end();) {
    it->second->expire(now);
    if (it->second->empty()) {
      spdlog::info("consumer group {}: no members left", it->first);
      it = _consumer_groups.erase(it);
    } else {
      ++it;
    }
  }
  _group_count = _groups.size() + _consumer_groups.size();
  arm_consumer_timer();
}

}  // namespace eb::bridge::groups

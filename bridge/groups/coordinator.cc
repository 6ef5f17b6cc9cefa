#include "bridge/groups/coordinator.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>

#include "bridge/groups/group_state.h"

namespace eb::bridge::groups {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

const char* to_string(group_state s) {
  switch (s) {
    case group_state::empty:
      return "Empty";
    case group_state::preparing_rebalance:
      return "PreparingRebalance";
    case group_state::completing_rebalance:
      return "CompletingRebalance";
    case group_state::stable:
      return "Stable";
    case group_state::dead:
      return "Dead";
  }
  return "?";
}

coordinator::coordinator(asio::any_io_executor ex, coordinator_options opts)
    : _strand(asio::make_strand(ex)),
      _opts(opts),
      _consumer_timer(std::make_unique<asio::steady_timer>(_strand)),
      _rng(std::random_device{}()) {}

coordinator::~coordinator() = default;

// Calls from handlers.

// Each call posts its work to the strand and awaits the reply on the caller's executor. (The
// work lambdas are built here rather than passed into a coroutine: gcc 12 mishandles non-trivial
// lambdas taken by value as coroutine parameters.)

asio::awaitable<join_result> coordinator::join(join_args args) {
  const std::string group_id = args.group_id;
  auto reply = std::make_shared<reply_slot<join_result>>(co_await asio::this_coro::executor);
  asio::post(_strand,
             [this, a = std::move(args), reply]() mutable { do_join(std::move(a), reply); });
  auto r = co_await await_reply(group_id, reply);
  if (r) co_return std::move(*r);
  join_result failed;
  failed.error = errc::coordinator_not_available;
  co_return failed;
}

asio::awaitable<sync_result> coordinator::sync(sync_args args) {
  const std::string group_id = args.group_id;
  auto reply = std::make_shared<reply_slot<sync_result>>(co_await asio::this_coro::executor);
  asio::post(_strand,
             [this, a = std::move(args), reply]() mutable { do_sync(std::move(a), reply); });
  auto r = co_await await_reply(group_id, reply);
  if (r) co_return std::move(*r);
  sync_result failed;
  failed.error = errc::coordinator_not_available;
  co_return failed;
}

asio::awaitable<std::error_code> coordinator::heartbeat(std::string group_id, int32_t generation,
                                                        std::string member_id) {
  auto reply = std::make_shared<reply_slot<std::error_code>>(co_await asio::this_coro::executor);
  asio::post(_strand, [this, group_id, generation, member_id, reply] {
    reply->deliver(do_heartbeat(group_id, generation, member_id));
  });
  auto r = co_await await_reply(group_id, reply);
  co_return r ? *r : make_error_code(errc::coordinator_not_available);
}

asio::awaitable<std::vector<std::error_code>> coordinator::leave(
    std::string group_id, std::vector<member_identity> members) {
  const size_t n = members.size();
  auto reply = std::make_shared<reply_slot<std::vector<std::error_code>>>(
      co_await asio::this_coro::executor);
  asio::post(_strand, [this, group_id, m = std::move(members), reply] {
    reply->deliver(do_leave(group_id, m));
  });
  auto r = co_await await_reply(group_id, reply);
  if (r) co_return std::move(*r);
  co_return std::vector<std::error_code>(n, errc::coordinator_not_available);
}

asio::awaitable<std::error_code> coordinator::validate_commit(std::string group_id,
                                                              int32_t generation,
                                                              std::string member_id) {
  auto reply = std::make_shared<reply_slot<std::error_code>>(co_await asio::this_coro::executor);
  asio::post(_strand, [this, group_id, generation, member_id, reply] {
    reply->deliver(do_validate_commit(group_id, generation, member_id));
  });
  auto r = co_await await_reply(group_id, reply);
  co_return r ? *r : make_error_code(errc::coordinator_not_available);
}

asio::awaitable<group_view> coordinator::describe(std::string group_id) {
  auto reply = std::make_shared<reply_slot<group_view>>(co_await asio::this_coro::executor);
  asio::post(_strand, [this, group_id, reply] { reply->deliver(do_describe(group_id)); });
  auto r = co_await await_reply(group_id, reply);
  co_return r ? std::move(*r) : group_view{};
}

asio::awaitable<std::vector<group_summary>> coordinator::list() {
  using summaries = std::vector<group_summary>;
  auto reply = std::make_shared<reply_slot<summaries>>(co_await asio::this_coro::executor);
  asio::post(_strand, [this, reply] {
    summaries out;
    for (auto& [id, g] : _groups) {
      out.push_back({id, g->state, g->protocol_type, "classic", to_string(g->state)});
    }
    for (auto& [id, g] : _consumer_groups) {
      out.push_back({id, group_state::stable, "consumer", "consumer", g->state()});
    }
    reply->deliver(std::move(out));
  });
  auto r = co_await await_reply("", reply);
  co_return r ? std::move(*r) : summaries{};
}

asio::awaitable<std::error_code> coordinator::check_deletable(std::string group_id) {
  auto reply = std::make_shared<reply_slot<std::error_code>>(co_await asio::this_coro::executor);
  asio::post(_strand, [this, group_id, reply] {
    group* g = find(group_id);
    const bool busy =
        (g && (!g->members.empty() || !g->pending.empty())) || _consumer_groups.contains(group_id);
    reply->deliver(busy ? make_error_code(errc::non_empty_group) : std::error_code{});
  });
  auto r = co_await await_reply(group_id, reply);
  co_return r ? *r : make_error_code(errc::coordinator_not_available);
}

// ---- the state machine (on the strand) -----------------------------------------------------

coordinator::group* coordinator::find(const std::string& group_id) {
  auto it = _groups.find(group_id);
  return it == _groups.end() ? nullptr : it->second.get();
}

std::string coordinator::new_member_id(const std::string& client_id) {
  // Kafka: client id + "-" + a UUID. 128 random bits make ids unique across restarts too.
  return fmt::format("{}-{:016x}{:016x}", client_id, _rng(), _rng());
}

bool coordinator::supports(const group& g, const std::string& protocol_type,
                           const std::vector<protocol>& protocols) const {
  if (protocol_type.empty() || protocols.empty()) return false;
  if (g.members.empty()) return true;
  if (protocol_type != g.protocol_type) return false;
  // At least one of the offered protocols must be supported by every current member.
  for (auto& p : protocols) {
    bool everyone = std::all_of(g.members.begin(), g.members.end(), [&](auto& kv) {
      auto& mine = kv.second->protocols;
      return std::any_of(mine.begin(), mine.end(), [&](auto& q) { return q.name == p.name; });
    });
    if (everyone) return true;
  }
  return false;
}

namespace {

void join_failed(reply_slot<join_result>& reply, errc e, std::string member_id) {
  join_result r;
  r.error = e;
  r.member_id = std::move(member_id);
  reply.deliver(std::move(r));
}

}  // namespace

void coordinator::do_join(join_args args, std::shared_ptr<reply_slot<join_result>> reply) {
  if (args.group_id.empty()) {
    return join_failed(*reply, errc::invalid_group_id, args.member_id);
  }
  if (args.session_timeout < _opts.min_session_timeout ||
      args.session_timeout > _opts.max_session_timeout) {
    return join_failed(*reply, errc::invalid_session_timeout, args.member_id);
  }
  // v0 has no rebalance timeout: Kafka uses the session timeout.
  if (args.rebalance_timeout <= std::chrono::milliseconds::zero()) {
    args.rebalance_timeout = args.session_timeout;
  }
  if (_consumer_groups.contains(args.group_id)) {
    // The group has members under the consumer group protocol (KIP-848).
    return join_failed(*reply, errc::inconsistent_group_protocol, args.member_id);
  }
  if (args.member_id.empty()) return join_new_member(args, std::move(reply));
  group* g = find(args.group_id);
  if (!g) return join_failed(*reply, errc::unknown_member_id, args.member_id);
  if (!supports(*g, args.protocol_type, args.protocols)) {
    return join_failed(*reply, errc::inconsistent_group_protocol, args.member_id);
  }
  // A member-to-be (KIP-394) coming back with the id it was given.
  if (auto p = g->pending.find(args.member_id); p != g->pending.end()) {
    g->pending.erase(p);
    std::string id = args.member_id;
    return add_member(*g, id, args, std::move(reply));
  }
  auto it = g->members.find(args.member_id);
  if (it == g->members.end()) return join_failed(*reply, errc::unknown_member_id, args.member_id);
  rejoin(*g, *it->second, args, std::move(reply));
}

void coordinator::join_new_member(join_args& args, std::shared_ptr<reply_slot<join_result>> reply) {
  group* g = find(args.group_id);
  if (!g) {
    if (_groups.size() >= _opts.max_groups) {
      return join_failed(*reply, errc::coordinator_not_available, "");
    }
    auto fresh = std::make_unique<group>(_strand);
    fresh->id = args.group_id;
    g = fresh.get();
    _groups.emplace(args.group_id, std::move(fresh));
    _group_count = _groups.size() + _consumer_groups.size();
  }
  if (!supports(*g, args.protocol_type, args.protocols)) {
    join_failed(*reply, errc::inconsistent_group_protocol, "");
    return maybe_erase(args.group_id);
  }
  // Static membership (KIP-345) is treated as dynamic, except that a new instance with a known
  // group.instance.id replaces the old member at once instead of after its session timeout.
  if (args.group_instance_id) {
    for (auto& [id, m] : g->members) {
      if (m->instance_id == args.group_instance_id) {
        remove_member(*g, std::string(id), "replaced by a new instance");
        break;
      }
    }
  }
  if (g->members.size() + g->pending.size() >= _opts.max_group_size) {
    join_failed(*reply, errc::group_max_size_reached, "");
    return maybe_erase(args.group_id);
  }
  std::string id = new_member_id(args.client_id);
  if (args.require_known_member_id && !args.group_instance_id) {
    add_pending(*g, id, args.session_timeout);
    return join_failed(*reply, errc::member_id_required, id);
  }
  add_member(*g, id, args, std::move(reply));
}

void coordinator::rejoin(group& g, member& m, join_args& args,
                         std::shared_ptr<reply_slot<join_result>> reply) {
  switch (g.state) {
    case group_state::preparing_rebalance:
      update_member(g, m, args, std::move(reply));
      maybe_complete_join(g);
      return;
    case group_state::completing_rebalance:
      if (m.protocols == args.protocols) {
        // The member lost our JoinGroup response: send it again.
        touch(g, m);
        reply->deliver(current_join_result(g, m));
        return;
      }
      update_member(g, m, args, std::move(reply));
      prepare_rebalance(g, "a member changed its metadata");
      return;
    case group_state::stable:
      if (m.id == g.leader || m.protocols != args.protocols) {
        // The leader rejoins to reassign (e.g. it saw new partitions); anyone may change
        // its subscription.
        update_member(g, m, args, std::move(reply));
        prepare_rebalance(g, m.id == g.leader ? "the leader rejoined" : "a member changed");
        return;
      }
      touch(g, m);
      reply->deliver(current_join_result(g, m));
      return;
    case group_state::empty:
    case group_state::dead:
      return join_failed(*reply, errc::unknown_member_id, args.member_id);
  }
}

void coordinator::add_member(group& g, const std::string& id, join_args& args,
                             std::shared_ptr<reply_slot<join_result>> reply) {
  auto m = std::make_unique<member>(_strand);
  m->id = id;
  m->instance_id = args.group_instance_id;
  m->client_id = args.client_id;
  m->client_host = args.client_host;
  m->session_timeout = args.session_timeout;
  m->rebalance_timeout = args.rebalance_timeout;
  m->protocol_type = args.protocol_type;
  m->protocols = std::move(args.protocols);
  m->pending_join = std::move(reply);
  m->seq = g.next_seq++;
  if (g.members.empty()) g.protocol_type = args.protocol_type;
  if (g.leader.empty()) g.leader = id;
  spdlog::info("group {}: member {} ({}) joins", g.id, id, m->client_host);
  member& ref = *m;
  g.members.emplace(id, std::move(m));
  touch(g, ref);
  if (g.state == group_state::preparing_rebalance) {
    maybe_complete_join(g);
  } else {
    prepare_rebalance(g, "a new member joined");
  }
}

void coordinator::update_member(group& g, member& m, join_args& args,
                                std::shared_ptr<reply_slot<join_result>> reply) {
  m.protocols = std::move(args.protocols);
  m.session_timeout = args.session_timeout;
  m.rebalance_timeout = args.rebalance_timeout;
  if (m.pending_join && m.pending_join != reply) {
    // A second JoinGroup while one waits: the newer request carries the answer.
    join_result superseded;
    superseded.error = errc::rebalance_in_progress;
    superseded.member_id = m.id;
    m.pending_join->deliver(std::move(superseded));
  }
  spdlog::debug("group {}: member {} rejoins", g.id, m.id);
  m.pending_join = std::move(reply);
  m.join_abandoned = false;
  touch(g, m);
}

void coordinator::add_pending(group& g, const std::string& id, std::chrono::milliseconds timeout) {
  auto timer = std::make_unique<asio::steady_timer>(_strand, timeout);
  timer->async_wait([this, group_id = g.id, id](boost::system::error_code ec) {
    if (ec) return;
    group* gp = find(group_id);
    if (!gp) return;
    if (gp->pending.erase(id) == 0) return;
    spdlog::info("group {}: member id {} was never used: dropped", group_id, id);
    maybe_complete_join(*gp);
    maybe_erase(group_id);
  });
  g.pending.emplace(id, std::move(timer));
}

std::error_code coordinator::do_heartbeat(const std::string& group_id, int32_t generation,
                                          const std::string& member_id) {
  group* g = find(group_id);
  if (!g || g->state == group_state::empty || g->state == group_state::dead) {
    return errc::unknown_member_id;
  }
  auto it = g->members.find(member_id);
  if (it == g->members.end()) return errc::unknown_member_id;
  if (generation != g->generation) return errc::illegal_generation;
  touch(*g, *it->second);
  if (g->state == group_state::preparing_rebalance) return errc::rebalance_in_progress;
  return {};
}

std::vector<std::error_code> coordinator::do_leave(const std::string& group_id,
                                                   const std::vector<member_identity>& members) {
  std::vector<std::error_code> out;
  out.reserve(members.size());
  group* g = find(group_id);
  for (auto& who : members) {
    if (!g) {
      out.push_back(errc::unknown_member_id);
      continue;
    }
    std::string id = who.member_id;
    if (id.empty() && who.group_instance_id) {
      for (auto& [mid, m] : g->members) {
        if (m->instance_id == who.group_instance_id) {
          id = mid;
          break;
        }
      }
    }
    if (g->pending.erase(id) > 0) {
      out.push_back({});
      maybe_complete_join(*g);
      continue;
    }
    if (id.empty() || !g->members.count(id)) {
      out.push_back(errc::unknown_member_id);
      continue;
    }
    remove_member(*g, id, "left the group");
    out.push_back({});
  }
  if (g) maybe_erase(group_id);
  return out;
}

void coordinator::remove_member(group& g, const std::string& id, const char* why) {
  auto it = g.members.find(id);
  if (it == g.members.end()) return;
  spdlog::info("group {}: member {} {}", g.id, id, why);
  member& m = *it->second;
  if (m.pending_join) {
    join_result r;
    r.error = errc::unknown_member_id;
    r.member_id = id;
    m.pending_join->deliver(std::move(r));
  }
  if (m.pending_sync) {
    sync_result r;
    r.error = errc::unknown_member_id;
    m.pending_sync->deliver(std::move(r));
  }
  g.members.erase(it);
  if (g.leader == id) {
    g.leader.clear();
    const member* next = nullptr;
    for (auto& [mid, other] : g.members) {
      if (!next || other->seq < next->seq) next = other.get();
    }
    if (next) g.leader = next->id;
  }
  switch (g.state) {
    case group_state::stable:
    case group_state::completing_rebalance:
      prepare_rebalance(g, "a member left");
      break;
    case group_state::preparing_rebalance:
      maybe_complete_join(g);
      break;
    case group_state::empty:
    case group_state::dead:
      break;
  }
}

std::error_code coordinator::do_validate_commit(const std::string& group_id, int32_t generation,
                                                const std::string& member_id) {
  group* g = find(group_id);
  const bool simple = generation < 0 && member_id.empty();
  if (!g) {
    // No group in memory: a standalone consumer, or a member of a generation we no longer
    // know (e.g. from before a restart), which must rejoin.
    return generation < 0 ? std::error_code{} : make_error_code(errc::illegal_generation);
  }
  if (generation < 0 && g->state == group_state::empty) return {};
  if (simple) {
    // While the group has members, only they may commit.
    return errc::unknown_member_id;
  }
  auto it = g->members.find(member_id);
  if (it == g->members.end()) return errc::unknown_member_id;
  if (generation != g->generation) return errc::illegal_generation;
  // The member has its JoinGroup answer but not yet its assignment.
  if (g->state == group_state::completing_rebalance) return errc::rebalance_in_progress;
  touch(*g, *it->second);
  return {};
}

group_view coordinator::do_describe(const std::string& group_id) const {
  group_view v;
  auto it = _groups.find(group_id);
  if (it == _groups.end()) return v;
  const group& g = *it->second;
  v.state = g.state;
  v.generation = g.generation;
  v.protocol = g.protocol;
  v.leader = g.leader;
  v.protocol_type = g.protocol_type;
  for (auto& [id, m] : g.members) {
    v.members.push_back(id);
    auto& d = v.member_details.emplace_back();
    d.member_id = id;
    d.group_instance_id = m->instance_id;
    d.client_id = m->client_id;
    d.client_host = m->client_host;
    for (auto& p : m->protocols) {
      if (p.name == g.protocol) d.metadata = p.metadata;
    }
    d.assignment = m->assignment;
  }
  return v;
}

void coordinator::abandon(const std::string& group_id, const void* reply) {
  group* g = find(group_id);
  if (!g) return;
  for (auto& [id, m] : g->members) {
    if (m->pending_join.get() == reply) {
      spdlog::info("group {}: member {}: JoinGroup abandoned", group_id, id);
      m->join_abandoned = true;
      return;
    }
    if (m->pending_sync.get() == reply) {
      m->pending_sync.reset();
      return;
    }
  }
}

void coordinator::touch(group& g, member& m) {
  m.deadline = clock::now() + m.session_timeout;
  arm_session(g, m);
}

void coordinator::arm_session(group& g, member& m) {
  if (m.timer_armed) return;
  m.timer_armed = true;
  m.timer.expires_at(m.deadline);
  m.timer.async_wait([this, group_id = g.id, member_id = m.id](boost::system::error_code ec) {
    if (ec) return;  // the member (and its timer) is gone
    on_session_timer(group_id, member_id);
  });
}

void coordinator::on_session_timer(const std::string& group_id, const std::string& member_id) {
  group* g = find(group_id);
  if (!g) return;
  auto it = g->members.find(member_id);
  if (it == g->members.end()) return;
  member& m = *it->second;
  m.timer_armed = false;
  // A member waiting in JoinGroup or SyncGroup is alive by definition (Kafka's rule).
  if ((m.pending_join && !m.join_abandoned) || m.pending_sync) {
    m.deadline = clock::now() + m.session_timeout;
  }
  if (clock::now() < m.deadline) {
    arm_session(*g, m);
    return;
  }
  remove_member(*g, member_id, "session timed out");
  maybe_erase(group_id);
}

void coordinator::maybe_erase(const std::string& group_id) {
  auto it = _groups.find(group_id);
  if (it == _groups.end()) return;
  group& g = *it->second;
  if (!g.members.empty() || !g.pending.empty()) return;
  if (g.state != group_state::empty && g.state != group_state::preparing_rebalance) return;
  _groups.erase(it);
  _group_count = _groups.size() + _consumer_groups.size();
}

}  // namespace eb::bridge::groups

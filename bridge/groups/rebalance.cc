// The rebalance of a group: preparing it, completing the join (leader, protocol), answering the
// members' JoinGroup and SyncGroup. Runs on the coordinator's strand.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>

#include "bridge/groups/coordinator.h"
#include "bridge/groups/group_state.h"

namespace eb::bridge::groups {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

void coordinator::prepare_rebalance(group& g, const char* why) {
  if (g.state == group_state::completing_rebalance) {
    // Followers waiting for an assignment of a generation that will not complete.
    for (auto& [id, m] : g.members) {
      m->assignment.clear();
      if (m->pending_sync) {
        sync_result r;
        r.error = errc::rebalance_in_progress;
        m->pending_sync->deliver(std::move(r));
        m->pending_sync.reset();
      }
    }
  }
  if (g.state != group_state::preparing_rebalance) {
    spdlog::info("group {}: rebalancing (generation {}): {}", g.id, g.generation, why);
    g.state = group_state::preparing_rebalance;
    // Members have until the largest rebalance timeout among them to rejoin.
    std::chrono::milliseconds timeout{0};
    for (auto& [id, m] : g.members) timeout = std::max(timeout, m->rebalance_timeout);
    const uint64_t epoch = _next_epoch++;
    g.rebalance_epoch = epoch;
    g.rebalance_timer.expires_after(timeout);
    g.rebalance_timer.async_wait([this, group_id = g.id, epoch](boost::system::error_code ec) {
      if (ec) return;
      group* gp = find(group_id);
      if (!gp || gp->rebalance_epoch != epoch) return;
      if (gp->state != group_state::preparing_rebalance) return;
      spdlog::info(
          "group {}: rebalance timeout: completing without the members that did not rejoin",
          group_id);
      complete_join(*gp);
      maybe_erase(group_id);
    });
  }
  maybe_complete_join(g);
}

void coordinator::maybe_complete_join(group& g) {
  if (g.state != group_state::preparing_rebalance || !g.pending.empty()) return;
  for (auto& [id, m] : g.members) {
    if (!m->pending_join) return;
  }
  complete_join(g);
}

void coordinator::complete_join(group& g) {
  g.rebalance_epoch = 0;  // a queued expiry of this rebalance is now stale
  g.rebalance_timer.cancel();
  std::vector<std::string> gone;
  for (auto& [id, m] : g.members) {
    if (!m->pending_join) gone.push_back(id);
  }
  for (auto& id : gone) {
    spdlog::info("group {}: member {} did not rejoin in time: removed", g.id, id);
    auto it = g.members.find(id);
    if (it->second->pending_sync) {
      sync_result r;
      r.error = errc::unknown_member_id;
      it->second->pending_sync->deliver(std::move(r));
    }
    g.members.erase(it);
  }
  ++g.generation;
  if (g.members.empty()) {
    g.state = group_state::empty;
    g.protocol.clear();
    g.protocol_type.clear();
    g.leader.clear();
    spdlog::info("group {}: empty (generation {})", g.id, g.generation);
    return;
  }
  if (!g.members.count(g.leader)) {
    auto first = std::min_element(g.members.begin(), g.members.end(),
                                  [](auto& a, auto& b) { return a.second->seq < b.second->seq; });
    g.leader = first->first;
  }
  g.protocol = select_protocol(g);
  g.state = group_state::completing_rebalance;
  spdlog::info("group {}: generation {} with {} member(s), protocol {}, leader {}", g.id,
               g.generation, g.members.size(), g.protocol, g.leader);
  for (auto& [id, m] : g.members) {
    m->assignment.clear();
    auto reply = std::move(m->pending_join);
    m->pending_join.reset();
    m->join_abandoned = false;
    touch(g, *m);
    reply->deliver(current_join_result(g, *m));
  }
}

std::string coordinator::select_protocol(const group& g) const {
  // Candidates: protocols every member supports; each member votes for its most preferred
  // candidate (Kafka's rule). Ties go to the earlier candidate in the first member's order.
  const member* first = nullptr;
  for (auto& [id, m] : g.members) {
    if (!first || m->seq < first->seq) first = m.get();
  }
  std::vector<std::string> candidates;
  for (auto& p : first->protocols) {
    bool everyone = std::all_of(g.members.begin(), g.members.end(), [&](auto& kv) {
      auto& mine = kv.second->protocols;
      return std::any_of(mine.begin(), mine.end(), [&](auto& q) { return q.name == p.name; });
    });
    if (everyone) candidates.push_back(p.name);
  }
  if (candidates.empty()) return first->protocols.empty() ? "" : first->protocols.front().name;
  std::map<std::string, int> votes;
  for (auto& [id, m] : g.members) {
    for (auto& p : m->protocols) {
      if (std::find(candidates.begin(), candidates.end(), p.name) != candidates.end()) {
        ++votes[p.name];
        break;
      }
    }
  }
  std::string best = candidates.front();
  for (auto& c : candidates) {
    if (votes[c] > votes[best]) best = c;
  }
  return best;
}

join_result coordinator::current_join_result(const group& g, const member& m) const {
  join_result r;
  r.generation = g.generation;
  r.protocol_type = g.protocol_type;
  r.protocol_name = g.protocol;
  r.leader = g.leader;
  r.member_id = m.id;
  if (m.id == g.leader) {
    std::vector<const member*> ordered;
    for (auto& [id, other] : g.members) ordered.push_back(other.get());
    std::sort(ordered.begin(), ordered.end(),
              [](const member* a, const member* b) { return a->seq < b->seq; });
    for (const member* other : ordered) {
      auto& jm = r.members.emplace_back();
      jm.member_id = other->id;
      jm.group_instance_id = other->instance_id;
      for (auto& p : other->protocols) {
        if (p.name == g.protocol) {
          jm.metadata = p.metadata;
          break;
        }
      }
    }
  }
  return r;
}

void coordinator::do_sync(sync_args args, std::shared_ptr<reply_slot<sync_result>> reply) {
  auto fail = [&](errc e) {
    sync_result r;
    r.error = e;
    reply->deliver(std::move(r));
  };
  group* g = find(args.group_id);
  if (!g) return fail(errc::unknown_member_id);
  auto it = g->members.find(args.member_id);
  if (it == g->members.end()) return fail(errc::unknown_member_id);
  member& m = *it->second;
  if (args.generation != g->generation) return fail(errc::illegal_generation);
  if ((args.protocol_type && *args.protocol_type != g->protocol_type) ||
      (args.protocol_name && *args.protocol_name != g->protocol)) {
    return fail(errc::inconsistent_group_protocol);
  }
  switch (g->state) {
    case group_state::empty:
    case group_state::dead:
      return fail(errc::unknown_member_id);
    case group_state::preparing_rebalance:
      return fail(errc::rebalance_in_progress);
    case group_state::completing_rebalance: {
      touch(*g, m);
      if (m.pending_sync) {
        sync_result superseded;
        superseded.error = errc::rebalance_in_progress;
        m.pending_sync->deliver(std::move(superseded));
      }
      m.pending_sync = std::move(reply);
      if (m.id != g->leader) return;
      for (auto& [member_id, assignment] : args.assignments) {
        if (auto target = g->members.find(member_id); target != g->members.end()) {
          target->second->assignment = std::move(assignment);
        }
      }
      g->state = group_state::stable;
      spdlog::info("group {}: generation {} stable", g->id, g->generation);
      for (auto& [id, other] : g->members) {
        if (!other->pending_sync) continue;
        sync_result r;
        r.protocol_type = g->protocol_type;
        r.protocol_name = g->protocol;
        r.assignment = other->assignment;
        other->pending_sync->deliver(std::move(r));
        other->pending_sync.reset();
      }
      return;
    }
    case group_state::stable: {
      touch(*g, m);
      sync_result r;
      r.protocol_type = g->protocol_type;
      r.protocol_name = g->protocol;
      r.assignment = m.assignment;
      reply->deliver(std::move(r));
      return;
    }
  }
}

}  // namespace eb::bridge::groups

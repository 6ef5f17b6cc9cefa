#include "bridge/groups/consumer_group.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "bridge/groups/errc.h"

namespace eb::bridge::groups {

namespace {

// Bounds on what a client may send: a regex longer than this is refused (std::regex compiles
// and matches by backtracking).
constexpr size_t max_regex_bytes = 1'000;

}  // namespace

std::error_code check_heartbeat(const consumer_heartbeat_args& req, int16_t version,
                                std::string& message) {
  auto invalid = [&](const char* why) {
    message = why;
    return make_error_code(errc::invalid_request);
  };
  if (req.member_epoch < -2) return invalid("MemberEpoch is invalid.");
  if (version >= 1 && req.member_id.empty()) return invalid("MemberId can't be empty.");
  if (req.instance_id && req.instance_id->empty()) return invalid("InstanceId can't be empty.");
  if (req.member_epoch == -2 && !req.instance_id) return invalid("InstanceId can't be null.");
  if (req.member_epoch == 0) {
    if (req.rebalance_timeout_ms < 0) {
      return invalid("RebalanceTimeoutMs must be provided in first request.");
    }
    if (!req.owned || !req.owned->empty()) {
      return invalid("TopicPartitions must be empty when (re-)joining.");
    }
    if (!req.topic_names && !req.topic_regex) {
      return invalid("SubscribedTopicNames or SubscribedTopicRegex must be set in first request.");
    }
  }
  if (req.server_assignor && !req.server_assignor->empty() &&
      !known_assignor(*req.server_assignor)) {
    message = "ServerAssignor " + *req.server_assignor + " is not supported.";
    return errc::unsupported_assignor;
  }
  if (req.topic_regex && !req.topic_regex->empty()) {
    if (req.topic_regex->size() > max_regex_bytes) {
      message = "SubscribedTopicRegex is longer than 1000 bytes.";
      return errc::invalid_regular_expression;
    }
    try {
      std::regex re(*req.topic_regex, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      message = "SubscribedTopicRegex " + *req.topic_regex + " is invalid: " + e.what();
      return errc::invalid_regular_expression;
    }
  }
  return {};
}

consumer_heartbeat_result consumer_group::heartbeat(const consumer_heartbeat_args& req,
                                                    const topic_snapshot& topics,
                                                    clock::time_point now) {
  if (req.member_epoch < 0) return leave(req);
  if (req.member_epoch == 0) return join(req, topics, now);
  consumer_heartbeat_result r;
  r.member_id = req.member_id;
  auto it = _members.find(req.member_id);
  if (it == _members.end()) {
    r.error = errc::unknown_member_id;
    return r;
  }
  member& m = it->second;
  if (req.member_epoch != m.epoch || m.static_left) {
    // A member that lost our last answer may repeat its previous epoch, if it owns nothing it
    // was not given (Kafka's rule).
    const bool lost_answer = !m.static_left && req.member_epoch == m.previous_epoch &&
                             (!req.owned || minus(*req.owned, m.assigned).empty());
    if (!lost_answer) {
      r.error = errc::fenced_member_epoch;
      r.message = "The consumer group member has a smaller or larger member epoch (" +
                  std::to_string(req.member_epoch) + ") than the one known by the group " +
                  "coordinator (" + std::to_string(m.epoch) + ").";
      return r;
    }
  }
  m.deadline = now + _opts.session_timeout;
  if (update_subscription(m, req)) ++_group_epoch;
  refresh_metadata(topics);
  maybe_compute_target(topics);
  reconcile(m, req.owned, now);
  return answer(m, req.owned.has_value() || req.member_epoch != m.epoch);
}

consumer_heartbeat_result consumer_group::join(const consumer_heartbeat_args& req,
                                               const topic_snapshot& topics,
                                               clock::time_point now) {
  consumer_heartbeat_result r;
  r.member_id = req.member_id;
  bool bump = false;
  auto it = _members.find(req.member_id);
  if (it != _members.end()) {
    // The member rejoins (after being fenced, say): it owns nothing any more.
    member& m = it->second;
    release(m, m.assigned);
    release(m, m.revoking);
    m.assigned.clear();
    m.revoking.clear();
    m.revoke_deadline.reset();
    m.state = member_state::stable;
    m.previous_epoch = -1;
    m.epoch = 0;
    m.sent_epoch = -1;
    m.static_left = false;
  } else {
    member* replaced = nullptr;
    if (req.instance_id) {
      for (auto& [id, other] : _members) {
        if (other.instance_id == req.instance_id) replaced = &other;
      }
      if (replaced && !replaced->static_left) {
        r.error = errc::unreleased_instance_id;
        r.message = "Static member " + replaced->id + " with instance id " + *req.instance_id +
                    " is not released.";
        return r;
      }
    }
    if (replaced) {
      // A static member comes back under a new member id: it takes over the old one's state
      // and partitions.
      member next = std::move(*replaced);
      const std::string old_id = next.id;
      next.id = req.member_id;
      next.static_left = false;
      next.sent_epoch = -1;
      for (auto& [key, owner] : _owner) {
        if (owner == old_id) owner = next.id;
      }
      if (auto t = _target.find(old_id); t != _target.end()) {
        _target[next.id] = std::move(t->second);
        _target.erase(old_id);
      }
      _members.erase(old_id);
      spdlog::info("consumer group {}: static member {} replaces {}", _id, next.id, old_id);
      it = _members.emplace(next.id, std::move(next)).first;
    } else {
      if (_members.size() >= _opts.max_group_size) {
        r.error = errc::group_max_size_reached;
        r.message = "The consumer group has reached its maximum capacity of " +
                    std::to_string(_opts.max_group_size) + " members.";
        return r;
      }
      member fresh;
      fresh.id = req.member_id;
      fresh.instance_id = req.instance_id;
      spdlog::info("consumer group {}: member {} ({}) joins", _id, fresh.id, req.client_host);
      it = _members.emplace(fresh.id, std::move(fresh)).first;
      bump = true;
    }
  }
  member& m = it->second;
  m.client_id = req.client_id;
  m.client_host = req.client_host;
  m.deadline = now + _opts.session_timeout;
  if (update_subscription(m, req)) bump = true;
  if (bump) ++_group_epoch;
  refresh_metadata(topics);
  maybe_compute_target(topics);
  reconcile(m, req.owned, now);
  return answer(m, true);
}

consumer_heartbeat_result consumer_group::leave(const consumer_heartbeat_args& req) {
  consumer_heartbeat_result r;
  r.member_id = req.member_id;
  r.member_epoch = req.member_epoch;
  auto it = _members.find(req.member_id);
  if (it == _members.end() && req.instance_id) {
    it = std::find_if(_members.begin(), _members.end(),
                      [&](auto& kv) { return kv.second.instance_id == req.instance_id; });
  }
  if (it == _members.end()) {
    r.error = errc::unknown_member_id;
    return r;
  }
  if (req.member_epoch == -2 && it->second.instance_id) {
    // A static member leaves for a while: its partitions wait for it until its session ends.
    spdlog::info("consumer group {}: static member {} leaves temporarily", _id, it->first);
    it->second.static_left = true;
    return r;
  }
  spdlog::info("consumer group {}: member {} leaves", _id, it->first);
  remove(it->first);
  ++_group_epoch;
  return r;
}

bool consumer_group::update_subscription(member& m, const consumer_heartbeat_args& req) {
  bool changed = false;
  if (req.topic_names) {
    std::vector<std::string> names = *req.topic_names;
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    if (names != m.topic_names) {
      m.topic_names = std::move(names);
      changed = true;
    }
  }
  if (req.topic_regex) {
    std::optional<std::string> next;
    if (!req.topic_regex->empty()) next = *req.topic_regex;
    if (next != m.topic_regex) {
      m.topic_regex = next;
      m.regex.reset();
      // Checked by check_heartbeat; compiled once per change.
      if (next) m.regex.emplace(*next, std::regex::ECMAScript);
      changed = true;
    }
  }
  if (req.server_assignor && *req.server_assignor != m.server_assignor) {
    m.server_assignor = *req.server_assignor;
    changed = true;
  }
  if (req.rebalance_timeout_ms > 0) {
    m.rebalance_timeout = std::chrono::milliseconds(req.rebalance_timeout_ms);
  }
  if (req.rack_id) m.rack_id = *req.rack_id;
  return changed;
}

std::set<std::string> consumer_group::subscribed(const member& m,
                                                 const topic_snapshot& topics) const {
  std::set<std::string> out;
  for (auto& name : m.topic_names) {
    if (topics.contains(name)) out.insert(name);
  }
  if (m.regex) {
    for (auto& [name, t] : topics) {
      if (std::regex_match(name, *m.regex)) out.insert(name);
    }
  }
  return out;
}

void consumer_group::refresh_metadata(const topic_snapshot& topics) {
  std::map<std::string, std::pair<topic_uuid, int32_t>> now;
  for (auto& [id, m] : _members) {
    for (auto& name : subscribed(m, topics)) {
      auto& t = topics.at(name);
      now[name] = {t.id, t.partitions};
    }
  }
  if (now != _subscribed_meta) {
    _subscribed_meta = std::move(now);
    ++_group_epoch;
  }
}

void consumer_group::maybe_compute_target(const topic_snapshot& topics) {
  if (_group_epoch <= _assignment_epoch) return;
  // The assignor most members name (ties: by name); uniform when none names one.
  std::map<std::string, int> votes;
  for (auto& [id, m] : _members) {
    if (!m.server_assignor.empty()) ++votes[m.server_assignor];
  }
  _assignor = std::string(default_assignor);
  int best = 0;
  for (auto& [name, n] : votes) {
    if (n > best) {
      best = n;
      _assignor = name;
    }
  }
  std::vector<assignor_member> members;
  for (auto& [id, m] : _members) members.push_back({id, subscribed(m, topics)});
  _target = assign(_assignor, members, topics, _target);
  _assignment_epoch = _group_epoch;
}

void consumer_group::release(member& m, const assignment& a) {
  for (auto& [id, ps] : a) {
    for (int32_t p : ps) {
      auto it = _owner.find({id, p});
      if (it != _owner.end() && it->second == m.id) _owner.erase(it);
    }
  }
}

void consumer_group::reconcile(member& m, const std::optional<assignment>& owned,
                               clock::time_point now) {
  if (m.state == member_state::unrevoked_partitions) {
    // Revocation is complete once the member reports owned partitions without them.
    if (!owned || !intersect(*owned, m.revoking).empty()) return;
    release(m, m.revoking);
    m.revoking.clear();
    m.revoke_deadline.reset();
    m.state = member_state::stable;
  }
  if (m.epoch == _assignment_epoch && m.state == member_state::stable) return;
  static const assignment none;
  auto t = _target.find(m.id);
  const assignment& target = t == _target.end() ? none : t->second;
  assignment revoke = minus(m.assigned, target);
  if (!revoke.empty()) {
    m.assigned = intersect(m.assigned, target);
    m.revoking = std::move(revoke);
    m.state = member_state::unrevoked_partitions;
    m.revoke_deadline = now + m.rebalance_timeout;
    return;
  }
  if (m.epoch != _assignment_epoch) {
    m.previous_epoch = m.epoch;
    m.epoch = _assignment_epoch;
  }
  for (auto& [id, ps] : minus(target, m.assigned)) {
    for (int32_t p : ps) {
      auto [it, free] = _owner.try_emplace({id, p}, m.id);
      if (free || it->second == m.id) m.assigned[id].insert(p);
    }
  }
  m.state = minus(target, m.assigned).empty() ? member_state::stable
                                              : member_state::unreleased_partitions;
}

consumer_heartbeat_result consumer_group::answer(member& m, bool full) {
  consumer_heartbeat_result r;
  r.member_id = m.id;
  r.member_epoch = m.epoch;
  r.heartbeat_interval_ms = static_cast<int32_t>(_opts.heartbeat_interval.count());
  if (full || m.sent_epoch != m.epoch || m.sent != m.assigned) {
    r.assigned = m.assigned;
    m.sent_epoch = m.epoch;
    m.sent = m.assigned;
  }
  return r;
}

void consumer_group::remove(const std::string& member_id) {
  auto it = _members.find(member_id);
  if (it == _members.end()) return;
  release(it->second, it->second.assigned);
  release(it->second, it->second.revoking);
  _target.erase(member_id);
  _members.erase(it);
}

std::vector<std::string> consumer_group::expire(clock::time_point now) {
  std::vector<std::string> gone;
  for (auto& [id, m] : _members) {
    if (now >= m.deadline) {
      spdlog::info("consumer group {}: member {} session timed out", _id, id);
      gone.push_back(id);
    } else if (m.revoke_deadline && now >= *m.revoke_deadline) {
      spdlog::info("consumer group {}: member {} did not revoke its partitions in time", _id, id);
      gone.push_back(id);
    }
  }
  for (auto& id : gone) remove(id);
  if (!gone.empty()) ++_group_epoch;
  return gone;
}

std::optional<consumer_group::clock::time_point> consumer_group::next_deadline() const {
  std::optional<clock::time_point> next;
  for (auto& [id, m] : _members) {
    if (!next || m.deadline < *next) next = m.deadline;
    if (m.revoke_deadline && *m.revoke_deadline < *next) next = *m.revoke_deadline;
  }
  return next;
}

std::error_code consumer_group::validate_offsets(const std::string& member_id, int32_t epoch,
                                                 bool commit) const {
  if (member_id.empty() && epoch < 0) {
    return commit && !_members.empty() ? make_error_code(errc::unknown_member_id)
                                       : std::error_code{};
  }
  auto it = _members.find(member_id);
  if (it == _members.end()) return errc::unknown_member_id;
  if (epoch != it->second.epoch) return errc::stale_member_epoch;
  return {};
}

std::string consumer_group::state() const {
  if (_members.empty()) return "Empty";
  if (_group_epoch > _assignment_epoch) return "Assigning";
  for (auto& [id, m] : _members) {
    if (m.epoch != _assignment_epoch || m.state != member_state::stable) return "Reconciling";
  }
  return "Stable";
}

std::optional<member_state> consumer_group::state_of(const std::string& member_id) const {
  auto it = _members.find(member_id);
  if (it == _members.end()) return std::nullopt;
  return it->second.state;
}

consumer_group_view consumer_group::describe() const {
  consumer_group_view v;
  v.state = state();
  v.group_epoch = _group_epoch;
  v.assignment_epoch = _assignment_epoch;
  v.assignor = _assignor;
  for (auto& [id, m] : _members) {
    auto& d = v.members.emplace_back();
    d.member_id = id;
    d.instance_id = m.instance_id;
    d.rack_id = m.rack_id;
    d.member_epoch = m.epoch;
    d.client_id = m.client_id;
    d.client_host = m.client_host;
    d.topic_names = m.topic_names;
    d.topic_regex = m.topic_regex;
    d.assigned = m.assigned;
    if (auto t = _target.find(id); t != _target.end()) d.target = t->second;
  }
  return v;
}

}  // namespace eb::bridge::groups

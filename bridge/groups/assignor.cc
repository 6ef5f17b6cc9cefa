#include "bridge/groups/assignor.h"

#include <algorithm>
#include <tuple>

namespace eb::bridge::groups {

size_t partition_count(const assignment& a) {
  size_t n = 0;
  for (auto& [id, ps] : a) n += ps.size();
  return n;
}

assignment minus(const assignment& a, const assignment& b) {
  assignment out;
  for (auto& [id, ps] : a) {
    auto it = b.find(id);
    for (int32_t p : ps) {
      if (it == b.end() || !it->second.contains(p)) out[id].insert(p);
    }
  }
  return out;
}

assignment intersect(const assignment& a, const assignment& b) {
  assignment out;
  for (auto& [id, ps] : a) {
    auto it = b.find(id);
    if (it == b.end()) continue;
    for (int32_t p : ps) {
      if (it->second.contains(p)) out[id].insert(p);
    }
  }
  return out;
}

void add_all(assignment& into, const assignment& from) {
  for (auto& [id, ps] : from) into[id].insert(ps.begin(), ps.end());
}

bool contains(const assignment& a, const topic_uuid& id, int32_t partition) {
  auto it = a.find(id);
  return it != a.end() && it->second.contains(partition);
}

void normalize(assignment& a) {
  std::erase_if(a, [](auto& kv) { return kv.second.empty(); });
}

bool known_assignor(std::string_view name) { return name == "uniform" || name == "range"; }

namespace {

std::map<std::string, assignment> range(const std::vector<assignor_member>& members,
                                        const topic_snapshot& topics) {
  std::map<std::string, assignment> out;
  for (auto& m : members) out[m.id];
  std::map<std::string, std::vector<std::string>> subscribers;  // topic -> member ids, sorted
  for (auto& m : members) {
    for (auto& t : m.topics) subscribers[t].push_back(m.id);
  }
  for (auto& [name, ids] : subscribers) {
    auto t = topics.find(name);
    if (t == topics.end()) continue;
    std::sort(ids.begin(), ids.end());
    const auto n = static_cast<int32_t>(ids.size());
    const int32_t each = t->second.partitions / n, extra = t->second.partitions % n;
    int32_t next = 0;
    for (int32_t i = 0; i < n; ++i) {
      const int32_t count = each + (i < extra ? 1 : 0);
      for (int32_t k = 0; k < count; ++k) out[ids[i]][t->second.id].insert(next++);
    }
  }
  for (auto& [id, a] : out) normalize(a);
  return out;
}

std::map<std::string, assignment> uniform(const std::vector<assignor_member>& members,
                                          const topic_snapshot& topics,
                                          const std::map<std::string, assignment>& previous) {
  std::map<std::string, assignment> out;
  std::map<std::string, size_t> load;
  for (auto& m : members) {
    out[m.id];
    load[m.id] = 0;
  }
  // Every partition to assign, with its candidate members (sorted by id).
  struct slot {
    const topic_meta* topic;
    int32_t partition;
    std::vector<std::string> candidates;
  };
  std::map<std::string, std::vector<std::string>> subscribers;
  for (auto& m : members) {
    for (auto& t : m.topics) {
      if (topics.contains(t)) subscribers[t].push_back(m.id);
    }
  }
  std::vector<slot> slots;
  // A member's fair share: the sum over its topics of partitions / subscribers, as floor and the
  // fractional remainder (which decides who may take one more).
  std::map<std::string, double> share;
  for (auto& [name, ids] : subscribers) {
    auto& t = topics.at(name);
    std::sort(ids.begin(), ids.end());
    for (int32_t p = 0; p < t.partitions; ++p) slots.push_back({&t, p, ids});
    for (auto& id : ids) share[id] += static_cast<double>(t.partitions) / ids.size();
  }
  size_t total = slots.size();
  // Quotas: floor(share) for everyone, then one more for as many members as the remainder
  // needs (those with the largest fractional share, ties by id).
  std::map<std::string, size_t> quota;
  size_t sum = 0;
  for (auto& m : members) {
    quota[m.id] = static_cast<size_t>(share[m.id] + 1e-9);
    sum += quota[m.id];
  }
  std::vector<std::tuple<double, std::string>> by_fraction;
  for (auto& m : members) {
    const double f = share[m.id] - static_cast<double>(quota[m.id]);
    if (f > 1e-9) by_fraction.emplace_back(-f, m.id);
  }
  std::sort(by_fraction.begin(), by_fraction.end());
  for (auto& [f, id] : by_fraction) {
    if (sum >= total) break;
    ++quota[id];
    ++sum;
  }
  // Sticky pass: a partition stays with its previous owner while the owner is under quota.
  std::vector<const slot*> rest;
  for (auto& s : slots) {
    bool kept = false;
    for (auto& id : s.candidates) {
      auto prev = previous.find(id);
      if (prev == previous.end() || !contains(prev->second, s.topic->id, s.partition)) continue;
      if (load[id] < quota[id]) {
        out[id][s.topic->id].insert(s.partition);
        ++load[id];
        kept = true;
      }
      break;
    }
    if (!kept) rest.push_back(&s);
  }
  // The rest: to the least loaded candidate (under quota first), ties by id.
  for (auto* s : rest) {
    const std::string* best = nullptr;
    for (auto& id : s->candidates) {
      if (!best) {
        best = &id;
        continue;
      }
      const bool under = load[id] < quota[id], best_under = load[*best] < quota[*best];
      if (under != best_under ? under : load[id] < load[*best]) best = &id;
    }
    out[*best][s->topic->id].insert(s->partition);
    ++load[*best];
  }
  for (auto& [id, a] : out) normalize(a);
  return out;
}

}  // namespace

std::map<std::string, assignment> assign(std::string_view assignor,
                                         const std::vector<assignor_member>& members,
                                         const topic_snapshot& topics,
                                         const std::map<std::string, assignment>& previous) {
  if (assignor == "range") return range(members, topics);
  return uniform(members, topics, previous);
}

}  // namespace eb::bridge::groups

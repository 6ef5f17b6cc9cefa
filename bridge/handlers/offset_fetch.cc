// OffsetFetch: committed offsets from storage, -1 (and no error) where a group has none. From v2
// a null topic list asks for every partition the group committed. v8+ batches groups; v9 adds the
// member id and epoch of a consumer-protocol group (KIP-848), checked by the coordinator.
#include "bridge/handlers/offset_fetch.h"

#include <map>

#include "bridge/async_storage.h"
#include "bridge/errors.h"
#include "bridge/groups/coordinator.h"
#include "bridge/handlers/authz.h"

namespace eb::bridge {

namespace {

using topic_response = net::msg::offset_fetch_response::offset_fetch_response_topic;
using partition_response = topic_response::offset_fetch_response_partition;
using wanted_topics = std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>>;

struct group_answer {
  net::error_code error = net::error_code::none;
  std::vector<topic_response> topics;
};

partition_response answer(int32_t partition, const storage::committed_offset* c) {
  partition_response p;
  p.partition_index = partition;
  p.committed_offset = c ? c->offset : -1;
  p.committed_leader_epoch = -1;
  p.metadata = c ? c->metadata : std::string();
  return p;
}

// One group's committed offsets. member_id/member_epoch (v9): a consumer-protocol group checks
// them (UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH).
awaitable<group_answer> fetch_group(request_ctx& ctx, const std::string& group_id,
                                    const wanted_topics& wanted,
                                    const std::optional<std::string>& member_id,
                                    int32_t member_epoch) {
  group_answer out;
  if (group_id.empty() && ctx.version() >= 2) {
    out.error = net::error_code::invalid_group_id;
    co_return out;
  }
  // Describe on the group (Kafka), then Describe on each topic.
  if (!authorize(ctx, security::acl_operation::describe, security::resource_type::group,
                 group_id)) {
    if (ctx.version() >= 2) {
      out.error = net::error_code::group_authorization_failed;
      co_return out;
    }
    if (wanted) {
      for (auto& [name, partitions] : *wanted) {
        auto& tr = out.topics.emplace_back();
        tr.name = name;
        for (int32_t p : partitions) {
          auto a = answer(p, nullptr);
          a.error_code = static_cast<int16_t>(net::error_code::group_authorization_failed);
          tr.partitions.push_back(std::move(a));
        }
      }
    }
    co_return out;
  }
  if (member_id && ctx.svc.groups) {
    auto checked = co_await ctx.svc.groups->consumer_validate_offsets(group_id, *member_id,
                                                                      member_epoch, false);
    if (checked && *checked) {
      out.error = to_kafka(*checked);
      co_return out;
    }
  }
  auto topic_allowed = [&](const std::string& topic, bool quiet) {
    return authorize(ctx, security::acl_operation::describe, security::resource_type::topic, topic,
                     quiet);
  };
  // A prefix scan of meta: on the reader pool.
  const auto committed = co_await async_read(ctx.svc.readers, [&store = ctx.svc.store, &group_id] {
    return store.group_offsets(group_id);
  });
  if (!wanted) {
    std::map<std::string, topic_response> by_topic;
    for (auto& [tp, c] : committed) {
      if (!topic_allowed(tp.first, true)) continue;
      auto& tr = by_topic[tp.first];
      tr.name = tp.first;
      tr.partitions.push_back(answer(tp.second, &c));
    }
    for (auto& [name, tr] : by_topic) out.topics.push_back(std::move(tr));
    co_return out;
  }
  for (auto& [name, partitions] : *wanted) {
    auto& tr = out.topics.emplace_back();
    tr.name = name;
    const bool allowed = topic_allowed(name, false);
    for (int32_t p : partitions) {
      auto it = committed.find({name, p});
      auto a = answer(p, it == committed.end() || !allowed ? nullptr : &it->second);
      if (!allowed)
        a.error_code = static_cast<int16_t>(net::error_code::topic_authorization_failed);
      if (group_id.empty()) a.error_code = static_cast<int16_t>(net::error_code::invalid_group_id);
      tr.partitions.push_back(std::move(a));
    }
  }
  co_return out;
}

template <class Topics>
wanted_topics wanted_of(const std::optional<Topics>& topics) {
  if (!topics) return std::nullopt;
  wanted_topics out{std::in_place};
  for (auto& t : *topics) out->emplace_back(t.name, t.partition_indexes);
  return out;
}

}  // namespace

awaitable<handler_result<net::msg::offset_fetch_response>> offset_fetch_handler::handle(
    request_ctx& ctx, net::msg::offset_fetch_request req) {
  handler_result<net::msg::offset_fetch_response> result;
  auto& resp = result.body;
  if (ctx.version() < 8) {
    auto one = co_await fetch_group(ctx, req.group_id, wanted_of(req.topics), std::nullopt, -1);
    resp.error_code = static_cast<int16_t>(one.error);
    resp.topics = std::move(one.topics);
    co_return result;
  }
  // v8+: a batch of groups, each answered on its own.
  for (auto& g : req.groups) {
    auto one =
        co_await fetch_group(ctx, g.group_id, wanted_of(g.topics), g.member_id, g.member_epoch);
    auto& out = resp.groups.emplace_back();
    out.group_id = g.group_id;
    out.error_code = static_cast<int16_t>(one.error);
    for (auto& t : one.topics) {
      auto& tw = out.topics.emplace_back();
      tw.name = t.name;
      for (auto& p : t.partitions) {
        auto& pw = tw.partitions.emplace_back();
        pw.partition_index = p.partition_index;
        pw.committed_offset = p.committed_offset;
        pw.committed_leader_epoch = p.committed_leader_epoch;
        pw.metadata = p.metadata;
        pw.error_code = p.error_code;
      }
    }
  }
  co_return result;
}

}  // namespace eb::bridge

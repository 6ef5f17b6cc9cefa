// OffsetFetch: committed offsets from storage, -1 (and no error) where a group has none. From v2
// a null topic list asks for every partition the group committed.
#include "bridge/handlers/offset_fetch.h"

#include <map>

#include "bridge/async_storage.h"
#include "bridge/handlers/authz.h"

namespace eb::bridge {

awaitable<handler_result<net::msg::offset_fetch_response>> offset_fetch_handler::handle(
    request_ctx& ctx, net::msg::offset_fetch_request req) {
  handler_result<net::msg::offset_fetch_response> result;
  auto& resp = result.body;
  using topic_response = net::msg::offset_fetch_response::offset_fetch_response_topic;
  using partition_response = topic_response::offset_fetch_response_partition;
  auto answer = [](int32_t partition, const storage::committed_offset* c) {
    partition_response p;
    p.partition_index = partition;
    p.committed_offset = c ? c->offset : -1;
    p.committed_leader_epoch = -1;
    p.metadata = c ? c->metadata : std::string();
    return p;
  };
  if (req.group_id.empty()) {
    if (ctx.version() >= 2) {
      resp.error_code = static_cast<int16_t>(net::error_code::invalid_group_id);
      co_return result;
    }
  }
  // Describe on the group (Kafka), then Describe on each topic.
  if (!authorize(ctx, security::acl_operation::describe, security::resource_type::group,
                 req.group_id)) {
    if (ctx.version() >= 2) {
      resp.error_code = static_cast<int16_t>(net::error_code::group_authorization_failed);
      co_return result;
    }
    if (req.topics) {
      for (auto& t : *req.topics) {
        auto& tr = resp.topics.emplace_back();
        tr.name = t.name;
        for (int32_t p : t.partition_indexes) {
          auto out = answer(p, nullptr);
          out.error_code = static_cast<int16_t>(net::error_code::group_authorization_failed);
          tr.partitions.push_back(std::move(out));
        }
      }
    }
    co_return result;
  }
  auto topic_allowed = [&](const std::string& topic, bool quiet) {
    return authorize(ctx, security::acl_operation::describe, security::resource_type::topic, topic,
                     quiet);
  };
  // A prefix scan of meta: on the reader pool.
  const auto committed = co_await async_read(ctx.svc.readers, [&store = ctx.svc.store, &req] {
    return store.group_offsets(req.group_id);
  });
  if (!req.topics) {
    std::map<std::string, topic_response> by_topic;
    for (auto& [tp, c] : committed) {
      if (!topic_allowed(tp.first, true)) continue;
      auto& tr = by_topic[tp.first];
      tr.name = tp.first;
      tr.partitions.push_back(answer(tp.second, &c));
    }
    for (auto& [name, tr] : by_topic) resp.topics.push_back(std::move(tr));
    co_return result;
  }
  for (auto& t : *req.topics) {
    auto& tr = resp.topics.emplace_back();
    tr.name = t.name;
    const bool allowed = topic_allowed(t.name, false);
    for (int32_t p : t.partition_indexes) {
      auto it = committed.find({t.name, p});
      auto out = answer(p, it == committed.end() || !allowed ? nullptr : &it->second);
      if (!allowed)
        out.error_code = static_cast<int16_t>(net::error_code::topic_authorization_failed);
      if (req.group_id.empty()) {
        out.error_code = static_cast<int16_t>(net::error_code::invalid_group_id);
      }
      tr.partitions.push_back(std::move(out));
    }
  }
  co_return result;
}

}  // namespace eb::bridge

#include "bridge/handlers/metadata.h"

#include "bridge/errors.h"
#include "bridge/handlers/authz.h"
#include "bridge/handlers/topic_ids.h"

namespace eb::bridge {
namespace {

using topic_response = net::msg::metadata_response::metadata_response_topic;

topic_response describe(const request_ctx& ctx, const std::string& name,
                        const result<storage::topic_info>& info) {
  topic_response t;
  t.name = name;
  if (!info) {
    t.error_code = static_cast<int16_t>(to_kafka(info.error()));
    return t;
  }
  t.is_internal = false;
  t.topic_id = info->uuid;
  t.partitions.reserve(info->config.partitions);
  for (int32_t p = 0; p < info->config.partitions; ++p) {
    auto& part = t.partitions.emplace_back();
    part.partition_index = p;
    part.leader_id = ctx.svc.node_id;
    part.leader_epoch = 0;
    part.replica_nodes = {ctx.svc.node_id};
    part.isr_nodes = {ctx.svc.node_id};
  }
  return t;
}

topic_response denied(const std::string& name) {
  topic_response t;
  t.name = name;
  t.error_code = static_cast<int16_t>(net::error_code::topic_authorization_failed);
  return t;
}

}  // namespace

awaitable<handler_result<net::msg::metadata_response>> metadata_handler::handle(
    request_ctx& ctx, net::msg::metadata_request req) {
  handler_result<net::msg::metadata_response> reply;
  auto& resp = reply.body;
  auto& broker = resp.brokers.emplace_back();
  broker.node_id = ctx.svc.node_id;
  // Each client is told the address of the listener it came in on.
  std::tie(broker.host, broker.port) = advertised_address(ctx);
  resp.cluster_id = ctx.svc.cluster_id;
  resp.controller_id = ctx.svc.node_id;

  // v0: an empty list means every topic; v1+: null means every topic, empty means none.
  const bool all_topics = !req.topics || (ctx.version() == 0 && req.topics->empty());
  if (all_topics) {
    // Only the topics the principal may Describe, silently (as Kafka).
    for (auto& info : ctx.svc.topics.all()) {
      if (authorize(ctx, security::acl_operation::describe, security::resource_type::topic,
                    info.name, true)) {
        resp.topics.push_back(describe(ctx, info.name, info));
      }
    }
    co_return reply;
  }
  // v4+ lets the client decline auto-creation (the Java consumer does).
  const bool may_create = ctx.version() < 4 || req.allow_auto_topic_creation;
  for (auto& wanted : *req.topics) {
    if (!wanted.name) {  // v10+ lookup by topic id
      auto found = topic_by_id(ctx.svc.topics, wanted.topic_id);
      if (!found || !authorize(ctx, security::acl_operation::describe,
                               security::resource_type::topic, found->name, true)) {
        auto& t = resp.topics.emplace_back();
        t.topic_id = wanted.topic_id;
        t.error_code = static_cast<int16_t>(net::error_code::unknown_topic_id);
        continue;
      }
      resp.topics.push_back(describe(ctx, found->name, *found));
      continue;
    }
    const std::string& name = *wanted.name;
    if (!authorize(ctx, security::acl_operation::describe, security::resource_type::topic, name)) {
      resp.topics.push_back(denied(name));
      continue;
    }
    // Not a conditional expression: GCC 12 destroys a co_await result in one twice.
    result<storage::topic_info> info = ctx.svc.topics.find_existing(name);
    if (may_create && !info && info.error() == storage::errc::unknown_topic &&
        ctx.svc.topics.auto_create() && !authorize_create(ctx, name)) {
      resp.topics.push_back(denied(name));
      continue;
    }
    if (may_create && !info) info = co_await ctx.svc.topics.find_or_create(name);
    resp.topics.push_back(describe(ctx, name, info));
  }
  co_return reply;
}

}  // namespace eb::bridge

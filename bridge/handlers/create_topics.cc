#include "bridge/handlers/create_topics.h"

#include "bridge/errors.h"
#include "bridge/handlers/authz.h"
#include "common/topic_name.h"

namespace eb::bridge {

awaitable<handler_result<net::msg::create_topics_response>> create_topics_handler::handle(
    request_ctx& ctx, net::msg::create_topics_request req) {
  handler_result<net::msg::create_topics_response> reply;
  for (auto& topic : req.topics) {
    auto& out = reply.body.topics.emplace_back();
    out.name = topic.name;
    auto fail = [&](net::error_code code, std::string message) {
      out.error_code = static_cast<int16_t>(code);
      out.error_message = std::move(message);
    };
    if (!topic.assignments.empty()) {
      fail(net::error_code::invalid_replica_assignment, "edgebridge is a single broker");
      continue;
    }
    if (topic.replication_factor != -1 && topic.replication_factor != 1) {
      fail(net::error_code::invalid_replication_factor,
           "replication factor must be 1 (or -1 for the default) on a single broker");
      continue;
    }
    if (topic.num_partitions == 0 || topic.num_partitions < -1) {
      fail(net::error_code::invalid_partitions, "partition count must be positive");
      continue;
    }
    if (!is_legal_topic_name(topic.name)) {
      fail(net::error_code::invalid_topic_exception,
           "topic names are 1-249 characters of [a-zA-Z0-9._-], not '.' or '..'");
      continue;
    }
    if (!authorize_create(ctx, topic.name)) {
      fail(net::error_code::topic_authorization_failed, "Authorization failed.");
      continue;
    }
    if (req.validate_only) {
      if (ctx.svc.topics.find(topic.name)) {
        fail(net::error_code::topic_already_exists, "topic exists");
      } else if (auto ok = ctx.svc.topics.check_creation(topic.name, topic.num_partitions); !ok) {
        fail(to_kafka(ok.error()), ok.error().message());
      }
      continue;
    }
    auto created = co_await ctx.svc.topics.create_new(topic.name, topic.num_partitions);
    if (!created) {
      fail(to_kafka(created.error()), created.error().message());
      continue;
    }
    out.num_partitions = created->config.partitions;
    out.replication_factor = 1;
  }
  co_return reply;
}

}  // namespace eb::bridge

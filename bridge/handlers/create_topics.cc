#include "bridge/handlers/create_topics.h"

#include "bridge/errors.h"
#include "bridge/handlers/authz.h"
#include "bridge/topic_configs.h"
#include "common/topic_name.h"

namespace eb::bridge {
namespace {

using result_configs =
    net::msg::create_topics_response::creatable_topic_result::creatable_topic_configs;

// v5+: the topic's configs as DescribeConfigs would report them.
std::vector<result_configs> configs_of(const topics_options& opts,
                                       const storage::topic_info& info) {
  std::vector<result_configs> out;
  for (auto& c : describe_topic_configs(opts, info)) {
    auto& r = out.emplace_back();
    r.name = c.name;
    r.value = c.value;
    r.read_only = c.read_only;
    r.config_source = static_cast<int8_t>(c.source);
  }
  return out;
}

}  // namespace

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
    std::map<std::string, std::string> settings;
    bool duplicate = false;
    for (auto& c : topic.configs) {
      // A null value means "the default": nothing to store.
      if (!c.value) continue;
      duplicate |= !settings.emplace(c.name, *c.value).second;
    }
    if (duplicate) {
      fail(net::error_code::invalid_request, "a config is given twice");
      continue;
    }
    if (auto why = check_topic_configs(settings, true)) {
      fail(net::error_code::invalid_config, *why);
      continue;
    }
    if (req.validate_only) {
      if (ctx.svc.topics.find(topic.name)) {
        fail(net::error_code::topic_already_exists, "topic exists");
      } else if (auto ok = ctx.svc.topics.check_creation(topic.name, topic.num_partitions); !ok) {
        fail(to_kafka(ok.error()), ok.error().message());
      } else {
        auto opts_snapshot = ctx.svc.topics.options();
        const auto& opts = *opts_snapshot;
        storage::topic_info would{.name = topic.name};
        would.config = effective_topic_config(opts, topic.name,
                                              topic.num_partitions > 0
                                                  ? topic.num_partitions
                                                  : opts.config_for(topic.name).partitions,
                                              std::move(settings));
        out.num_partitions = would.config.partitions;
        out.replication_factor = 1;
        if (ctx.version() >= 5) out.configs = configs_of(opts, would);
      }
      continue;
    }
    auto created =
        co_await ctx.svc.topics.create_new(topic.name, topic.num_partitions, std::move(settings));
    if (!created) {
      fail(to_kafka(created.error()), created.error().message());
      continue;
    }
    out.num_partitions = created->config.partitions;
    out.topic_id = created->uuid;  // v7+
    out.replication_factor = 1;
    if (ctx.version() >= 5) out.configs = configs_of(*ctx.svc.topics.options(), *created);
  }
  co_return reply;
}

}  // namespace eb::bridge

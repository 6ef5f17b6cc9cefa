#include "bridge/handlers/describe_configs.h"

#include <algorithm>

#include "bridge/errors.h"
#include "bridge/topic_configs.h"

namespace eb::bridge {
namespace {

// Kafka's ConfigResource types.
constexpr int8_t topic_resource = 2;
constexpr int8_t broker_resource = 4;

using result_entry =
    net::msg::describe_configs_response::describe_configs_result::describe_configs_resource_result;

result_entry to_entry(const described_config& c, bool synonyms, bool docs) {
  result_entry e;
  e.name = c.name;
  e.value = c.value;
  e.read_only = c.read_only;
  e.is_default = c.source == config_source::default_config;
  e.config_source = static_cast<int8_t>(c.source);
  e.config_type = static_cast<int8_t>(c.type);
  if (docs) {
    e.documentation = c.doc;
  } else {
    e.documentation = std::nullopt;
  }
  if (synonyms) {
    for (auto& s : c.synonyms) {
      auto& out = e.synonyms.emplace_back();
      out.name = s.name;
      out.value = s.value;
      out.source = static_cast<int8_t>(s.source);
    }
  }
  return e;
}

}  // namespace

awaitable<handler_result<net::msg::describe_configs_response>> describe_configs_handler::handle(
    request_ctx& ctx, net::msg::describe_configs_request req) {
  handler_result<net::msg::describe_configs_response> reply;
  auto opts_snapshot = ctx.svc.topics.options();
  const auto& opts = *opts_snapshot;
  for (auto& res : req.resources) {
    auto& out = reply.body.results.emplace_back();
    out.resource_type = res.resource_type;
    out.resource_name = res.resource_name;
    out.error_message = std::nullopt;
    std::vector<described_config> configs;
    if (res.resource_type == topic_resource) {
      auto info = ctx.svc.topics.find_existing(res.resource_name);
      if (!info) {
        out.error_code = static_cast<int16_t>(to_kafka(info.error()));
        out.error_message = "topic " + res.resource_name + ": " + info.error().message();
        continue;
      }
      configs = describe_topic_configs(opts, *info);
    } else if (res.resource_type == broker_resource) {
      // "" is the cluster-wide default resource; otherwise it must name this broker.
      if (!res.resource_name.empty() && res.resource_name != std::to_string(ctx.svc.node_id)) {
        out.error_code = static_cast<int16_t>(net::error_code::invalid_request);
        out.error_message = "broker " + res.resource_name + " is not this broker (" +
                            std::to_string(ctx.svc.node_id) + ")";
        continue;
      }
      configs = describe_broker_configs(opts, {.node_id = ctx.svc.node_id,
                                               .advertised_host = ctx.svc.advertised_host,
                                               .advertised_port = ctx.svc.advertised_port,
                                               .data_dir = ctx.svc.data_dir});
    } else {
      out.error_code = static_cast<int16_t>(net::error_code::invalid_request);
      out.error_message = "edgebridge describes topic (2) and broker (4) resources only";
      continue;
    }
    for (auto& c : configs) {
      if (res.configuration_keys && !res.configuration_keys->empty() &&
          std::find(res.configuration_keys->begin(), res.configuration_keys->end(), c.name) ==
              res.configuration_keys->end()) {
        continue;
      }
      out.configs.push_back(to_entry(c, req.include_synonyms, req.include_documentation));
    }
  }
  co_return reply;
}

}  // namespace eb::bridge

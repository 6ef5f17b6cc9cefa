#include "bridge/handlers/alter_config_apply.h"

#include "bridge/errors.h"
#include "bridge/topic_configs.h"
#include "common/topic_settings.h"

namespace eb::bridge {

bool creation_only(const std::string& name) {
  return name == topic_settings::mirror_enabled || name == topic_settings::mirror_target;
}

alter_resource alter_target(request_ctx& ctx, int8_t resource_type, const std::string& name) {
  constexpr int8_t topic_resource = 2, broker_resource = 4, broker_logger = 8;
  alter_resource r;
  if (resource_type == broker_resource || resource_type == broker_logger) {
    r.code = net::error_code::invalid_request;
    r.error = "edgebridge's broker configs are read-only: change the config file and restart";
    return r;
  }
  if (resource_type != topic_resource) {
    r.code = net::error_code::invalid_request;
    r.error = "edgebridge alters topic (2) resources only";
    return r;
  }
  auto info = ctx.svc.topics.find_existing(name);
  if (!info) {
    r.code = to_kafka(info.error());
    r.error = "topic " + name + ": " + info.error().message();
    return r;
  }
  r.topic = *info;
  return r;
}

awaitable<alter_outcome> apply_topic_settings(request_ctx& ctx, const storage::topic_info& topic,
                                              std::map<std::string, std::string> settings,
                                              bool validate_only) {
  const auto& before = topic.config.settings;
  for (auto& [k, v] : settings) {
    auto it = before.find(k);
    if (it != before.end() && it->second == v) continue;  // unchanged (creation-only ones too)
    if (auto why = check_topic_config(k, v, false)) {
      co_return alter_outcome{net::error_code::invalid_config, *why};
    }
  }
  for (auto& [k, v] : before) {
    if (creation_only(k) && !settings.count(k)) {
      co_return alter_outcome{net::error_code::invalid_config,
                              k + " can only be set when the topic is created"};
    }
  }
  if (settings.size() > storage::max_topic_settings) {
    co_return alter_outcome{net::error_code::invalid_config, "too many configs"};
  }
  if (validate_only) co_return alter_outcome{};
  auto altered = co_await ctx.svc.topics.alter(topic.name, std::move(settings));
  if (!altered) {
    co_return alter_outcome{to_kafka(altered.error()), altered.error().message()};
  }
  co_return alter_outcome{};
}

}  // namespace eb::bridge

#include "bridge/handlers/alter_configs.h"

#include <map>

#include "bridge/handlers/alter_config_apply.h"

namespace eb::bridge {

awaitable<handler_result<net::msg::alter_configs_response>> alter_configs_handler::handle(
    request_ctx& ctx, net::msg::alter_configs_request req) {
  handler_result<net::msg::alter_configs_response> reply;
  for (auto& res : req.resources) {
    auto& out = reply.body.responses.emplace_back();
    out.resource_type = res.resource_type;
    out.resource_name = res.resource_name;
    out.error_message = std::nullopt;
    auto target = alter_target(ctx, res.resource_type, res.resource_name);
    if (!target.error.empty()) {
      out.error_code = static_cast<int16_t>(target.code);
      out.error_message = target.error;
      continue;
    }
    // Legacy semantics: the given set replaces every admin-API config of the topic. The
    // creation-only ones stay as they were.
    std::map<std::string, std::string> settings;
    for (auto& [k, v] : target.topic->config.settings) {
      if (creation_only(k)) settings[k] = v;
    }
    for (auto& c : res.configs) {
      if (c.value) settings[c.name] = *c.value;
    }
    auto applied =
        co_await apply_topic_settings(ctx, *target.topic, std::move(settings), req.validate_only);
    if (applied.code != net::error_code::none) {
      out.error_code = static_cast<int16_t>(applied.code);
      out.error_message = applied.message;
    }
  }
  co_return reply;
}

}  // namespace eb::bridge

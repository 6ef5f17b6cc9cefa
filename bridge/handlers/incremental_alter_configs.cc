#include "bridge/handlers/incremental_alter_configs.h"

#include <algorithm>
#include <map>

#include "bridge/errors.h"
#include "bridge/handlers/alter_config_apply.h"
#include "bridge/topic_configs.h"

namespace eb::bridge {
namespace {

enum class op : int8_t { set = 0, del = 1, append = 2, subtract = 3 };

std::vector<std::string> items_of(const std::string& v) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < v.size()) {
    size_t comma = v.find(',', start);
    if (comma == std::string::npos) comma = v.size();
    std::string item = v.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

}  // namespace

awaitable<handler_result<net::msg::incremental_alter_configs_response>>
incremental_alter_configs_handler::handle(request_ctx& ctx,
                                          net::msg::incremental_alter_configs_request req) {
  handler_result<net::msg::incremental_alter_configs_response> reply;
  for (auto& res : req.resources) {
    auto& out = reply.body.responses.emplace_back();
    out.resource_type = res.resource_type;
    out.resource_name = res.resource_name;
    out.error_message = std::nullopt;
    auto fail = [&](net::error_code code, std::string message) {
      out.error_code = static_cast<int16_t>(code);
      out.error_message = std::move(message);
    };
    auto target = alter_target(ctx, res.resource_type, res.resource_name);
    if (!target.error.empty()) {
      fail(target.code, target.error);
      continue;
    }
    // The new set of admin-API configs: the stored ones with each operation applied in order.
    auto settings = target.topic->config.settings;
    std::string why;
    for (auto& c : res.configs) {
      const auto operation = static_cast<op>(c.config_operation);
      if (operation == op::set) {
        if (!c.value) {
          why = "SET of " + c.name + " needs a value";
          break;
        }
        settings[c.name] = *c.value;
      } else if (operation == op::del) {
        settings.erase(c.name);
      } else if (operation == op::append || operation == op::subtract) {
        if (!is_list_config(c.name)) {
          why = c.name + " is not a list config: APPEND and SUBTRACT apply to list configs only";
          break;
        }
        auto current = settings.count(c.name) ? items_of(settings[c.name])
                                              : std::vector<std::string>{"delete"};
        for (auto& item : items_of(c.value.value_or(""))) {
          auto it = std::find(current.begin(), current.end(), item);
          if (operation == op::append && it == current.end()) current.push_back(item);
          if (operation == op::subtract && it != current.end()) current.erase(it);
        }
        settings[c.name] = join(current);
      } else {
        why = "unknown config operation " + std::to_string(c.config_operation);
        break;
      }
    }
    if (!why.empty()) {
      fail(net::error_code::invalid_config, why);
      continue;
    }
    auto applied =
        co_await apply_topic_settings(ctx, *target.topic, std::move(settings), req.validate_only);
    if (applied.code != net::error_code::none) fail(applied.code, applied.message);
  }
  co_return reply;
}

}  // namespace eb::bridge

#pragma once
// DescribeConfigs: topic configs (bridge/topic_configs.h) and the broker's, read-only.
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

struct describe_configs_handler {
  using request_type = net::msg::describe_configs_request;
  static constexpr int16_t key = 32;
  static constexpr int16_t min_version = 0, max_version = 4;
  static awaitable<handler_result<net::msg::describe_configs_response>> handle(request_ctx&,
                                                                               request_type);
};

}  // namespace eb::bridge

#pragma once
// AlterConfigs (legacy): replaces a topic's whole set of admin-API configs.
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

struct alter_configs_handler {
  using request_type = net::msg::alter_configs_request;
  static constexpr int16_t key = 33;
  static constexpr int16_t min_version = 0, max_version = 2;
  static awaitable<handler_result<net::msg::alter_configs_response>> handle(request_ctx&,
                                                                            request_type);
};

}  // namespace eb::bridge

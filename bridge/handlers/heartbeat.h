#pragma once
// Heartbeat: keeps a member's session; tells it when the group rebalances.
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

struct heartbeat_handler {
  using request_type = net::msg::heartbeat_request;
  static constexpr int16_t key = 12;
  static constexpr int16_t min_version = 0, max_version = 4;
  static awaitable<handler_result<net::msg::heartbeat_response>> handle(request_ctx&, request_type);
};

}  // namespace eb::bridge

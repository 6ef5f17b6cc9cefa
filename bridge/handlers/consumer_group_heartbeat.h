#pragma once
// ConsumerGroupHeartbeat (KIP-848): join, heartbeat, leave and the server-side assignment of the
// consumer group protocol (bridge/groups/consumer_group.h).
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

struct consumer_group_heartbeat_handler {
  using request_type = net::msg::consumer_group_heartbeat_request;
  static constexpr int16_t key = 68;
  static constexpr int16_t min_version = 0, max_version = 1;
  static awaitable<handler_result<net::msg::consumer_group_heartbeat_response>> handle(
      request_ctx&, request_type);
};

}  // namespace eb::bridge

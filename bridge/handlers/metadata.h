#pragma once
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

// edgebridge is the single broker, controller and leader of every partition.
struct metadata_handler {
  using request_type = net::msg::metadata_request;
  static constexpr int16_t key = 3;
  static constexpr int16_t min_version = 0, max_version = 12;
  static awaitable<handler_result<net::msg::metadata_response>> handle(request_ctx&, request_type);
};

}  // namespace eb::bridge

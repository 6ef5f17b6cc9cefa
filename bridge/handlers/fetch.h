#pragma once
// Fetch: long-polls for records (KIP-74 size limits; fetch sessions declined).
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

struct fetch_handler {
  using request_type = net::msg::fetch_request;
  static constexpr int16_t key = 1;
  static constexpr int16_t min_version = 4, max_version = 12;
  static awaitable<handler_result<net::msg::fetch_response>> handle(request_ctx&, request_type);
};

}  // namespace eb::bridge

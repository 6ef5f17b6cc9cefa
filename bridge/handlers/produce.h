#pragma once
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

struct produce_handler {
  using request_type = net::msg::produce_request;
  static constexpr int16_t key = 0;
  // Advertised from 0 for librdkafka < 2.11.1 (compression); v0-2 are answered with an error.
  static constexpr int16_t min_version = 0, max_version = 11;
  static awaitable<handler_result<net::msg::produce_response>> handle(request_ctx&, request_type);
};

}  // namespace eb::bridge

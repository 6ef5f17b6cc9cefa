#pragma once
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

struct create_acls_handler {
  using request_type = net::msg::create_acls_request;
  static constexpr int16_t key = 30;
  static constexpr int16_t min_version = 0, max_version = 3;
  static awaitable<handler_result<net::msg::create_acls_response>> handle(request_ctx&,
                                                                          request_type);
};

}  // namespace eb::bridge

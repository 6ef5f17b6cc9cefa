#pragma once
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

struct describe_acls_handler {
  using request_type = net::msg::describe_acls_request;
  static constexpr int16_t key = 29;
  static constexpr int16_t min_version = 0, max_version = 3;
  static awaitable<handler_result<net::msg::describe_acls_response>> handle(request_ctx&,
                                                                            request_type);
};

}  // namespace eb::bridge

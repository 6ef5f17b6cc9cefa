#pragma once
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

struct delete_acls_handler {
  using request_type = net::msg::delete_acls_request;
  static constexpr int16_t key = 31;
  static constexpr int16_t min_version = 0, max_version = 3;
  static awaitable<handler_result<net::msg::delete_acls_response>> handle(request_ctx&,
                                                                          request_type);
};

}  // namespace eb::bridge

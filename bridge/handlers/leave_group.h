#pragma once
// LeaveGroup: v0-2 one member, v3+ a batch (KIP-345).
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

struct leave_group_handler {
  using request_type = net::msg::leave_group_request;
  static constexpr int16_t key = 13;
  static constexpr int16_t min_version = 0, max_version = 5;
  static awaitable<handler_result<net::msg::leave_group_response>> handle(request_ctx&,
                                                                          request_type);
};

}  // namespace eb::bridge

#pragma once
// JoinGroup: joins a classic group through the coordinator (min 0 for librdkafka < 2.11).
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

struct join_group_handler {
  using request_type = net::msg::join_group_request;
  static constexpr int16_t key = 11;
  static constexpr int16_t min_version = 0, max_version = 9;
  static awaitable<handler_result<net::msg::join_group_response>> handle(request_ctx&,
                                                                         request_type);
};

}  // namespace eb::bridge

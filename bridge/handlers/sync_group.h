#pragma once
// SyncGroup: the leader hands out the assignment; members receive theirs.
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

struct sync_group_handler {
  using request_type = net::msg::sync_group_request;
  static constexpr int16_t key = 14;
  static constexpr int16_t min_version = 0, max_version = 5;
  static awaitable<handler_result<net::msg::sync_group_response>> handle(request_ctx&,
                                                                         request_type);
};

}  // namespace eb::bridge

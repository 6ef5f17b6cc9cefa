#pragma once
// ListOffsets: earliest (-2), latest (-1) or by timestamp.
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

struct list_offsets_handler {
  using request_type = net::msg::list_offsets_request;
  static constexpr int16_t key = 2;
  static constexpr int16_t min_version = 1, max_version = 7;
  static awaitable<handler_result<net::msg::list_offsets_response>> handle(request_ctx&,
                                                                           request_type);
};

}  // namespace eb::bridge

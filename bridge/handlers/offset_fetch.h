#pragma once
// OffsetFetch: committed offsets from storage (-1 for none); v8+ batches groups: not advertised.
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

struct offset_fetch_handler {
  using request_type = net::msg::offset_fetch_request;
  static constexpr int16_t key = 9;
  static constexpr int16_t min_version = 1, max_version = 9;
  static awaitable<handler_result<net::msg::offset_fetch_response>> handle(request_ctx&,
                                                                           request_type);
};

}  // namespace eb::bridge

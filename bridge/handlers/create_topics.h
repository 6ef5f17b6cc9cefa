#pragma once
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

// Admin tools create topics; replication factor and replica assignments are accepted only in the
// forms a single broker can honour.
struct create_topics_handler {
  using request_type = net::msg::create_topics_request;
  static constexpr int16_t key = 19;
  static constexpr int16_t min_version = 0, max_version = 7;
  static awaitable<handler_result<net::msg::create_topics_response>> handle(request_ctx&,
                                                                            request_type);
};

}  // namespace eb::bridge

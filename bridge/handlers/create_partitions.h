#pragma once
// CreatePartitions: grows a topic; the mirror grows its cloud topic to match before the new
// partitions' records go up.
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

struct create_partitions_handler {
  using request_type = net::msg::create_partitions_request;
  static constexpr int16_t key = 37;
  static constexpr int16_t min_version = 0, max_version = 3;
  static awaitable<handler_result<net::msg::create_partitions_response>> handle(request_ctx&,
                                                                                request_type);
};

}  // namespace eb::bridge

#pragma once
// ConsumerGroupDescribe (KIP-848): the members of consumer-protocol groups, their assignments
// and targets, with topic names.
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

struct consumer_group_describe_handler {
  using request_type = net::msg::consumer_group_describe_request;
  static constexpr int16_t key = 69;
  static constexpr int16_t min_version = 0, max_version = 1;
  static awaitable<handler_result<net::msg::consumer_group_describe_response>> handle(request_ctx&,
                                                                                      request_type);
};

}  // namespace eb::bridge

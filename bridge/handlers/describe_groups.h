#pragma once
// DescribeGroups: state, protocol and members of classic groups; a group known only by its offsets
// is Empty.
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

struct describe_groups_handler {
  using request_type = net::msg::describe_groups_request;
  static constexpr int16_t key = 15;
  static constexpr int16_t min_version = 0, max_version = 5;
  static awaitable<handler_result<net::msg::describe_groups_response>> handle(request_ctx&,
                                                                              request_type);
};

}  // namespace eb::bridge

#pragma once
// ListGroups: groups with members (the coordinator) and groups with committed offsets only (Empty).
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

struct list_groups_handler {
  using request_type = net::msg::list_groups_request;
  static constexpr int16_t key = 16;
  static constexpr int16_t min_version = 0, max_version = 5;
  static awaitable<handler_result<net::msg::list_groups_response>> handle(request_ctx&,
                                                                          request_type);
};

}  // namespace eb::bridge

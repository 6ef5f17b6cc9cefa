#pragma once
// DeleteGroups: an Empty group's committed offsets go; a group with members gets NON_EMPTY_GROUP.
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

struct delete_groups_handler {
  using request_type = net::msg::delete_groups_request;
  static constexpr int16_t key = 42;
  static constexpr int16_t min_version = 0, max_version = 2;
  static awaitable<handler_result<net::msg::delete_groups_response>> handle(request_ctx&,
                                                                            request_type);
};

}  // namespace eb::bridge

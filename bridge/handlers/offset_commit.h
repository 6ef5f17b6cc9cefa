#pragma once
// OffsetCommit: validated by the coordinator, stored durably by storage.
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

struct offset_commit_handler {
  using request_type = net::msg::offset_commit_request;
  static constexpr int16_t key = 8;
  static constexpr int16_t min_version = 0, max_version = 9;
  static awaitable<handler_result<net::msg::offset_commit_response>> handle(request_ctx&,
                                                                            request_type);
};

}  // namespace eb::bridge

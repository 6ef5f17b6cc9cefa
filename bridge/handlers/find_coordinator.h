#pragma once
// FindCoordinator: edgebridge coordinates every group (v4+ batches keys: not advertised).
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

struct find_coordinator_handler {
  using request_type = net::msg::find_coordinator_request;
  static constexpr int16_t key = 10;
  static constexpr int16_t min_version = 0, max_version = 3;
  static awaitable<handler_result<net::msg::find_coordinator_response>> handle(request_ctx&,
                                                                               request_type);
};

}  // namespace eb::bridge

#pragma once
// OffsetForLeaderEpoch (KIP-320): edgebridge has one leader epoch, 0.
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

struct offset_for_leader_epoch_handler {
  using request_type = net::msg::offset_for_leader_epoch_request;
  static constexpr int16_t key = 23;
  static constexpr int16_t min_version = 0, max_version = 4;
  static awaitable<handler_result<net::msg::offset_for_leader_epoch_response>> handle(request_ctx&,
                                                                                      request_type);
};

}  // namespace eb::bridge

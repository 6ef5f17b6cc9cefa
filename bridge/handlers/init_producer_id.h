#pragma once
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

// Idempotent producers only (transactions are not supported). v3+ may ask to bump the epoch of
// an id it holds: the same id, epoch + 1 (a new id when the epoch would overflow).
struct init_producer_id_handler {
  using request_type = net::msg::init_producer_id_request;
  static constexpr int16_t key = 22;
  static constexpr int16_t min_version = 0, max_version = 4;
  static awaitable<handler_result<net::msg::init_producer_id_response>> handle(request_ctx&,
                                                                               request_type);
};

}  // namespace eb::bridge

#pragma once
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

// SaslAuthenticate v0-2: one SASL token each way; v1+ tells the session lifetime (KIP-368).
// A failure answers SASL_AUTHENTICATION_FAILED (or ILLEGAL_SASL_STATE) and closes.
struct sasl_authenticate_handler {
  using request_type = net::msg::sasl_authenticate_request;
  static constexpr int16_t key = 36;
  static constexpr int16_t min_version = 0, max_version = 2;
  static awaitable<handler_result<net::msg::sasl_authenticate_response>> handle(request_ctx&,
                                                                                request_type);
};

}  // namespace eb::bridge

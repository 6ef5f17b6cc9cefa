#pragma once
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

// SaslHandshake: v1 is followed by SaslAuthenticate requests, v0 by raw tokens (the server reads
// them without a request header; bridge/security/sasl.h). On a listener without SASL it answers
// ILLEGAL_SASL_STATE with no mechanisms, as Kafka does.
struct sasl_handshake_handler {
  using request_type = net::msg::sasl_handshake_request;
  static constexpr int16_t key = 17;
  static constexpr int16_t min_version = 0, max_version = 1;
  static awaitable<handler_result<net::msg::sasl_handshake_response>> handle(request_ctx&,
                                                                             request_type);
};

}  // namespace eb::bridge

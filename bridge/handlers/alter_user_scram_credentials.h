#pragma once
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

struct alter_user_scram_credentials_handler {
  using request_type = net::msg::alter_user_scram_credentials_request;
  static constexpr int16_t key = 51;
  static constexpr int16_t min_version = 0, max_version = 0;
  static awaitable<handler_result<net::msg::alter_user_scram_credentials_response>> handle(
      request_ctx&, request_type);
};

}  // namespace eb::bridge

#pragma once
// IncrementalAlterConfigs: SET/DELETE (APPEND/SUBTRACT on list configs) of topic configs,
// validated, persisted and applied at once; broker configs are read-only.
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

struct incremental_alter_configs_handler {
  using request_type = net::msg::incremental_alter_configs_request;
  static constexpr int16_t key = 44;
  static constexpr int16_t min_version = 0, max_version = 1;
  static awaitable<handler_result<net::msg::incremental_alter_configs_response>> handle(
      request_ctx&, request_type);
};

}  // namespace eb::bridge

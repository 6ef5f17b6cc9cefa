#pragma once
// DeleteRecords: moves a partition's log start; never past what the mirror has not confirmed
// (POLICY_VIOLATION while a mirror is configured and the records are not in the cloud yet).
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

struct delete_records_handler {
  using request_type = net::msg::delete_records_request;
  static constexpr int16_t key = 21;
  static constexpr int16_t min_version = 0, max_version = 2;
  static awaitable<handler_result<net::msg::delete_records_response>> handle(request_ctx&,
                                                                             request_type);
};

}  // namespace eb::bridge

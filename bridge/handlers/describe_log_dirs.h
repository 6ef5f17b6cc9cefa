#pragma once
// DescribeLogDirs: one log dir (storage.data_dir) with the stored bytes per partition.
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

struct describe_log_dirs_handler {
  using request_type = net::msg::describe_log_dirs_request;
  static constexpr int16_t key = 35;
  static constexpr int16_t min_version = 0, max_version = 4;
  static awaitable<handler_result<net::msg::describe_log_dirs_response>> handle(request_ctx&,
                                                                                request_type);
};

}  // namespace eb::bridge

#pragma once
// DescribeCluster: this single broker is the cluster and its controller.
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

struct describe_cluster_handler {
  using request_type = net::msg::describe_cluster_request;
  static constexpr int16_t key = 60;
  static constexpr int16_t min_version = 0, max_version = 1;
  static awaitable<handler_result<net::msg::describe_cluster_response>> handle(request_ctx&,
                                                                               request_type);
};

}  // namespace eb::bridge

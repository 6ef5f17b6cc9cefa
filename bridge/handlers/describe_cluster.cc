#include "bridge/handlers/describe_cluster.h"

namespace eb::bridge {

awaitable<handler_result<net::msg::describe_cluster_response>> describe_cluster_handler::handle(
    request_ctx& ctx, net::msg::describe_cluster_request req) {
  handler_result<net::msg::describe_cluster_response> reply;
  auto& resp = reply.body;
  resp.endpoint_type = req.endpoint_type;
  // Endpoint type 2 asks for controllers (KIP-919): this broker is also the controller.
  if (req.endpoint_type != 1 && req.endpoint_type != 2) {
    resp.error_code = static_cast<int16_t>(net::error_code::unsupported_endpoint_type);
    resp.error_message = "endpoint type must be 1 (brokers) or 2 (controllers)";
    co_return reply;
  }
  resp.cluster_id = ctx.svc.cluster_id;
  resp.controller_id = ctx.svc.node_id;
  auto& b = resp.brokers.emplace_back();
  b.broker_id = ctx.svc.node_id;
  b.host = ctx.svc.advertised_host;
  b.port = ctx.svc.advertised_port;
  b.rack = std::nullopt;
  co_return reply;
}

}  // namespace eb::bridge

// FindCoordinator: edgebridge itself coordinates every consumer group. Transaction coordinators
// (key type 1) do not exist here.
#include "bridge/handlers/find_coordinator.h"

namespace eb::bridge {

awaitable<handler_result<net::msg::find_coordinator_response>> find_coordinator_handler::handle(
    request_ctx& ctx, net::msg::find_coordinator_request req) {
  handler_result<net::msg::find_coordinator_response> result;
  auto& resp = result.body;
  constexpr int8_t group_key = 0;
  if (req.key_type != group_key || !ctx.svc.groups) {
    resp.error_code = static_cast<int16_t>(net::error_code::coordinator_not_available);
    resp.error_message = "edgebridge coordinates consumer groups only";
    resp.node_id = -1;
    resp.port = -1;
    co_return result;
  }
  if (req.key.empty()) {
    resp.error_code = static_cast<int16_t>(net::error_code::invalid_group_id);
    resp.node_id = -1;
    resp.port = -1;
    co_return result;
  }
  resp.error_message.reset();
  resp.node_id = ctx.svc.node_id;
  resp.host = ctx.svc.advertised_host;
  resp.port = ctx.svc.advertised_port;
  co_return result;
}

}  // namespace eb::bridge

#include "bridge/handlers/join_group.h"

#include <boost/asio/this_coro.hpp>

#include "bridge/errors.h"
#include "bridge/groups/coordinator.h"
#include "bridge/handlers/authz.h"

namespace eb::bridge {

namespace asio = boost::asio;

awaitable<handler_result<net::msg::join_group_response>> join_group_handler::handle(
    request_ctx& ctx, net::msg::join_group_request req) {
  // A join may wait up to the rebalance timeout; on server stop it answers at once with
  // COORDINATOR_NOT_AVAILABLE (retriable) instead of holding the shutdown.
  co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
  co_await asio::this_coro::throw_if_cancelled(false);
  handler_result<net::msg::join_group_response> result;
  auto& resp = result.body;
  const bool nullable_protocol = ctx.version() >= 7;
  if (!authorize(ctx, security::acl_operation::read, security::resource_type::group,
                 req.group_id)) {
    resp.error_code = static_cast<int16_t>(net::error_code::group_authorization_failed);
    resp.member_id = req.member_id;
    if (nullable_protocol) resp.protocol_name.reset();
    co_return result;
  }
  if (!ctx.svc.groups) {
    resp.error_code = static_cast<int16_t>(net::error_code::coordinator_not_available);
    resp.member_id = req.member_id;
    if (nullable_protocol) resp.protocol_name.reset();
    co_return result;
  }
  groups::join_args args;
  args.group_id = std::move(req.group_id);
  args.member_id = std::move(req.member_id);
  args.group_instance_id = std::move(req.group_instance_id);
  args.client_id = ctx.header.client_id.value_or("");
  args.client_host = ctx.peer;
  args.session_timeout = std::chrono::milliseconds(req.session_timeout_ms);
  // v0 has no rebalance timeout (the coordinator then uses the session timeout).
  args.rebalance_timeout =
      std::chrono::milliseconds(ctx.version() >= 1 ? req.rebalance_timeout_ms : -1);
  args.protocol_type = std::move(req.protocol_type);
  for (auto& p : req.protocols) {
    args.protocols.push_back({std::move(p.name), std::move(p.metadata)});
  }
  // KIP-394: from v4 a new member first learns its id through MEMBER_ID_REQUIRED.
  args.require_known_member_id = ctx.version() >= 4;

  auto joined = co_await ctx.svc.groups->join(std::move(args));
  resp.error_code = static_cast<int16_t>(to_kafka(joined.error));
  resp.generation_id = joined.generation;
  resp.member_id = std::move(joined.member_id);
  resp.leader = std::move(joined.leader);
  if (joined.error) {
    if (nullable_protocol) resp.protocol_name.reset();
    co_return result;
  }
  resp.protocol_type = std::move(joined.protocol_type);
  resp.protocol_name = std::move(joined.protocol_name);
  for (auto& m : joined.members) {
    auto& out = resp.members.emplace_back();
    out.member_id = std::move(m.member_id);
    out.group_instance_id = std::move(m.group_instance_id);
    out.metadata = std::move(m.metadata);
  }
  co_return result;
}

}  // namespace eb::bridge

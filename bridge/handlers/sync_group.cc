#include "bridge/handlers/sync_group.h"

#include <boost/asio/this_coro.hpp>

#include "bridge/errors.h"
#include "bridge/groups/coordinator.h"
#include "bridge/handlers/authz.h"

namespace eb::bridge {

namespace asio = boost::asio;

awaitable<handler_result<net::msg::sync_group_response>> sync_group_handler::handle(
    request_ctx& ctx, net::msg::sync_group_request req) {
  // Followers wait for the leader's assignment; on server stop they are answered at once.
  co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
  co_await asio::this_coro::throw_if_cancelled(false);
  handler_result<net::msg::sync_group_response> result;
  auto& resp = result.body;
  if (!authorize(ctx, security::acl_operation::read, security::resource_type::group,
                 req.group_id)) {
    resp.error_code = static_cast<int16_t>(net::error_code::group_authorization_failed);
    co_return result;
  }
  if (!ctx.svc.groups) {
    resp.error_code = static_cast<int16_t>(net::error_code::coordinator_not_available);
    co_return result;
  }
  groups::sync_args args;
  args.group_id = std::move(req.group_id);
  args.generation = req.generation_id;
  args.member_id = std::move(req.member_id);
  args.group_instance_id = std::move(req.group_instance_id);
  args.protocol_type = std::move(req.protocol_type);
  args.protocol_name = std::move(req.protocol_name);
  args.assignments.reserve(req.assignments.size());
  for (auto& a : req.assignments) {
    args.assignments.emplace_back(std::move(a.member_id), std::move(a.assignment));
  }
  auto synced = co_await ctx.svc.groups->sync(std::move(args));
  resp.error_code = static_cast<int16_t>(to_kafka(synced.error));
  if (synced.error) co_return result;
  resp.protocol_type = std::move(synced.protocol_type);
  resp.protocol_name = std::move(synced.protocol_name);
  resp.assignment = std::move(synced.assignment);
  co_return result;
}

}  // namespace eb::bridge

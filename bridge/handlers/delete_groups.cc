#include "bridge/handlers/delete_groups.h"

#include "bridge/async_storage.h"
#include "bridge/errors.h"
#include "bridge/groups/coordinator.h"

namespace eb::bridge {

awaitable<handler_result<net::msg::delete_groups_response>> delete_groups_handler::handle(
    request_ctx& ctx, net::msg::delete_groups_request req) {
  handler_result<net::msg::delete_groups_response> reply;
  for (auto& id : req.groups_names) {
    auto& out = reply.body.results.emplace_back();
    out.group_id = id;
    auto fail = [&](net::error_code code) { out.error_code = static_cast<int16_t>(code); };
    if (!ctx.svc.groups) {
      fail(net::error_code::coordinator_not_available);
      continue;
    }
    auto busy = co_await ctx.svc.groups->check_deletable(id);
    if (busy) {
      fail(to_kafka(busy));
      continue;
    }
    auto offsets = co_await async_read(
        ctx.svc.readers, [&store = ctx.svc.store, &id] { return store.group_offsets(id); });
    if (offsets.empty()) {
      fail(net::error_code::group_id_not_found);
      continue;
    }
    // GCC 12: no lambda with a non-trivial capture inside a co_await expression (it is
    // destroyed twice); the adapters of async_storage.h take their arguments by value.
    auto deleted = co_await async_delete_group_offsets(ctx.svc.store, id);
    if (!deleted) fail(to_kafka(deleted.error()));
  }
  co_return reply;
}

}  // namespace eb::bridge

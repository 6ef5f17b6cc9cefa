#include "bridge/handlers/list_groups.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "bridge/async_storage.h"
#include "bridge/groups/coordinator.h"

namespace eb::bridge {
namespace {

// Groups known only by committed offsets that one answer lists at most.
constexpr size_t max_stored_groups = 100'000;

}  // namespace

awaitable<handler_result<net::msg::list_groups_response>> list_groups_handler::handle(
    request_ctx& ctx, net::msg::list_groups_request req) {
  handler_result<net::msg::list_groups_response> reply;
  // Groups with offsets but no members are Empty consumer groups, as in Kafka.
  std::map<std::string, std::pair<std::string, std::string>> found;  // id -> (type, state)
  auto stored = co_await async_read(
      ctx.svc.readers, [&store = ctx.svc.store] { return store.group_names(max_stored_groups); });
  for (auto& g : stored) found[g] = {"consumer", "Empty"};
  if (ctx.svc.groups) {
    auto live = co_await ctx.svc.groups->list();
    for (auto& g : live) {
      found[g.group_id] = {g.protocol_type.empty() ? std::string("consumer") : g.protocol_type,
                           groups::to_string(g.state)};
    }
  }
  for (auto& [id, type_state] : found) {
    const auto& [type, state] = type_state;
    if (!req.states_filter.empty() &&
        std::none_of(req.states_filter.begin(), req.states_filter.end(), [&](auto& f) {
          return std::equal(f.begin(), f.end(), state.begin(), state.end(),
                            [](char a, char b) { return std::tolower(a) == std::tolower(b); });
        })) {
      continue;
    }
    auto& out = reply.body.groups.emplace_back();
    out.group_id = id;
    out.protocol_type = type;
    out.group_state = state;
  }
  co_return reply;
}

}  // namespace eb::bridge

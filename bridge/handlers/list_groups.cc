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
  // Groups with offsets but no members are Empty consumer groups, as in Kafka (their type:
  // classic, which is what Kafka reports for a group that never had a KIP-848 member).
  struct listed {
    std::string type, state, group_type;
  };
  std::map<std::string, listed> found;
  auto stored = co_await async_read(
      ctx.svc.readers, [&store = ctx.svc.store] { return store.group_names(max_stored_groups); });
  for (auto& g : stored) found[g] = {"consumer", "Empty", "classic"};
  if (ctx.svc.groups) {
    auto live = co_await ctx.svc.groups->list();
    for (auto& g : live) {
      found[g.group_id] = {g.protocol_type.empty() ? std::string("consumer") : g.protocol_type,
                           g.state_name, g.group_type};
    }
  }
  auto matches = [](const std::vector<std::string>& filter, const std::string& value) {
    return filter.empty() || std::any_of(filter.begin(), filter.end(), [&](auto& f) {
             return std::equal(f.begin(), f.end(), value.begin(), value.end(),
                               [](char a, char b) { return std::tolower(a) == std::tolower(b); });
           });
  };
  for (auto& [id, g] : found) {
    if (!matches(req.states_filter, g.state) || !matches(req.types_filter, g.group_type)) continue;
    auto& out = reply.body.groups.emplace_back();
    out.group_id = id;
    out.protocol_type = g.type;
    out.group_state = g.state;
    out.group_type = g.group_type;
  }
  co_return reply;
}

}  // namespace eb::bridge

#include "bridge/handlers/create_partitions.h"

#include <set>

#include "bridge/async_storage.h"
#include "bridge/errors.h"

namespace eb::bridge {

awaitable<handler_result<net::msg::create_partitions_response>> create_partitions_handler::handle(
    request_ctx& ctx, net::msg::create_partitions_request req) {
  handler_result<net::msg::create_partitions_response> reply;
  std::set<std::string> seen;
  for (auto& t : req.topics) {
    auto& out = reply.body.results.emplace_back();
    out.name = t.name;
    auto fail = [&](net::error_code code, std::string message) {
      out.error_code = static_cast<int16_t>(code);
      out.error_message = std::move(message);
    };
    if (!seen.insert(t.name).second) {
      fail(net::error_code::invalid_request, "the topic is named twice");
      continue;
    }
    auto info = ctx.svc.topics.find_existing(t.name);
    if (!info) {
      fail(to_kafka(info.error()), info.error().message());
      continue;
    }
    if (t.assignments && !t.assignments->empty()) {
      for (auto& a : *t.assignments) {
        if (a.broker_ids != std::vector<int32_t>{ctx.svc.node_id}) {
          fail(net::error_code::invalid_replica_assignment,
               "edgebridge is a single broker (id " + std::to_string(ctx.svc.node_id) + ")");
          break;
        }
      }
      if (out.error_code) continue;
    }
    const int32_t now = info->config.partitions;
    if (t.count <= now) {
      fail(net::error_code::invalid_partitions,
           "Topic currently has " + std::to_string(now) + " partitions, which is higher than " +
               "or equal to the requested " + std::to_string(t.count) + ".");
      continue;
    }
    if (t.count > ctx.svc.topics.options()->max_partitions) {
      fail(net::error_code::invalid_partitions,
           "more partitions than topics.max_partitions (" +
               std::to_string(ctx.svc.topics.options()->max_partitions) + ")");
      continue;
    }
    if (req.validate_only) continue;
    auto grown = co_await async_add_partitions(ctx.svc.store, t.name, t.count);
    if (!grown) fail(to_kafka(grown.error()), grown.error().message());
  }
  co_return reply;
}

}  // namespace eb::bridge

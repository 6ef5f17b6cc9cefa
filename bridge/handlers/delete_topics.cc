#include "bridge/handlers/delete_topics.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <map>

#include "bridge/async_storage.h"
#include "bridge/errors.h"
#include "bridge/handlers/authz.h"
#include "bridge/handlers/topic_ids.h"

namespace eb::bridge {
namespace {

using topic_result = net::msg::delete_topics_response::deletable_topic_result;

// One entry of the request, by name (v0-5, v6 with a name) or by id (v6).
struct wanted {
  std::optional<std::string> name;
  net::uuid id{};
};

std::vector<wanted> wanted_topics(const net::msg::delete_topics_request& req, int16_t version) {
  std::vector<wanted> out;
  if (version >= 6) {
    for (auto& t : req.topics) out.push_back({t.name, t.topic_id});
  } else {
    for (auto& n : req.topic_names) out.push_back({n, {}});
  }
  return out;
}

}  // namespace

awaitable<handler_result<net::msg::delete_topics_response>> delete_topics_handler::handle(
    request_ctx& ctx, net::msg::delete_topics_request req) {
  handler_result<net::msg::delete_topics_response> reply;
  const auto topics = wanted_topics(req, ctx.version());
  // Kafka answers every entry of a name given twice with INVALID_REQUEST and deletes none of it.
  std::map<std::string, int> seen;
  for (auto& w : topics) {
    if (w.name) ++seen[*w.name];
  }
  // A positive timeout_ms bounds the whole request: topics not reached by then answer
  // REQUEST_TIMED_OUT (each deletion is one durable write, normally milliseconds; one under way
  // completes). 0 or less: no bound (Kafka then begins every deletion and answers at once).
  const auto deadline = req.timeout_ms > 0 ? std::chrono::steady_clock::now() +
                                                 std::chrono::milliseconds(req.timeout_ms)
                                           : std::chrono::steady_clock::time_point::max();
  for (auto w : topics) {
    auto& out = reply.body.responses.emplace_back();
    out.name = w.name;
    out.topic_id = w.id;
    auto fail = [&](net::error_code code, std::string message) {
      out.error_code = static_cast<int16_t>(code);
      if (ctx.version() >= 5) out.error_message = std::move(message);
    };
    const bool by_id = w.id != net::uuid{};
    if (w.name && by_id) {
      fail(net::error_code::invalid_request, "You may not specify both topic name and topic id.");
      continue;
    }
    if (!w.name && !by_id) {
      fail(net::error_code::invalid_request, "Neither topic name nor id was specified.");
      continue;
    }
    if (by_id) {
      auto found = topic_by_id(ctx.svc.topics, w.id);
      if (!found) {
        fail(net::error_code::unknown_topic_id, "This server does not host this topic ID.");
        continue;
      }
      w.name = found->name;
      out.name = w.name;
      ++seen[*w.name];
    }
    const std::string& name = *w.name;
    if (seen[name] > 1) {
      fail(net::error_code::invalid_request, "Duplicate topic name.");
      continue;
    }
    if (!authorize(ctx, security::acl_operation::remove, security::resource_type::topic, name)) {
      fail(net::error_code::topic_authorization_failed, "Authorization failed.");
      continue;
    }
    auto info = ctx.svc.topics.find(name);
    if (!info) {
      fail(net::error_code::unknown_topic_or_partition,
           "This server does not host this topic-partition.");
      continue;
    }
    out.topic_id = info->uuid;
    if (ctx.svc.downlink.owns(name)) {
      fail(net::error_code::policy_violation,
           "topic '" + name +
               "' is written by the downlink (copied from the cloud): edgebridge does not "
               "delete it; DeleteRecords frees its space");
      continue;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      fail(net::error_code::request_timed_out, "the request's timeout passed before this topic");
      continue;
    }
    auto deleted = co_await async_delete_topic(ctx.svc.store, name);
    if (!deleted) {
      fail(to_kafka(deleted.error()), deleted.error().message());
      continue;
    }
    spdlog::info("{}: {} deleted topic {} ({} partitions)", ctx.peer, ctx.principal(), name,
                 deleted->config.partitions);
  }
  co_return reply;
}

}  // namespace eb::bridge

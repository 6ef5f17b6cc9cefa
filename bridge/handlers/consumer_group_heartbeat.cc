#include "bridge/handlers/consumer_group_heartbeat.h"

#include <random>

#include "bridge/errors.h"
#include "bridge/groups/coordinator.h"
#include "bridge/handlers/authz.h"
#include "bridge/handlers/topic_ids.h"

namespace eb::bridge {
namespace {

// 22 characters of URL-safe base64 from 128 random bits, like Kafka's Uuid.toString().
std::string new_member_id() {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string id;
  uint64_t bits = 0;
  for (int i = 0; i < 22; ++i) {
    if (i % 10 == 0) bits = rng();
    id.push_back(alphabet[bits & 63]);
    bits >>= 6;
  }
  return id;
}

}  // namespace

awaitable<handler_result<net::msg::consumer_group_heartbeat_response>>
consumer_group_heartbeat_handler::handle(request_ctx& ctx,
                                         net::msg::consumer_group_heartbeat_request req) {
  handler_result<net::msg::consumer_group_heartbeat_response> result;
  auto& resp = result.body;
  auto fail = [&](net::error_code code, std::optional<std::string> message = std::nullopt) {
    resp.error_code = static_cast<int16_t>(code);
    resp.error_message = std::move(message);
    resp.member_id = req.member_id;
    resp.member_epoch = req.member_epoch;
  };
  if (req.group_id.empty()) {
    fail(net::error_code::invalid_request, "GroupId can't be empty.");
    co_return result;
  }
  if (!authorize(ctx, security::acl_operation::read, security::resource_type::group,
                 req.group_id)) {
    fail(net::error_code::group_authorization_failed);
    co_return result;
  }
  if (!ctx.svc.groups) {
    fail(net::error_code::coordinator_not_available);
    co_return result;
  }
  groups::consumer_heartbeat_args hb;
  hb.member_id = req.member_id;
  hb.member_epoch = req.member_epoch;
  hb.instance_id = req.instance_id;
  hb.rack_id = req.rack_id;
  hb.rebalance_timeout_ms = req.rebalance_timeout_ms;
  hb.topic_names = req.subscribed_topic_names;
  hb.topic_regex = req.subscribed_topic_regex;
  hb.server_assignor = req.server_assignor;
  if (req.topic_partitions) {
    hb.owned.emplace();
    for (auto& t : *req.topic_partitions) {
      (*hb.owned)[t.topic_id].insert(t.partitions.begin(), t.partitions.end());
    }
    groups::normalize(*hb.owned);
  }
  hb.client_id = ctx.header.client_id.value_or("");
  hb.client_host = "/" + ctx.host;
  std::string message;
  if (auto bad = groups::check_heartbeat(hb, ctx.version(), message)) {
    fail(to_kafka(bad), message);
    co_return result;
  }
  // v0: the coordinator names a joining member that brings no id (v1+: the client does).
  if (hb.member_id.empty() && hb.member_epoch == 0) hb.member_id = new_member_id();
  auto r = co_await ctx.svc.groups->consumer_heartbeat(req.group_id, std::move(hb),
                                                       topic_snapshot_of(ctx.svc.topics));
  if (r.error) {
    fail(to_kafka(r.error),
         r.message.empty() ? std::optional<std::string>{} : std::optional{r.message});
    co_return result;
  }
  resp.member_id = r.member_id;
  resp.member_epoch = r.member_epoch;
  resp.heartbeat_interval_ms = r.heartbeat_interval_ms;
  if (r.assigned) {
    auto& a = resp.assignment.emplace();
    for (auto& [id, ps] : *r.assigned) {
      auto& tp = a.topic_partitions.emplace_back();
      tp.topic_id = id;
      tp.partitions.assign(ps.begin(), ps.end());
    }
  }
  co_return result;
}

}  // namespace eb::bridge

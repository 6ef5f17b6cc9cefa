// OffsetCommit: the coordinator checks that the commit comes from a current member and
// generation (or is a standalone commit: generation -1, no member, group without members); then
// storage writes every valid partition's offset durably in one write.
#include "bridge/handlers/offset_commit.h"

#include <map>

#include "bridge/async_storage.h"
#include "bridge/errors.h"
#include "bridge/groups/coordinator.h"
#include "bridge/handlers/authz.h"

namespace eb::bridge {
namespace {

// Kafka's offset.metadata.max.bytes default.
constexpr size_t max_metadata_bytes = 4096;

}  // namespace

awaitable<handler_result<net::msg::offset_commit_response>> offset_commit_handler::handle(
    request_ctx& ctx, net::msg::offset_commit_request req) {
  handler_result<net::msg::offset_commit_response> result;
  auto& resp = result.body;
  auto fill = [&](auto code_for) {
    resp.topics.clear();
    for (auto& t : req.topics) {
      auto& tr = resp.topics.emplace_back();
      tr.name = t.name;
      for (auto& p : t.partitions) {
        auto& out = tr.partitions.emplace_back();
        out.partition_index = p.partition_index;
        out.error_code = static_cast<int16_t>(code_for(t, p));
      }
    }
  };
  auto all = [&](net::error_code code) { fill([code](auto&, auto&) { return code; }); };

  if (req.group_id.empty()) {
    all(net::error_code::invalid_group_id);
    co_return result;
  }
  if (!authorize(ctx, security::acl_operation::read, security::resource_type::group,
                 req.group_id)) {
    all(net::error_code::group_authorization_failed);
    co_return result;
  }
  if (!ctx.svc.groups) {
    all(net::error_code::coordinator_not_available);
    co_return result;
  }
  // v0 carries no generation or member: a standalone commit.
  const int32_t generation = ctx.version() >= 1 ? req.generation_id_or_member_epoch : -1;
  // A consumer-protocol group (KIP-848) checks the member and its epoch; else the classic rules.
  std::error_code valid;
  auto kip848 = co_await ctx.svc.groups->consumer_validate_offsets(req.group_id, req.member_id,
                                                                   generation, true);
  if (kip848) {
    valid = *kip848;
  } else {
    valid = co_await ctx.svc.groups->validate_commit(req.group_id, generation, req.member_id);
  }
  if (valid) {
    all(to_kafka(valid));
    co_return result;
  }

  std::map<std::pair<std::string, int32_t>, storage::committed_offset> offsets;
  auto check = [&](const auto& t, const auto& p) {
    if (!authorize(ctx, security::acl_operation::read, security::resource_type::topic, t.name)) {
      return net::error_code::topic_authorization_failed;
    }
    auto info = ctx.svc.topics.find(t.name);
    if (!info || p.partition_index < 0 || p.partition_index >= info->config.partitions) {
      return net::error_code::unknown_topic_or_partition;
    }
    if (p.committed_metadata && p.committed_metadata->size() > max_metadata_bytes) {
      return net::error_code::offset_metadata_too_large;
    }
    return net::error_code::none;
  };
  for (auto& t : req.topics) {
    for (auto& p : t.partitions) {
      if (check(t, p) != net::error_code::none) continue;
      offsets[{t.name, p.partition_index}] = {p.committed_offset,
                                              p.committed_metadata.value_or("")};
    }
  }
  net::error_code stored = net::error_code::none;
  if (!offsets.empty()) {
    auto written =
        co_await async_commit_group_offsets(ctx.svc.store, req.group_id, std::move(offsets));
    if (!written) stored = to_kafka_group_commit(written.error());
  }
  fill([&](auto& t, auto& p) {
    auto code = check(t, p);
    return code != net::error_code::none ? code : stored;
  });
  co_return result;
}

}  // namespace eb::bridge

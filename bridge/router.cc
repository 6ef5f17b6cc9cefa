#include "bridge/router.h"

#include <spdlog/spdlog.h>

#include <array>
#include <chrono>

#include "bridge/handlers/alter_configs.h"
#include "bridge/handlers/alter_user_scram_credentials.h"
#include "bridge/handlers/api_versions.h"
#include "bridge/handlers/consumer_group_describe.h"
#include "bridge/handlers/consumer_group_heartbeat.h"
#include "bridge/handlers/create_acls.h"
#include "bridge/handlers/create_partitions.h"
#include "bridge/handlers/create_topics.h"
#include "bridge/handlers/delete_acls.h"
#include "bridge/handlers/delete_groups.h"
#include "bridge/handlers/delete_records.h"
#include "bridge/handlers/delete_topics.h"
#include "bridge/handlers/describe_acls.h"
#include "bridge/handlers/describe_cluster.h"
#include "bridge/handlers/describe_configs.h"
#include "bridge/handlers/describe_groups.h"
#include "bridge/handlers/describe_log_dirs.h"
#include "bridge/handlers/describe_user_scram_credentials.h"
#include "bridge/handlers/fetch.h"
#include "bridge/handlers/find_coordinator.h"
#include "bridge/handlers/heartbeat.h"
#include "bridge/handlers/incremental_alter_configs.h"
#include "bridge/handlers/init_producer_id.h"
#include "bridge/handlers/join_group.h"
#include "bridge/handlers/leave_group.h"
#include "bridge/handlers/list_groups.h"
#include "bridge/handlers/list_offsets.h"
#include "bridge/handlers/metadata.h"
#include "bridge/handlers/offset_commit.h"
#include "bridge/handlers/offset_fetch.h"
#include "bridge/handlers/offset_for_leader_epoch.h"
#include "bridge/handlers/produce.h"
#include "bridge/handlers/sasl_authenticate.h"
#include "bridge/handlers/sasl_handshake.h"
#include "bridge/handlers/sync_group.h"
#include "bridge/security/sasl.h"
#include "bridge/status/traffic.h"
#include "common/rate_limited.h"
#include "net/messages/messages.h"

namespace eb::bridge {
namespace {

using invoke_fn = awaitable<net::response> (*)(request_ctx&, const net::request&);

struct handler_entry {
  api_range range;
  invoke_fn invoke;
};

net::response close_connection() { return net::response{.send = false, .close_after = true}; }

std::string_view api_name(int16_t key) {
  auto* api = net::find_api(key);
  return api ? api->name : std::string_view("unknown");
}

template <class Handler>
awaitable<net::response> invoke(request_ctx& ctx, const net::request& req) {
  net::reader in(req.body());
  auto decoded = Handler::request_type::decode(in, ctx.version());
  if (!decoded) {
    spdlog::warn("{}: malformed {} v{} request ({}): closing the connection", ctx.peer,
                 api_name(Handler::key), ctx.version(), decoded.error().message());
    co_return close_connection();
  }
  auto result = co_await Handler::handle(ctx, std::move(*decoded));
  net::response resp;
  resp.send = result.send;
  resp.close_after = result.close;
  if (resp.send) {
    net::writer out;
    result.body.encode(out, ctx.version());
    resp.body = out.take();
    resp.response_header_version = net::response_header_version(Handler::key, ctx.version());
  }
  co_return resp;
}

template <class Handler>
constexpr handler_entry entry() {
  return {{Handler::key, Handler::min_version, Handler::max_version}, &invoke<Handler>};
}

// The only list of handlers.
constexpr std::array handlers = {
    entry<produce_handler>(),
    entry<metadata_handler>(),
    entry<create_topics_handler>(),
    entry<init_producer_id_handler>(),
    entry<api_versions_handler>(),
    // The consumer side.
    entry<fetch_handler>(),
    entry<list_offsets_handler>(),
    entry<offset_for_leader_epoch_handler>(),
    entry<find_coordinator_handler>(),
    entry<join_group_handler>(),
    entry<sync_group_handler>(),
    entry<heartbeat_handler>(),
    entry<leave_group_handler>(),
    entry<offset_commit_handler>(),
    entry<offset_fetch_handler>(),
    // The consumer group protocol (KIP-848).
    entry<consumer_group_heartbeat_handler>(),
    entry<consumer_group_describe_handler>(),
    // Security: SASL, ACLs, SCRAM credentials.
    entry<sasl_handshake_handler>(),
    entry<sasl_authenticate_handler>(),
    entry<create_acls_handler>(),
    entry<describe_acls_handler>(),
    entry<delete_acls_handler>(),
    entry<describe_user_scram_credentials_handler>(),
    entry<alter_user_scram_credentials_handler>(),
    // The admin APIs (issue 18).
    entry<describe_configs_handler>(),
    entry<incremental_alter_configs_handler>(),
    entry<alter_configs_handler>(),
    entry<list_groups_handler>(),
    entry<describe_groups_handler>(),
    entry<delete_groups_handler>(),
    entry<delete_records_handler>(),
    entry<describe_cluster_handler>(),
    entry<describe_log_dirs_handler>(),
    entry<create_partitions_handler>(),
    entry<delete_topics_handler>(),
};

constexpr std::array<api_range, handlers.size()> ranges = [] {
  std::array<api_range, handlers.size()> r{};
  for (size_t i = 0; i < handlers.size(); ++i) r[i] = handlers[i].range;
  return r;
}();

const handler_entry* find_handler(int16_t key) {
  for (auto& h : handlers) {
    if (h.range.key == key) return &h;
  }
  return nullptr;
}

}  // namespace

std::span<const api_range> supported_apis() { return ranges; }

int router::request_header_version(int16_t api_key, int16_t api_version) const {
  auto* h = find_handler(api_key);
  if (!h || api_version < h->range.min_version || api_version > h->range.max_version) return -1;
  return net::request_header_version(api_key, api_version);
}

namespace {

// "ip:port" or "[v6]:port" -> the IP.
std::string host_of(const std::string& peer) {
  auto colon = peer.rfind(':');
  std::string host = colon == std::string::npos ? peer : peer.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host;
}

}  // namespace

awaitable<net::response> router::handle(net::request req) {
  // A request built without a connection (tests) has a plaintext session of its own.
  if (!req.session) req.session = std::make_shared<net::session>();
  request_ctx ctx{_svc, req.header, req.peer, *req.session, host_of(req.peer)};
  // SASL listeners: nothing but the SASL exchange before authentication (Kafka closes the
  // connection), nothing once the session lifetime passed without re-authentication.
  if (!security::may_serve(*req.session, req.header.api_key, std::chrono::steady_clock::now())) {
    static rate_limited limit(std::chrono::seconds(10));
    if (auto n = limit.admit()) {
      spdlog::warn(
          "{}: {} before SASL authentication (or after the session expired): closing "
          "the connection ({} like it suppressed)",
          req.peer, api_name(req.header.api_key), *n);
    }
    co_return close_connection();
  }
  auto* h = find_handler(req.header.api_key);
  if (!h) {
    spdlog::warn("{}: unknown API key {}: closing the connection", req.peer, req.header.api_key);
    co_return close_connection();
  }
  if (req.header.api_version < h->range.min_version ||
      req.header.api_version > h->range.max_version) {
    if (req.header.api_key == api_versions_handler::key) {
      co_return net::response{.body = api_versions_handler::unsupported_version_body()};
    }
    spdlog::warn("{}: unsupported {} version {}: closing the connection", req.peer,
                 api_name(req.header.api_key), req.header.api_version);
    co_return close_connection();
  }
  const auto start = std::chrono::steady_clock::now();
  auto resp = co_await h->invoke(ctx, req);
  if (_svc.traffic) {
    _svc.traffic->observe_request(req.header.api_key, std::chrono::steady_clock::now() - start);
  }
  co_return resp;
}

}  // namespace eb::bridge

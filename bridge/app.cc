#include "bridge/app.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <optional>

#include "bridge/compaction_codec.h"
#include "bridge/downlink/downlink.h"
#include "bridge/fetch/waiters.h"
#include "bridge/groups/coordinator.h"
#include "bridge/mirror/mirror.h"
#include "bridge/router.h"
#include "bridge/services.h"
#include "bridge/status/status.h"
#include "bridge/status/traffic.h"
#include "bridge/topics.h"
#include "net/http_server.h"
#include "net/record_batch.h"
#include "net/server.h"
#include "storage/storage.h"

namespace eb::bridge {

namespace {

// The decompression bound follows the request bound: a batch may inflate to 8x the largest
// request, at most to what the mirror and fetch decoders accept.
handler_options handler_options_of(const config::bridge_config& cfg) {
  auto o = cfg.handlers;
  o.max_decompressed_batch_bytes =
      std::min<uint64_t>(net::default_max_decompressed, uint64_t{cfg.server.max_request_bytes} * 8);
  return o;
}

// The status module's view of the uplink: bridge/status does not see the mirror.
uplink_view view_of(const mirror_status& m) {
  uplink_view v;
  v.state = to_string(m.uplink);
  v.last_error = m.last_error;
  v.resyncs = m.resyncs;
  v.reconnects = m.reconnects;
  v.gaps_reported = m.gaps_reported;
  v.delivered_records = m.delivered_records;
  v.delivered_bytes = m.delivered_bytes;
  v.inflight_bytes = m.inflight_bytes;
  v.partitions.reserve(m.partitions.size());
  for (auto& p : m.partitions) {
    v.partitions.push_back({.topic = p.topic,
                            .partition = p.partition,
                            .target_topic = p.target_topic,
                            .state = p.state,
                            .reason = p.error,
                            .confirmed_offset = p.confirmed_offset,
                            .backlog_records = p.backlog_records,
                            .backlog_bytes = p.backlog_bytes,
                            .delivered_records = p.delivered_records,
                            .delivered_bytes = p.delivered_bytes});
  }
  return v;
}

downlink_view view_of(const downlink_status& d) {
  downlink_view v;
  v.state = d.state;
  v.last_error = d.last_error;
  v.quota_pauses = d.quota_pauses;
  v.records = d.records;
  v.errors = d.errors;
  for (auto& r : d.rules) v.rules.emplace_back(r.cloud, r.local);
  v.partitions.reserve(d.partitions.size());
  for (auto& p : d.partitions) {
    v.partitions.push_back({.cloud_topic = p.cloud_topic,
                            .partition = p.partition,
                            .topic = p.local_topic,
                            .state = p.state,
                            .error = p.error,
                            .cursor = p.cursor,
                            .cloud_high_watermark = p.high_watermark,
                            .lag = p.lag,
                            .records = p.records});
  }
  return v;
}

}  // namespace

// Declaration order is construction order; destruction runs the other way.
struct app::parts {
  explicit parts(const config::bridge_config& c, std::unique_ptr<storage::log_store> s)
      : cfg(c),
        store(std::move(s)),
        topics(*store, cfg.topics),
        readers(static_cast<size_t>(cfg.reader_threads)),
        svc{.store = *store,
            .topics = topics,
            .handlers = handler_options_of(cfg),
            .readers = readers},
        fetches(*store),
        requests(svc),
        server(cfg.server, requests),
        // Runs on the server's io threads: destroyed after server.stop() joined them.
        groups(server.executor(), cfg.groups),
        status(status_sources{.store = *store,
                              .traffic = traffic,
                              .site_id = cfg.site_id,
                              .disk_quota_bytes = cfg.storage.max_disk_bytes,
                              .connections = [this] { return server.connection_count(); },
                              .listening = [this] { return serving.load(); },
                              .uplink = uplink_view_fn(cfg),
                              .downlink = downlink_view_fn(cfg)}),
        http(cfg.http, [this](std::string_view method, std::string_view target) {
          return status.handle(method, target);
        }) {
    svc.cluster_id = "edgebridge-" + cfg.site_id;
    svc.data_dir = cfg.storage.data_dir.string();
    svc.fetches = &fetches;
    svc.groups = &groups;
    svc.traffic = &traffic;
  }

  // Without a mirror configured, the status says "off" rather than asking.
  std::function<std::optional<uplink_view>()> uplink_view_fn(const config::bridge_config& c) {
    if (!c.mirror.active()) return nullptr;
    return [this]() -> std::optional<uplink_view> {
      if (!uplink) return uplink_view{.state = "stopped"};
      return view_of(uplink->status());
    };
  }

  std::function<std::optional<downlink_view>()> downlink_view_fn(const config::bridge_config& c) {
    if (!c.downlink.active()) return nullptr;
    return [this]() -> std::optional<downlink_view> {
      if (!down) return downlink_view{.state = "stopped"};
      return view_of(down->status());
    };
  }

  const config::bridge_config cfg;
  // Counted by handlers from the first request: built before everything that serves.
  traffic_registry traffic;
  std::unique_ptr<storage::log_store> store;
  topic_registry topics;
  // Storage reads of the handlers. Joined once the server has stopped: a finished read posts
  // back to the server's executor.
  boost::asio::thread_pool readers;
  services svc;
  // Long-poll fetches wait on storage's advance signal: it outlives every fetch handler.
  fetch_waiters fetches;
  router requests;
  net::server server;
  groups::coordinator groups;
  // Built before the mirror starts (its owns() is the mirror's exclusion); stopped before it.
  std::optional<bridge::downlink> down;
  std::optional<mirror> uplink;
  // The Kafka listener serves: what /readyz says (storage is open whenever the app exists).
  std::atomic<bool> serving{false};
  status_service status;
  // Stopped before what the status reads (the mirror, storage) stops; see stop().
  net::http_server http;
  bool stopped = false;
};

namespace {

// The address Metadata hands to clients: the configured one, else the listener's own (a
// wildcard bind advertises loopback).
std::pair<std::string, int32_t> advertised(const config::bridge_config& cfg, uint16_t bound_port) {
  std::string host = cfg.advertised_host;
  if (host.empty()) host = cfg.server.host == "0.0.0.0" ? "127.0.0.1" : cfg.server.host;
  return {host, cfg.advertised_port ? cfg.advertised_port : bound_port};
}

}  // namespace

result<std::unique_ptr<app>> app::start(const config::bridge_config& cfg) {
  auto storage_opts = cfg.storage;
  // A configured mirror holds retention even while disabled: the data waits for it.
  storage_opts.unmirrored = cfg.mirror.bootstrap.empty()
                                ? storage::unmirrored_retention::delete_and_record
                                : storage::unmirrored_retention::hold;
  storage_opts.codec = make_compaction_codec();  // cleanup.policy=compact
  auto store = storage::log_store::open(storage_opts);
  if (!store) {
    spdlog::critical("cannot open storage in {}: {}", cfg.storage.data_dir.string(),
                     store.error().message());
    return store.error();
  }
  std::unique_ptr<app> a(new app(std::make_unique<parts>(cfg, std::move(*store))));
  auto& p = *a->_parts;
  // Before serving: an edited config file applies to existing topics under their stored
  // (admin API) topic configs.
  if (auto changed = p.topics.reconcile_blocking(); !changed) {
    spdlog::critical("cannot apply topic configs: {}", changed.error().message());
    a->stop();
    return changed.error();
  } else if (*changed) {
    spdlog::info("topic configs: the config file changed {} topic(s)", *changed);
  }
  if (auto started = p.server.start(); !started) {
    spdlog::critical("cannot listen on {}:{}: {}", cfg.server.host, cfg.server.port,
                     started.error().message());
    a->stop();
    return started.error();
  }
  std::tie(p.svc.advertised_host, p.svc.advertised_port) = advertised(cfg, p.server.port());
  p.serving = true;
  // Local topics the downlink writes never go up: the mirror asks the downlink, or, with the
  // downlink off, the marks it left in storage.
  auto mirror_opts = cfg.mirror;
  if (cfg.downlink.active()) {
    p.down.emplace(cfg.downlink, *p.store,
                   [&topics = p.cfg.topics](const std::string& t) { return topics.config_for(t); });
    mirror_opts.exclude = [d = &*p.down](const std::string& t) { return d->owns(t); };
  } else {
    mirror_opts.exclude = [owned = downlink_owned_topics(*p.store)](const std::string& t) {
      return owned.count(t) > 0;
    };
  }
  if (cfg.mirror.active()) {
    p.uplink.emplace(mirror_opts, *p.store);
    if (auto started = p.uplink->start(); !started) {
      spdlog::critical("cannot start the mirror: {}", started.error().message());
      p.uplink.reset();
      a->stop();
      return started.error();
    }
  }
  if (p.down) {
    if (auto started = p.down->start(); !started) {
      spdlog::critical("cannot start the downlink: {}", started.error().message());
      a->stop();
      return started.error();
    }
  }
  // After the mirror: the status reads `uplink`, which must not change under it.
  if (cfg.http.enabled) {
    if (auto started = p.http.start(); !started) {
      spdlog::critical("cannot serve HTTP on {}:{}: {}", cfg.http.host, cfg.http.port,
                       started.error().message());
      a->stop();
      return started.error();
    }
  }
  p.status.start();
  spdlog::info("edgebridge {} listening on {}:{} (advertised {}:{}), data in {}, {}", cfg.site_id,
               cfg.server.host, p.server.port(), p.svc.advertised_host, p.svc.advertised_port,
               cfg.storage.data_dir.string(),
               p.uplink ? "mirroring to " + cfg.mirror.bootstrap : std::string("mirror off"));
  if (cfg.http.enabled) {
    spdlog::info("status page, /metrics and /v1/status on http://{}:{}/", cfg.http.host,
                 p.http.port());
  }
  return a;
}

app::app(std::unique_ptr<parts> p) : _parts(std::move(p)) {}

app::~app() { stop(); }

void app::stop() {
  auto& p = *_parts;
  if (p.stopped) return;
  p.stopped = true;
  // /readyz answers 503 while the listener drains, so a balancer stops sending first.
  p.serving = false;
  p.server.stop();
  p.readers.join();
  p.http.stop();
  p.status.stop();
  if (p.down) p.down->stop();
  if (p.uplink) p.uplink->stop(p.cfg.server.shutdown_grace);
  p.store->close();
}

uint16_t app::port() const { return _parts->server.port(); }
uint16_t app::http_port() const { return _parts->http.port(); }
const std::string& app::advertised_host() const { return _parts->svc.advertised_host; }
int32_t app::advertised_port() const { return _parts->svc.advertised_port; }
boost::asio::any_io_executor app::io_executor() { return _parts->server.executor(); }
storage::log_store& app::store() { return *_parts->store; }
groups::coordinator& app::coordinator() { return _parts->groups; }
size_t app::waiting_fetches() const { return _parts->fetches.size(); }
mirror* app::uplink() { return _parts->uplink ? &*_parts->uplink : nullptr; }
bridge::downlink* app::downlink() { return _parts->down ? &*_parts->down : nullptr; }

}  // namespace eb::bridge

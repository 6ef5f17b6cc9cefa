#include "bridge/app.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <optional>

#include "bridge/app/parts.h"
#include "bridge/compaction_codec.h"
#include "bridge/security/authorizer.h"
#include "bridge/security/users.h"
#include "net/record_batch.h"

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

// The single-listener form of the config keeps its advertised address at the top level.
net::server_options server_options_of(const config::bridge_config& cfg) {
  auto o = cfg.server;
  if (o.advertised_host.empty()) o.advertised_host = cfg.advertised_host;
  if (o.advertised_port == 0) o.advertised_port = cfg.advertised_port;
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

app::parts::parts(const config::bridge_config& c, std::unique_ptr<storage::log_store> s,
                  config_layers l)
    : cfg(c),
      store(std::move(s)),
      topics(*store, cfg.topics),
      authz(cfg.security.authorization, *store),
      readers(static_cast<size_t>(cfg.reader_threads)),
      svc{.store = *store,
          .topics = topics,
          .handlers = handler_options_of(cfg),
          .readers = readers},
      fetches(*store),
      requests(svc),
      server(server_options_of(cfg), requests),
      // Runs on the server's io threads: destroyed after server.stop() joined them.
      groups(server.executor(), cfg.groups),
      running(c),
      layers(std::move(l)),
      remote_files(cfg.storage.data_dir),
      status(status_sources{.store = *store,
                            .traffic = traffic,
                            .site_id = cfg.site_id,
                            .disk_quota_bytes = cfg.storage.max_disk_bytes,
                            .connections = [this] { return server.connection_count(); },
                            .listening = [this] { return serving.load(); },
                            .uplink = [this] { return uplink_status(); },
                            .config =
                                [this] {
                                  std::lock_guard lk(view_mutex);
                                  return view;
                                },
                            .downlink = [this]() -> std::optional<downlink_view> {
                              if (!cfg.downlink.active()) return std::nullopt;
                              if (!down) return downlink_view{.state = "stopped"};
                              return view_of(down->status());
                            }}),
      http(cfg.http, [this](std::string_view method, std::string_view target) {
        return status.handle(method, target);
      }) {
  svc.cluster_id = "edgebridge-" + cfg.site_id;
  svc.data_dir = cfg.storage.data_dir.string();
  svc.fetches = &fetches;
  svc.groups = &groups;
  svc.traffic = &traffic;
  // Without an enabled authorizer everything is allowed and the ACL APIs answer
  // SECURITY_DISABLED, as Kafka without authorizer.class.name.
  if (cfg.security.authorization.enabled) svc.authz = &authz;
  svc.sasl = &cfg.security.sasl;
  mirror_wanted = cfg.mirror.active();
}

// Without a mirror configured, the status says "off" rather than asking.
std::optional<uplink_view> app::parts::uplink_status() {
  if (!mirror_wanted) return std::nullopt;
  auto m = current_mirror();
  if (!m) return uplink_view{.state = "stopped"};
  auto v = view_of(m->status());
  v.bandwidth_bytes_per_sec = m->bandwidth();
  return v;
}

result<std::unique_ptr<app>> app::start(const config::bridge_config& cfg, config_layers layers) {
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
  std::unique_ptr<app> a(
      new app(std::make_unique<parts>(cfg, std::move(*store), std::move(layers))));
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
  // The configured users exist before the first client can authenticate.
  if (auto users = security::ensure_users(*p.store, cfg.security.users); !users) {
    spdlog::critical("cannot set the configured users: {}", users.error().message());
    a->stop();
    return users.error();
  }
  if (auto started = p.server.start(); !started) {
    spdlog::critical("cannot start the Kafka listeners: {}", started.error().message());
    a->stop();
    return started.error();
  }
  // The first listener's: for sessions without their own (none in the product) and the logs.
  std::tie(p.svc.advertised_host, p.svc.advertised_port) = p.server.advertised();
  p.serving = true;
  // Local topics the downlink writes never go up: the mirror asks the downlink, or, with the
  // downlink off, the marks it left in storage.
  auto mirror_opts = cfg.mirror;
  if (cfg.downlink.active()) {
    // The topic options in force (live reconfiguration swaps them).
    p.down.emplace(cfg.downlink, *p.store, [&topics = p.topics](const std::string& t) {
      return topics.options()->config_for(t);
    });
    mirror_opts.exclude = [d = &*p.down](const std::string& t) { return d->owns(t); };
  } else {
    mirror_opts.exclude = [owned = downlink_owned_topics(*p.store)](const std::string& t) {
      return owned.count(t) > 0;
    };
  }
  // A mirror rebuilt by live reconfiguration keeps the same exclusion.
  p.mirror_exclude = mirror_opts.exclude;
  p.svc.downlink.set(mirror_opts.exclude);
  if (cfg.mirror.active()) {
    auto m = std::make_shared<mirror>(mirror_opts, *p.store);
    if (auto started = m->start(); !started) {
      spdlog::critical("cannot start the mirror: {}", started.error().message());
      a->stop();
      return started.error();
    }
    std::lock_guard lk(p.mirror_mutex);
    p.uplink = std::move(m);
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
  {
    // What load_layers merged in: the remote document in force.
    std::lock_guard lk(p.view_mutex);
    p.view.seen_version = p.remote_files.seen_version();
    if (auto doc = p.remote_files.document(); !doc.empty() && p.layers.remote_applied) {
      p.view.remote_version = p.layers.remote_version;
    }
  }
  if (cfg.remote.enabled && !cfg.mirror.bootstrap.empty()) a->start_remote();
  spdlog::info("edgebridge {} listening on port {} (advertised {}:{}), data in {}, {}", cfg.site_id,
               p.server.port(), p.svc.advertised_host, p.svc.advertised_port,
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
  // First: its handler reconfigures the other parts.
  if (p.link) p.link->stop();
  // /readyz answers 503 while the listener drains, so a balancer stops sending first.
  p.serving = false;
  p.server.stop();
  p.readers.join();
  p.http.stop();
  p.status.stop();
  if (p.down) p.down->stop();
  if (auto m = p.current_mirror()) m->stop(p.cfg.server.shutdown_grace);
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
mirror* app::uplink() { return _parts->current_mirror().get(); }
bridge::downlink* app::downlink() { return _parts->down ? &*_parts->down : nullptr; }

}  // namespace eb::bridge

#include "bridge/app.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <optional>

#include "bridge/fetch/waiters.h"
#include "bridge/groups/coordinator.h"
#include "bridge/mirror/mirror.h"
#include "bridge/router.h"
#include "bridge/services.h"
#include "bridge/topics.h"
#include "net/server.h"
#include "storage/storage.h"

namespace eb::bridge {
namespace {

sigset_t shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// The address Metadata hands to clients.
std::pair<std::string, int32_t> advertised(const config::bridge_config& cfg, uint16_t bound_port) {
  std::string host = cfg.advertised_host;
  if (host.empty()) host = cfg.server.host == "0.0.0.0" ? "127.0.0.1" : cfg.server.host;
  return {host, cfg.advertised_port ? cfg.advertised_port : bound_port};
}

}  // namespace

int run(const config::bridge_config& cfg) {
  // Blocked before any thread exists, so every thread inherits the mask and only sigwait below
  // sees the signals.
  const sigset_t signals = shutdown_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto storage_opts = cfg.storage;
  storage_opts.retention_waits_for_mirror = cfg.mirror.active();
  auto store = storage::log_store::open(storage_opts);
  if (!store) {
    spdlog::critical("cannot open storage in {}: {}", cfg.storage.data_dir.string(),
                     store.error().message());
    return 1;
  }
  topic_registry topics(**store, cfg.topics);
  // Joined below once the server has stopped, before the server is destroyed.
  boost::asio::thread_pool readers(static_cast<size_t>(cfg.reader_threads));
  services svc{.store = **store, .topics = topics, .cfg = cfg, .readers = readers};
  svc.cluster_id = "edgebridge-" + cfg.site_id;
  // Long-poll fetches wait on storage's advance signal; declared before the server so that it
  // outlives every fetch handler.
  fetch_waiters fetches(**store);
  svc.fetches = &fetches;
  router requests(svc);
  net::server server(cfg.server, requests);
  // Runs on the server's io threads; destroyed (after server.stop() joined them) before it.
  groups::coordinator coordinator(server.executor());
  svc.groups = &coordinator;
  if (auto started = server.start(); !started) {
    spdlog::critical("cannot listen on {}:{}: {}", cfg.server.host, cfg.server.port,
                     started.error().message());
    readers.join();
    (*store)->close();
    return 1;
  }
  std::tie(svc.advertised_host, svc.advertised_port) = advertised(cfg, server.port());

  std::optional<mirror> uplink;
  if (cfg.mirror.active()) {
    uplink.emplace(cfg.mirror, **store);
    if (auto started = uplink->start(); !started) {
      spdlog::critical("cannot start the mirror: {}", started.error().message());
      server.stop();
      readers.join();
      (*store)->close();
      return 1;
    }
  }
  spdlog::info("edgebridge {} listening on {}:{} (advertised {}:{}), data in {}, {}", cfg.site_id,
               cfg.server.host, server.port(), svc.advertised_host, svc.advertised_port,
               cfg.storage.data_dir.string(),
               uplink ? "mirroring to " + cfg.mirror.bootstrap : std::string("mirror off"));

  int signal = 0;
  sigwait(&signals, &signal);
  spdlog::info("{} received: shutting down (a second signal exits at once)", strsignal(signal));
  // From here the default action applies again: a second Ctrl-C ends the process.
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGTERM, SIG_DFL);
  pthread_sigmask(SIG_UNBLOCK, &signals, nullptr);

  server.stop();
  // Reads in flight finish and post back to the (stopped) server before it goes.
  readers.join();
  if (uplink) uplink->stop(cfg.server.shutdown_grace);
  (*store)->close();
  spdlog::info("edgebridge stopped cleanly");
  return 0;
}

}  // namespace eb::bridge

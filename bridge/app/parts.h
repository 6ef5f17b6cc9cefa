#pragma once
// Internal to bridge/app*: the parts of the process, in construction order (app.cc builds and
// starts them; reconfigure.cc and remote_config.cc change them live).
#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <mutex>
#include <optional>

#include "bridge/app.h"
#include "bridge/app/remote_store.h"
#include "bridge/downlink/downlink.h"
#include "bridge/fetch/waiters.h"
#include "bridge/groups/coordinator.h"
#include "bridge/mirror/mirror.h"
#include "bridge/remote/link.h"
#include "bridge/router.h"
#include "bridge/security/authorizer.h"
#include "bridge/services.h"
#include "bridge/status/status.h"
#include "bridge/status/traffic.h"
#include "bridge/topics.h"
#include "net/http_server.h"
#include "net/server.h"
#include "storage/storage.h"

namespace eb::bridge {

// Declaration order is construction order; destruction runs the other way.
struct app::parts {
  parts(const config::bridge_config& c, std::unique_ptr<storage::log_store> s, config_layers l);

  // The status module's view of the uplink; nullopt while no mirror is configured to run.
  std::optional<uplink_view> uplink_status();
  // The mirror in force (null while none runs or while it is being replaced).
  std::shared_ptr<mirror> current_mirror() const {
    std::lock_guard lk(mirror_mutex);
    return uplink;
  }

  // The configuration the process started with: what every part was built from. Live keys
  // since then are in `running`.
  const config::bridge_config cfg;
  // Counted by handlers from the first request: built before everything that serves.
  traffic_registry traffic;
  std::unique_ptr<storage::log_store> store;
  topic_registry topics;
  // ACLs from storage records; consulted by every handler when enabled.
  security::authorizer authz;
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
  // The mirror's exclusion (the downlink's local topics), for every mirror built.
  std::function<bool(const std::string&)> mirror_exclude;
  // Replaced whole by live reconfiguration of mirror keys; readers copy the pointer.
  mutable std::mutex mirror_mutex;
  std::shared_ptr<mirror> uplink;          // under mirror_mutex
  std::atomic<bool> mirror_wanted{false};  // the running config has an active mirror
  // The Kafka listener serves: what /readyz says (storage is open whenever the app exists).
  std::atomic<bool> serving{false};

  // Live reconfiguration: one at a time.
  mutable std::mutex reconfig_mutex;
  config::bridge_config running;  // under reconfig_mutex
  config_layers layers;           // under reconfig_mutex
  remote_store remote_files;
  // What /v1/status shows of it.
  mutable std::mutex view_mutex;
  config_view view;  // under view_mutex

  status_service status;
  // Stopped before what the status reads (the mirror, storage) stops; see stop().
  net::http_server http;
  // The cloud control channel; stopped first (its handler reconfigures the others).
  std::unique_ptr<remote_link> link;
  bool stopped = false;
};

}  // namespace eb::bridge

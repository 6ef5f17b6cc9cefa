#pragma once
// The edgebridge process as one object: storage, topics, the fetch waiters, the request router,
// the Kafka listener, the group coordinator and the mirror, built, started and stopped in the one
// order known to be safe. main.cc (which only adds signals) and the in-process test fixtures use
// the same object, so tests run the wiring the product runs.
//
// Order, and why:
// - start: storage opens first (everything reads it); the coordinator is built on the server's
//   executor; the listener starts before the mirror so a mirror that cannot start leaves nothing
//   half-served.
// - stop: /readyz turns 503, the listener stops first (in-flight requests finish within
// shutdown_grace, then io
//   threads join); the mirror flushes for shutdown_grace; storage drains its queue and closes
//   last, while every io-side object it may still complete into (async_storage.h) is alive. The
//   HTTP endpoints stop after the listener and before the mirror and storage they read.
//   Objects are then destroyed in reverse order of construction.
//
// Thread-safety: start, stop and the destructor from one controlling thread; the accessors from
// any thread while the app is running.
#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "config/config.h"

namespace eb::storage {
class log_store;
}

namespace eb::bridge {

class mirror;
class downlink;
namespace groups {
class coordinator;
}

class app {
 public:
  // Opens storage and starts serving (and mirroring when cfg.mirror is active). Errors: the
  // storage error when it cannot open, the listener's system error (port taken), the mirror's
  // (client configuration); each is logged, and whatever had started is stopped again.
  static result<std::unique_ptr<app>> start(const config::bridge_config& cfg);
  ~app();  // stop()
  app(const app&) = delete;
  app& operator=(const app&) = delete;

  // Stops serving, flushes the mirror and closes storage. Idempotent.
  void stop();

  uint16_t port() const;
  // The HTTP endpoints' bound port; 0 when http.enabled is false.
  uint16_t http_port() const;
  // What Metadata hands to clients.
  const std::string& advertised_host() const;
  int32_t advertised_port() const;

  // The io threads' executor (not a strand), where connections and handlers run.
  boost::asio::any_io_executor io_executor();
  storage::log_store& store();
  groups::coordinator& coordinator();
  // Fetches long-polling right now.
  size_t waiting_fetches() const;
  // Null when no mirror is configured.
  bridge::mirror* uplink();
  // Null when no downlink is configured. Its set_topics() changes the downlink topics live.
  bridge::downlink* downlink();

 private:
  struct parts;
  explicit app(std::unique_ptr<parts> p);
  std::unique_ptr<parts> _parts;
};

}  // namespace eb::bridge

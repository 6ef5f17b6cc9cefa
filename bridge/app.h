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
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

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

// Where the running configuration comes from (README, "Configuration layers"): the file (or the
// embedded default), the remote document in force merged over it, then the command line.
struct config_layers {
  // Empty: the embedded default (config::default_yaml()), and SIGHUP has no file to read.
  std::filesystem::path file;
  std::string file_text;
  // The command-line overrides (--port, --data-dir, ...), applied last to every layering.
  std::function<void(config::bridge_config&)> command_line;
  // The remote document in force (set by load_layers, then by each applied document): its
  // overlay (the document without `version`) and version; 0 / empty when none.
  int64_t remote_version = 0;
  std::string remote_overlay;
  bool remote_applied = false;
};

// The config a process starts with: the file, the remote document persisted in the data dir
// (if any) merged over it, the command line. `file_text` is read from `file` unless given. The
// file's own problems (what --check-config prints) fail it; a persisted document that no longer
// fits the file is logged and left out (the file alone runs; the document stays stored).
std::variant<config::bridge_config, config::problems> load_layers(config_layers& layers);

// What app::reconfigure did with a new configuration.
struct reconfigure_outcome {
  // Live keys now in force.
  std::vector<std::string> applied;
  // Keys that differ from what runs and take effect at the next start.
  std::vector<std::string> needs_restart;
  // Live keys that could not be applied, with why ("mirror.properties: ...").
  std::vector<std::string> failed;
};

class app {
 public:
  // Opens storage and starts serving (and mirroring when cfg.mirror is active, and the cloud
  // control channel when cfg.remote is enabled and a mirror bootstrap is set). Errors: the
  // storage error when it cannot open, the listener's system error (port taken), the mirror's
  // (client configuration); each is logged, and whatever had started is stopped again.
  // `layers` are what reload_file() and remote documents layer over (config_layers).
  static result<std::unique_ptr<app>> start(const config::bridge_config& cfg,
                                            config_layers layers = {});
  ~app();  // stop()
  app(const app&) = delete;
  app& operator=(const app&) = delete;

  // Stops serving, flushes the mirror and closes storage. Idempotent.
  void stop();

  // Live reconfiguration, the one path of SIGHUP and remote documents: every live key of `next`
  // that differs from the running config is applied on the thread that owns it (topic options:
  // swapped under a lock for the io threads; existing topics' priority and retention: storage's
  // writer; the uplink cap: the mirror thread; other mirror keys: the mirror is stopped and
  // started again with them inside this process; log level: spdlog's atomic level); every other
  // key that differs is reported in needs_restart and keeps running as before. `next` must be
  // valid (config::validate). Blocks until applied; calls are serialised. Not on an io thread.
  reconfigure_outcome reconfigure(const config::bridge_config& next);

  // SIGHUP: reads the config file again, merges the remote document in force over it, applies
  // the command line, and reconfigures. A file with problems is rejected whole (the problems
  // are those --check-config prints) and nothing changes.
  std::variant<reconfigure_outcome, config::problems> reload_file();

  // A remote config document as read from the config topic (also what the consumer thread
  // calls): ignored when its version is not above every version seen, else validated over the
  // file layer; applied and persisted, or rejected whole. The outcome goes to the status topic.
  void handle_remote_document(const std::string& text);

  // The running configuration (a copy).
  config::bridge_config running_config() const;

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
  // Null when no mirror runs. Live reconfiguration may replace the mirror: use the pointer only
  // while no reconfiguration runs.
  bridge::mirror* uplink();
  // Null when no downlink is configured. Its set_topics() changes the downlink topics live.
  bridge::downlink* downlink();

 private:
  struct parts;
  explicit app(std::unique_ptr<parts> p);
  // The outcome record for the status topic and the status page.
  void note_outcome(const std::string& source, const std::string& outcome, int64_t version,
                    const reconfigure_outcome* done, const std::vector<std::string>& problems);
  void start_remote();
  std::unique_ptr<parts> _parts;
};

}  // namespace eb::bridge

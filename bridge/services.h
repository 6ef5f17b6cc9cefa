#pragma once
// The long-lived parts every handler may use, owned by the process (bridge/app.cc).
#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "bridge/handlers/options.h"
#include "bridge/topics.h"
#include "storage/storage.h"

namespace eb::bridge {

namespace groups {
class coordinator;
}
class fetch_waiters;
namespace security {
class authorizer;
struct sasl_options;
}  // namespace security
class traffic_registry;

// Whether a local topic is written by the downlink (copied from the cloud). The app sets the test
// once the downlink is built, after the listeners may already serve: hence the lock.
class downlink_topics {
 public:
  void set(std::function<bool(const std::string&)> owns) {
    std::lock_guard lk(_mu);
    _owns = std::move(owns);
  }
  bool owns(const std::string& topic) const {
    std::lock_guard lk(_mu);
    return _owns && _owns(topic);
  }

 private:
  mutable std::mutex _mu;
  std::function<bool(const std::string&)> _owns;
};

struct services {
  storage::log_store& store;
  topic_registry& topics;
  handler_options handlers;
  // Storage reads that may touch the disk (log reads, timestamp lookups, group offsets) run here,
  // never on an io thread (bridge/async_storage.h's async_read). Joined after the server stops
  // and before it is destroyed: a finished read posts back to the server's executor.
  boost::asio::thread_pool& readers;
  // What Metadata answers: this broker's id, host and port, and the cluster id.
  int32_t node_id = 1;
  std::string advertised_host;
  int32_t advertised_port = 9092;
  std::string cluster_id;
  // storage.data_dir: DescribeConfigs log.dirs and DescribeLogDirs report it.
  std::string data_dir;
  // The consumer-group coordinator and the registry of long-poll fetches (bridge/app.cc makes
  // them); null only in tests that need neither: group APIs then answer
  // COORDINATOR_NOT_AVAILABLE and fetches do not wait.
  ::eb::bridge::groups::coordinator* groups = nullptr;
  fetch_waiters* fetches = nullptr;
  // Per topic and per API counters for /metrics (bridge/status/traffic.h); null: not counted.
  traffic_registry* traffic = nullptr;
  // The ACL authorizer (bridge/security/authorizer.h); null: everything is allowed and the ACL
  // APIs answer SECURITY_DISABLED, as Kafka without an authorizer.
  security::authorizer* authz = nullptr;
  // DeleteTopics refuses the downlink's topics.
  downlink_topics downlink;
  // Mechanisms and session lifetime of the SASL listeners; null: the defaults.
  const security::sasl_options* sasl = nullptr;
};

}  // namespace eb::bridge

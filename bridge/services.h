#pragma once
// The long-lived parts every handler may use, owned by the process (bridge/app.cc).
#include <atomic>
#include <cstdint>
#include <string>

#include "bridge/topics.h"
#include "config/config.h"
#include "storage/storage.h"

namespace eb::bridge {

class group_coordinator;

struct services {
  storage::log_store& store;
  topic_registry& topics;
  const config::bridge_config& cfg;
  // What Metadata answers: this broker's id, host and port, and the cluster id.
  int32_t node_id = 1;
  std::string advertised_host;
  int32_t advertised_port = 9092;
  std::string cluster_id;
  group_coordinator* groups = nullptr;
};

}  // namespace eb::bridge

#pragma once
// Live reconfiguration, the config side: which keys differ between the running configuration and
// a new one, and which of them a running edgebridge applies without a restart (bridge/app.h,
// app::reconfigure). And the remote configuration document: a `version:` integer plus an overlay
// of config keys (see README, "Configuration layers").
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "config/config.h"

namespace eb::config {

struct remote_document {
  // Strictly increasing per site: a document at or below the last one seen is ignored.
  int64_t version = 0;
  // The document without `version`: YAML merged over the config file (parse_layers).
  std::string overlay;
};
// Problems: YAML syntax, not a mapping, `version` missing or not a positive integer.
std::variant<remote_document, problems> parse_remote_document(const std::string& text);

// The live keys are: log_level; topics.* (auto-creation limits, defaults and overrides: the
// priority and retention of existing topics change, partitions apply to topics created later);
// mirror.* except a bootstrap that appears or disappears (bandwidth_bytes_per_sec on the running
// mirror, any other mirror key by restarting the mirror inside the process). Every other key
// (listener, server, http, storage, groups, site_id, log_format, remote,
// topics.retention_protected_groups) takes effect at the next start.
struct changes {
  std::vector<std::string> live;     // key names, e.g. "topics.overrides.alarms.priority"
  std::vector<std::string> restart;  // key names that differ but need a restart
  bool log_level = false;
  bool topics = false;
  // The uplink cap alone changed on the mirror.
  bool bandwidth = false;
  // A mirror key other than the cap changed (or a topic's mirror/target/on_refusal).
  bool mirror_rebuild = false;
  // Hook for the downlink (branch `downlink`): its topic list changed.
  bool downlink = false;
  // Hook for users and ACLs (branch `sasl`): they will be live keys too.
  bool security = false;
  bool empty() const { return live.empty() && restart.empty(); }
};
changes compare(const bridge_config& running, const bridge_config& next);

}  // namespace eb::config

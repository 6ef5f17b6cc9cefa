#pragma once
// config: edgebridge's typed configuration, loaded from YAML and validated as a whole.
// Each module owns its options struct (defaults in the class); this module maps YAML keys onto
// them, rejects unknown keys and wrong types, and collects every problem before giving up.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "bridge/downlink/options.h"
#include "bridge/groups/options.h"
#include "bridge/handlers/options.h"
#include "bridge/mirror/options.h"
#include "bridge/topic_options.h"
#include "net/http_server.h"
#include "net/server.h"
#include "storage/storage.h"

namespace eb::config {

struct bridge_config {
  std::string site_id = "edge";
  std::string log_level = "info";
  // "text" (human) or "json" (one JSON object per line, for log shippers).
  std::string log_format = "text";
  net::server_options server;
  // Mapped from the `server` section too (fetch_max_bytes).
  bridge::handler_options handlers;
  // What Metadata tells clients to connect to; empty/0 = the listener's own (0.0.0.0 -> 127.0.0.1).
  std::string advertised_host;
  uint16_t advertised_port = 0;
  storage::options storage;
  bridge::topics_options topics;
  bridge::groups::coordinator_options groups;
  // Threads that run storage reads for handlers (fetch, timestamp lookups, committed offsets), so
  // io threads never wait on the disk. YAML storage.reader_threads. Default: 2.
  int reader_threads = 2;
  bridge::mirror_options mirror;
  // Cloud topics copied into local topics; runs only when the `downlink:` section is present
  // (bootstrap and TLS/SASL properties default to the mirror's).
  bridge::downlink_options downlink;
  // The operator's HTTP endpoints: /metrics, /healthz, /readyz, /v1/status, the page at /.
  net::http_options http;
};

// Every problem found, each naming the key ("storage.fsync: ...").
using problems = std::vector<std::string>;

std::variant<bridge_config, problems> parse(const std::string& yaml_text);
std::variant<bridge_config, problems> load(const std::filesystem::path& file);
// Checks the values of an assembled config, including that the data dir is writable.
problems validate(const bridge_config& cfg);

// The configuration `edgebridge` runs with when given no --config: every default.
const char* default_yaml();

}  // namespace eb::config

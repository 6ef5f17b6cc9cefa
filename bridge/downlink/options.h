#pragma once
// Options of the downlink (bridge/downlink/downlink.h): cloud topics copied into local topics.
// Plain values with their defaults in the class: config/ maps the YAML `downlink:` section onto
// them, tests build them directly. No dependencies beyond the standard library.
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace eb::bridge {

// One cloud-to-local mapping.
struct downlink_rule {
  // The cloud topic: an exact name, a glob (`*`, `?`, `[...]`: any name it matches), or, when it
  // starts with `^`, a regular expression (ECMAScript) that must match the whole name.
  // "{site}" is replaced by the site id first (regex-escaped in a regular expression).
  std::string cloud;
  // The local topic's name. "{site}" is the site id, "{topic}" the cloud topic's name, "{match}"
  // what the glob's first wildcard run (or the regular expression's first group) matched, or the
  // whole name when there is none. Rules with a pattern must use {topic} or {match}, so that two
  // cloud topics never feed one local topic.
  std::string local;
  bool operator==(const downlink_rule&) const = default;
};

enum class downlink_start { earliest, latest };

struct downlink_options {
  // Runs when enabled and bootstrap is set (config/ takes mirror.bootstrap when it is empty).
  bool enabled = true;
  std::string bootstrap;
  // librdkafka consumer properties passed through (TLS, SASL, socket tuning). Keys owned by the
  // options below or by exactly-once (group.id, enable.auto.commit, ...) are rejected.
  std::map<std::string, std::string> properties;
  std::string site_id = "edge";
  // The mappings, first match wins. Can be replaced live: downlink::set_topics.
  std::vector<downlink_rule> topics;
  // Where a cloud partition without a stored cursor starts.
  downlink_start start_at = downlink_start::earliest;
  // librdkafka's prefetch bound (queued.max.messages.kbytes) and fetch sizes: with the local
  // batches below, the downlink's memory bound whatever the cloud holds.
  uint64_t max_queued_bytes = 8ull << 20;
  uint64_t fetch_max_bytes = 4ull << 20;
  uint64_t partition_fetch_max_bytes = 1ull << 20;
  // Bytes of cloud records gathered before one local append (one batch per partition).
  uint64_t max_batch_bytes = 1ull << 20;
  // The local disk quota (storage.max_disk_bytes, set by the app; 0 = none). The downlink pauses
  // every partition when storage's log bytes plus one max_batch_bytes (the append that may
  // follow the check) reach quota_pause_percent of it, and resumes below quota_resume_percent,
  // so it never meets the quota itself and never drops.
  uint64_t disk_quota_bytes = 0;
  int quota_pause_percent = 90;
  int quota_resume_percent = 80;
  // How often cloud topics are listed (for patterns and partition counts).
  std::chrono::milliseconds metadata_refresh{10'000};
  // Wait after a failed local append (queue full, disk full) before the partition is read again
  // from its stored cursor.
  std::chrono::milliseconds retry_backoff{500};

  bool active() const { return enabled && !bootstrap.empty(); }
};

// Every problem, each as "downlink.<key>: reason". Properties are checked with librdkafka.
std::vector<std::string> validate(const downlink_options& opts);
// The problems of a rule list alone (also what set_topics checks).
std::vector<std::string> validate_rules(const std::vector<downlink_rule>& rules,
                                        const std::string& site_id);

}  // namespace eb::bridge

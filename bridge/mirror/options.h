#pragma once
// Options of the store-and-forward mirror (bridge/mirror/mirror.h). Plain values with their
// defaults in the class: config/ maps the YAML `mirror:` section onto them, and tests build them
// directly. No dependencies beyond the standard library.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace eb::bridge {

// What the mirror does with a record the cloud refuses for good (larger than the target topic's
// max.message.bytes, an authorization or policy refusal) or a stored batch that does not decode.
// Either way only that partition is affected.
enum class refusal_policy {
  // The partition stops before it and waits, re-checked with a long backoff (the target's limit,
  // the broker's answer, the stored batch), until an operator or a cloud-side change lets it go.
  pause,
  // The refused range is written to the gap ledger, reported on the gaps topic with its reason
  // and offsets, and the partition goes on after it.
  skip,
};

struct mirror_options {
  // Mirroring runs only when enabled and bootstrap is set; otherwise data stays local.
  bool enabled = true;
  // The cloud cluster's bootstrap servers, "host:port[,host:port...]".
  std::string bootstrap;
  // librdkafka properties passed through as given (security.protocol, ssl.*, sasl.*, socket and
  // batching tuning). Keys that would break ordering or exactly-once (idempotence, acks,
  // in-flight limit above 5, transactional.id, message timeouts) and keys owned by the options
  // below (bootstrap.servers, compression, queue bounds) are rejected by validate().
  std::map<std::string, std::string> properties;
  // Names this site in target topic names and in each record's provenance headers. Must be the
  // same across restarts: the resume point after a crash is found by it.
  std::string site_id = "edge";
  // Cloud topic name for a source topic; "{site}" and "{topic}" are substituted.
  std::string topic_template = "{site}.{topic}";
  // Per source topic: the exact cloud topic name, instead of the template.
  std::map<std::string, std::string> topic_overrides;
  // Source topics that stay local.
  std::set<std::string> excluded_topics;
  // Also stay local: topics this answers true for, asked whenever the mirror lists storage's
  // topics (the app passes the downlink's owns(), so cloud data never goes back up).
  std::function<bool(const std::string&)> exclude;
  // What a refused record or an undecodable stored batch does to its partition: the default, and
  // per source topic.
  refusal_policy on_refusal = refusal_policy::pause;
  std::map<std::string, refusal_policy> topic_on_refusal;
  // Codec of the uplink batches: zstd, lz4, gzip, snappy or none.
  std::string compression = "zstd";
  // Bytes of records read from storage and not yet confirmed by the cloud (librdkafka's queue
  // included). Bounds the mirror's memory whatever the backlog. Default: 64 MiB, room for one
  // partition's five default batches (below) with librdkafka's per-record overhead, or for
  // several partitions draining side by side.
  uint64_t max_inflight_bytes = 64ull << 20;
  // The largest uplink batch (librdkafka's batch.size and message.max.bytes), capped at a third
  // of max_inflight_bytes and never below librdkafka's 1 MB default. A partition has up to five
  // requests in flight, so it fills a link of bandwidth bw and round trip rtt while
  // 5 * B >= bw * rtt: 4 MiB covers 1 Gbit/s at 160 ms (LTE 100 Mbit/s at 100 ms needs 1.25 MB,
  // satellite 20 Mbit/s at 600 ms 1.5 MB). Larger batches only delay the first record of a
  // drain by B / bw. Topics the mirror creates get a max.message.bytes that holds it; existing
  // topics with a smaller limit get their batches cut to it. `properties` batch.size and
  // message.max.bytes win.
  uint64_t batch_bytes = 4ull << 20;
  // How long a partial uplink batch waits for more records (librdkafka's linger.ms): live records
  // reach the cloud within linger plus the round trip. librdkafka's broker thread busy-polls
  // while a batch older than this waits behind a full pipeline (a 1 GiB local drain used 6.7 CPU
  // seconds at librdkafka's 5 ms, 3.1 s at 50 ms, measured with one request in flight).
  std::chrono::milliseconds linger{50};
  // Uplink cap in record bytes per second (token bucket); 0 = unlimited.
  uint64_t bandwidth_bytes_per_sec = 0;
  // Where storage gaps (data dropped under the quota policy) are reported, one JSON record each.
  std::string gaps_topic = "{site}.edgebridge.gaps";
  // Create missing cloud topics (CreateTopics) with the source partition count, the broker's
  // default replication and a max.message.bytes that holds the mirror's largest batch. A target
  // with fewer partitions than its source is never remapped: that topic is paused with an error.
  bool create_target_topics = true;
  // The mirror's own retries (producer recreation, metadata, topic creation): capped exponential
  // backoff with jitter between these bounds.
  std::chrono::milliseconds retry_backoff_min{100};
  std::chrono::milliseconds retry_backoff_max{30'000};
  // How often confirmed offsets are persisted as storage mirror cursors (and on stop). The cloud's
  // tail is the truth after a crash; the cursor only bounds retention and decides when the target
  // holds nothing of ours.
  std::chrono::milliseconds cursor_commit_interval{500};
  // How many records at the end of a target partition are searched for this site's last record
  // (more than one only when other writers share the partition).
  int64_t tail_scan_records = 100'000;

  bool active() const { return enabled && !bootstrap.empty(); }

  // The cloud topic a source topic is mirrored to.
  std::string target_topic(const std::string& source) const {
    auto it = topic_overrides.find(source);
    if (it != topic_overrides.end()) return it->second;
    return expand(topic_template, source);
  }
  std::string gaps_target() const { return expand(gaps_topic, ""); }
  refusal_policy refusal_for(const std::string& source) const {
    auto it = topic_on_refusal.find(source);
    return it == topic_on_refusal.end() ? on_refusal : it->second;
  }

  std::string expand(const std::string& pattern, const std::string& topic) const {
    std::string out;
    for (size_t i = 0; i < pattern.size();) {
      if (pattern.compare(i, 6, "{site}") == 0) {
        out += site_id;
        i += 6;
      } else if (pattern.compare(i, 7, "{topic}") == 0) {
        out += topic;
        i += 7;
      } else {
        out += pattern[i++];
      }
    }
    return out;
  }
};

// Every problem, each as "mirror.<key>: reason". Property names and values are checked against
// librdkafka itself (defined in eb_mirror).
std::vector<std::string> validate(const mirror_options& opts);

}  // namespace eb::bridge

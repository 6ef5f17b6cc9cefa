#include "bridge/mirror/options.h"

#include <librdkafka/rdkafka.h>

#include <array>
#include <memory>

#include "common/topic_name.h"

namespace eb::bridge {
namespace {

// Placeholders other than the known ones are typos that would end up in topic names.
bool only_known_placeholders(const std::string& pattern, bool allow_topic) {
  for (size_t i = pattern.find('{'); i != std::string::npos; i = pattern.find('{', i + 1)) {
    if (pattern.compare(i, 6, "{site}") == 0) continue;
    if (allow_topic && pattern.compare(i, 7, "{topic}") == 0) continue;
    return false;
  }
  return true;
}

// Properties the mirror sets itself: overriding them would break ordering or exactly-once, or
// duplicate an option of ours.
const char* owned_property(const std::string& key, const std::string& value) {
  if (key == "bootstrap.servers" || key == "metadata.broker.list") return "use mirror.bootstrap";
  if (key == "compression.type" || key == "compression.codec") return "use mirror.compression";
  if (key == "queue.buffering.max.kbytes" || key == "queue.buffering.max.messages") {
    return "set from mirror.max_inflight_bytes";
  }
  if (key == "enable.idempotence" || key == "enable.gapless.guarantee") {
    return "always true: ordering and exactly-once depend on it";
  }
  if (key == "acks" || key == "request.required.acks") return "always all (idempotence)";
  if (key == "transactional.id") return "the mirror is not transactional";
  if (key == "message.timeout.ms" || key == "delivery.timeout.ms") {
    return "records are retried until the cloud takes them, however long the outage";
  }
  if (key == "max.in.flight.requests.per.connection" || key == "max.in.flight") {
    try {
      if (std::stoi(value) > 5) return "must be <= 5 to keep per-partition order";
    } catch (const std::exception&) {
      return "must be a number <= 5";
    }
  }
  if (key == "linger.ms" || key == "queue.buffering.max.ms") return "use mirror.linger";
  if (key == "allow.auto.create.topics") return "follows mirror.create_target_topics";
  return nullptr;
}

}  // namespace

std::vector<std::string> validate(const mirror_options& o) {
  std::vector<std::string> p;
  if (o.site_id.empty() || !is_legal_topic_name(o.site_id)) {
    p.push_back("mirror.site_id: must be letters, digits, '.', '_' or '-'");
  }
  static constexpr std::array codecs{"zstd", "lz4", "gzip", "snappy", "none"};
  bool codec_ok = false;
  for (auto c : codecs) codec_ok = codec_ok || o.compression == c;
  if (!codec_ok) p.push_back("mirror.compression: must be one of zstd, lz4, gzip, snappy, none");

  if (o.topic_template.find("{topic}") == std::string::npos) {
    p.push_back("mirror.topic_template: must contain {topic}, or every topic maps to one target");
  } else if (!only_known_placeholders(o.topic_template, true)) {
    p.push_back("mirror.topic_template: only {site} and {topic} may be substituted");
  } else if (!is_legal_topic_name(o.expand(o.topic_template, "t"))) {
    p.push_back(
        "mirror.topic_template: gives illegal topic names (letters, digits, '.', '_', '-')");
  }
  if (!only_known_placeholders(o.gaps_topic, false)) {
    p.push_back("mirror.gaps_topic: only {site} may be substituted");
  } else if (!is_legal_topic_name(o.gaps_target())) {
    p.push_back("mirror.gaps_topic: not a legal topic name");
  }
  for (auto& [source, target] : o.topic_overrides) {
    if (!is_legal_topic_name(target)) {
      p.push_back("mirror.topic_overrides: target '" + target + "' of topic '" + source +
                  "' is not a legal topic name");
    }
  }
  if (o.max_inflight_bytes < (64u << 10) || o.max_inflight_bytes > (1ull << 31)) {
    p.push_back("mirror.max_inflight_bytes: must be between 64KiB and 2GiB");
  }
  if (o.batch_bytes < (64u << 10) || o.batch_bytes > (512ull << 20)) {
    p.push_back("mirror.batch_bytes: must be between 64KiB and 512MiB");
  }
  if (o.linger.count() < 0 || o.linger.count() > 60'000) {
    p.push_back("mirror.linger: must be between 0ms and 60s");
  }
  if (o.retry_backoff_min.count() <= 0) {
    p.push_back("mirror.retry_backoff_min: must be positive");
  }
  if (o.retry_backoff_max < o.retry_backoff_min) {
    p.push_back("mirror.retry_backoff_max: must be >= retry_backoff_min");
  }
  if (o.cursor_commit_interval.count() < 10) {
    p.push_back("mirror.cursor_commit_interval: must be at least 10ms");
  }
  if (o.tail_scan_records < 1) p.push_back("mirror.tail_scan_records: must be at least 1");

  // Ask librdkafka about each property, so a typo fails at config load rather than at the
  // first connection attempt.
  std::unique_ptr<rd_kafka_conf_t, decltype(&rd_kafka_conf_destroy)> conf(rd_kafka_conf_new(),
                                                                          rd_kafka_conf_destroy);
  for (auto& [key, value] : o.properties) {
    if (const char* why = owned_property(key, value)) {
      p.push_back("mirror.properties." + key + ": " + why);
      continue;
    }
    std::array<char, 512> err{};
    if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), err.data(), err.size()) !=
        RD_KAFKA_CONF_OK) {
      p.push_back("mirror.properties." + key + ": " + err.data());
    }
  }
  return p;
}

}  // namespace eb::bridge

#pragma once
// Small RAII helpers over librdkafka's C API for the mirror: configuration, topic metadata,
// CreateTopics, and reading the tail of target partitions. Internal to bridge/mirror. Every call
// here blocks the calling (mirror) thread for at most the timeout it is given.
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace eb::bridge::mirror_detail {

struct conf_deleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using conf_ptr = std::unique_ptr<rd_kafka_conf_t, conf_deleter>;

// rd_kafka_destroy waits for librdkafka's threads; NO_CONSUMER_CLOSE because consumers here
// never join groups.
struct rk_deleter {
  void operator()(rd_kafka_t* rk) const {
    rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  }
};
using rk_ptr = std::unique_ptr<rd_kafka_t, rk_deleter>;

struct topic_deleter {
  void operator()(rd_kafka_topic_t* t) const { rd_kafka_topic_destroy(t); }
};
using topic_ptr = std::unique_ptr<rd_kafka_topic_t, topic_deleter>;

// Applies key/value pairs in order; returns the first problem ("key: reason"), empty if none.
std::string set_all(rd_kafka_conf_t* conf,
                    const std::vector<std::pair<std::string, std::string>>& props);

// A numeric property's effective value (librdkafka's default when not set).
std::optional<uint64_t> conf_int(const rd_kafka_conf_t* conf, const char* name);

// What the cloud says about one topic: partition count, or why it cannot be used.
struct topic_metadata {
  bool exists = false;
  int32_t partitions = 0;
  // Every partition has a leader (right after creation they may not yet).
  bool leaders = false;
  // Set when the request itself failed (unreachable, timeout) or the broker reported an error
  // other than "unknown topic" (e.g. authorization): the answer says nothing about existence.
  rd_kafka_resp_err_t error = RD_KAFKA_RESP_ERR_NO_ERROR;
};
topic_metadata describe_topic(rd_kafka_t* rk, rd_kafka_topic_t* topic,
                              std::chrono::milliseconds timeout);

// A round trip to any broker (metadata without topics). Used to notice the uplink is back when
// nothing is being produced.
rd_kafka_resp_err_t probe(rd_kafka_t* rk, std::chrono::milliseconds timeout);

// CreateTopics with the broker's default replication factor and `configs` on every topic. Per
// topic: empty if created or already existing, else the broker's reason.
std::map<std::string, std::string> create_topics(
    rd_kafka_t* rk, const std::vector<std::pair<std::string, int32_t>>& topics,
    const std::vector<std::pair<std::string, std::string>>& configs,
    std::chrono::milliseconds timeout);

// A topic's max.message.bytes (DescribeConfigs), or why it is not known (e.g. the mirror may
// write the topic but not describe its configs).
struct topic_limit {
  std::optional<int64_t> max_message_bytes;
  std::string error;
};
// CreatePartitions: grows `topic` to `count` partitions. Empty on success (also when it has them
// already), else the error.
std::string create_partitions(rd_kafka_t* rk, const std::string& topic, int32_t count,
                              std::chrono::milliseconds timeout);

topic_limit describe_max_message_bytes(rd_kafka_t* rk, const std::string& topic,
                                       std::chrono::milliseconds timeout);

// Finds, in the last records of a partition, the newest one whose headers carry all of
// `must_match` (last occurrence of each name), and returns its `value_header` as an integer.
struct tail_query {
  std::string topic;
  int32_t partition = 0;
  std::vector<std::pair<std::string, std::string>> must_match;
  // Headers that, when a record has them, must hold these values (absent: a match).
  std::vector<std::pair<std::string, std::string>> match_if_present;
  std::string value_header;
};
struct tail_answer {
  std::optional<int64_t> value;
  int64_t low_watermark = 0;
  int64_t high_watermark = 0;
};
struct tail_result {
  std::vector<tail_answer> answers;  // one per query, in order, when error is empty
  std::string error;
};
// Uses a short-lived consumer built from `conf` (assign only, no group). The search widens
// from the last record to the last `max_scan` records, for partitions other writers share.
// Gives up with an error at the deadline or when `cancel` becomes true.
tail_result read_tails(conf_ptr conf, const std::vector<tail_query>& queries, int64_t max_scan,
                       std::chrono::milliseconds timeout, const std::atomic<bool>& cancel);

// Header helpers over rd_kafka_headers_t.
std::optional<std::string> last_header(const rd_kafka_headers_t* headers, const char* name);
std::optional<int64_t> parse_int(const std::string& s);

}  // namespace eb::bridge::mirror_detail

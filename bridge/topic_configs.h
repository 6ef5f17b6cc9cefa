#pragma once
// The one mapping of Kafka topic config names onto edgebridge: which names are served, how each
// is validated, how the stored ones (storage::topic_config::settings, set through CreateTopics and
// the alter-configs APIs) combine with the config file, and what DescribeConfigs reports.
//
// Precedence, highest first: a topic config set through the Kafka admin APIs (DescribeConfigs
// source DYNAMIC_TOPIC_CONFIG), the config file's topics.overrides.<topic> (STATIC_BROKER_CONFIG),
// topics.defaults (DEFAULT_CONFIG). Names of Kafka's other topic configs (segment.bytes,
// min.insync.replicas, ...) are accepted, validated by type and stored, so Kafka Streams and
// tools can create their topics; edgebridge does not act on them (their doc says so).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bridge/topic_options.h"
#include "storage/storage.h"

namespace eb::bridge {

// Kafka's DescribeConfigs ConfigSource.
enum class config_source : int8_t {
  unknown = 0,
  dynamic_topic = 1,
  dynamic_broker = 2,
  dynamic_default_broker = 3,
  static_broker = 4,
  default_config = 5,
};
// Kafka's ConfigType (DescribeConfigs v3+).
enum class config_type : int8_t {
  unknown = 0,
  boolean = 1,
  string = 2,
  int32 = 3,
  int16 = 4,
  int64 = 5,
  float64 = 6,
  list = 7,
};

struct config_synonym {
  std::string name;
  std::optional<std::string> value;
  config_source source = config_source::default_config;
};

struct described_config {
  std::string name;
  std::optional<std::string> value;
  bool read_only = false;
  config_source source = config_source::default_config;
  config_type type = config_type::string;
  std::string doc;
  // The value's origins, highest precedence first (DescribeConfigs include_synonyms).
  std::vector<config_synonym> synonyms;
};

// Why `value` is refused for topic config `name` (Kafka INVALID_CONFIG's message), or nullopt.
// `at_creation`: the mirror's edgebridge.mirror.enabled / .target may only be set when the topic
// is created.
std::optional<std::string> check_topic_config(std::string_view name, std::string_view value,
                                              bool at_creation);
// Every refusal for a whole settings map (at creation), or nullopt.
std::optional<std::string> check_topic_configs(const std::map<std::string, std::string>& settings,
                                               bool at_creation);

// The storage config of topic `name`: the config file's layer, then `settings` (already checked),
// with `partitions` kept. Settings are stored in the result.
storage::topic_config effective_topic_config(const topics_options& opts, const std::string& name,
                                             int32_t partitions,
                                             std::map<std::string, std::string> settings);

// The largest batch a producer may send to the topic: max.message.bytes when set, never above
// topics.max_message_bytes.
size_t topic_max_message_bytes(const topics_options& opts, const storage::topic_config& cfg);

// Whether `name` is a list-typed config (cleanup.policy): IncrementalAlterConfigs APPEND/SUBTRACT.
bool is_list_config(std::string_view name);

// What DescribeConfigs reports for a topic (every served name, sorted), and for the broker
// (read-only: the config file's values under Kafka's broker config names).
std::vector<described_config> describe_topic_configs(const topics_options& opts,
                                                     const storage::topic_info& topic);
struct broker_facts {
  int32_t node_id = 1;
  std::string advertised_host;
  int32_t advertised_port = 9092;
  std::string data_dir;
};
std::vector<described_config> describe_broker_configs(const topics_options& opts,
                                                      const broker_facts& broker);

}  // namespace eb::bridge

#include "bridge/topic_configs.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <set>

#include "common/topic_name.h"
#include "common/topic_settings.h"

namespace eb::bridge {
namespace {

// What edgebridge does with a served name.
enum class role {
  acted,          // mapped onto storage / produce / the mirror, alterable
  creation_only,  // read by the mirror when it first sees the topic: CreateTopics only
  stored,         // a Kafka topic config edgebridge accepts and stores but does not act on
};

struct config_def {
  std::string_view name;
  config_type type;
  role what;
  std::string_view kafka_default;  // for stored names: what Kafka reports by default
  int64_t min = 0;                 // numbers: the smallest value accepted
  int64_t max = INT64_MAX;
  std::string_view choices = {};  // strings: the accepted values, '|' separated
  std::string_view doc = {};
};

constexpr std::string_view not_acted =
    "Stored for Kafka compatibility; edgebridge does not act on it.";

// Sorted by name.
constexpr config_def defs[] = {
    {"cleanup.policy", config_type::list, role::acted, "delete", 0, 0, "delete|compact",
     "delete: retention deletes mirrored data by retention.ms/retention.bytes; compact: the "
     "newest record per key is kept (compact-only topics are not deleted by age or size)"},
    {"compression.type", config_type::string, role::stored, "producer", 0, 0,
     "producer|uncompressed|zstd|lz4|snappy|gzip", not_acted},
    {"delete.retention.ms",
     config_type::int64,
     role::acted,
     "",
     -1,
     INT64_MAX,
     {},
     "Compacted topics: how long a tombstone that is its key's newest record is kept after its "
     "segment's last append; -1 = forever."},
    {"edgebridge.mirror.enabled",
     config_type::boolean,
     role::creation_only,
     "true",
     0,
     0,
     {},
     "Whether the topic is mirrored to the cloud. Set when the topic is created (CreateTopics) "
     "or by topics.overrides.<topic>.mirror."},
    {"edgebridge.mirror.on.refusal", config_type::string, role::acted, "", 0, 0, "pause|skip",
     "What a record the cloud refuses for good does to its partition: pause, or skip it and "
     "report a gap. Unset: mirror.on_refusal / topics.overrides.<topic>.on_refusal."},
    {"edgebridge.mirror.target",
     config_type::string,
     role::creation_only,
     "",
     0,
     0,
     {},
     "The cloud topic name, instead of mirror.topic_template. Set when the topic is created."},
    {"edgebridge.priority",
     config_type::int32,
     role::acted,
     "0",
     -1000,
     1000,
     {},
     "Higher drains to the cloud first and is dropped last under the disk quota."},
    {"file.delete.delay.ms", config_type::int64, role::stored, "60000", 0},
    {"flush.messages", config_type::int64, role::stored, "9223372036854775807", 1},
    {"flush.ms", config_type::int64, role::stored, "9223372036854775807", 0},
    {"index.interval.bytes", config_type::int32, role::stored, "4096", 0, INT32_MAX},
    {"local.retention.bytes", config_type::int64, role::stored, "-2", -2},
    {"local.retention.ms", config_type::int64, role::stored, "-2", -2},
    {"max.compaction.lag.ms", config_type::int64, role::stored, "9223372036854775807", 1},
    {"max.message.bytes",
     config_type::int32,
     role::acted,
     "",
     0,
     INT32_MAX,
     {},
     "The largest record batch a producer may send to this topic (never above "
     "topics.max_message_bytes)."},
    {"message.downconversion.enable", config_type::boolean, role::stored, "true"},
    {"message.timestamp.after.max.ms", config_type::int64, role::stored, "9223372036854775807", 0},
    {"message.timestamp.before.max.ms", config_type::int64, role::stored, "9223372036854775807", 0},
    {"message.timestamp.difference.max.ms", config_type::int64, role::stored, "9223372036854775807",
     0},
    {"message.timestamp.type", config_type::string, role::stored, "CreateTime", 0, 0,
     "CreateTime|LogAppendTime", not_acted},
    {"min.cleanable.dirty.ratio", config_type::float64, role::stored, "0.5"},
    {"min.compaction.lag.ms", config_type::int64, role::stored, "0", 0},
    {"min.insync.replicas", config_type::int32, role::stored, "1", 1, INT32_MAX},
    {"preallocate", config_type::boolean, role::stored, "false"},
    {"remote.storage.enable", config_type::boolean, role::stored, "false"},
    {"retention.bytes",
     config_type::int64,
     role::acted,
     "",
     -1,
     INT64_MAX,
     {},
     "Mirrored data beyond this many bytes per partition is deleted; -1 = no limit."},
    {"retention.ms",
     config_type::int64,
     role::acted,
     "",
     -1,
     INT64_MAX,
     {},
     "Mirrored data older than this (by the bridge's append time) is deleted; -1 = forever."},
    {"segment.bytes", config_type::int32, role::stored, "1073741824", 14, INT32_MAX},
    {"segment.index.bytes", config_type::int32, role::stored, "10485760", 4, INT32_MAX},
    {"segment.jitter.ms", config_type::int64, role::stored, "0", 0},
    {"segment.ms", config_type::int64, role::stored, "604800000", 1},
    {"unclean.leader.election.enable", config_type::boolean, role::stored, "false"},
};

const config_def* find_def(std::string_view name) {
  for (const auto& d : defs) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

std::optional<int64_t> parse_int(std::string_view v) {
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  int64_t out = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || end != v.data() + v.size() || v.empty()) return std::nullopt;
  return out;
}

std::vector<std::string> split_list(std::string_view v) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= v.size()) {
    size_t comma = v.find(',', start);
    if (comma == std::string_view::npos) comma = v.size();
    auto item = v.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    out.emplace_back(item);
    start = comma + 1;
  }
  return out;
}

bool is_choice(std::string_view choices, std::string_view v) {
  size_t start = 0;
  while (start <= choices.size()) {
    size_t bar = choices.find('|', start);
    if (bar == std::string_view::npos) bar = choices.size();
    if (choices.substr(start, bar - start) == v) return true;
    start = bar + 1;
  }
  return false;
}

std::string lower(std::string_view v) {
  std::string s(v);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string quoted(std::string_view name, std::string_view value) {
  return "Invalid value '" + std::string(value) + "' for configuration " + std::string(name);
}

std::string_view yaml_key(std::string_view name) {
  if (name == "retention.ms") return "retention";
  if (name == "retention.bytes") return "retention_bytes";
  if (name == "edgebridge.priority") return "priority";
  if (name == "edgebridge.mirror.enabled") return "mirror";
  if (name == "edgebridge.mirror.target") return "target";
  if (name == "cleanup.policy") return "cleanup_policy";
  if (name == "delete.retention.ms") return "delete_retention";
  return {};
}

std::string to_string_ms(int64_t v) { return std::to_string(v); }

// The config file's value of a mapped name: from topics.overrides.<topic> or topics.defaults.
std::optional<std::string> file_value(const topics_options& opts, std::string_view name,
                                      const storage::topic_config& layer,
                                      const topic_override* ov) {
  if (name == "retention.ms") return to_string_ms(layer.retention_ms);
  if (name == "retention.bytes") return std::to_string(layer.retention_bytes);
  if (name == "edgebridge.priority") return std::to_string(layer.priority);
  if (name == "edgebridge.mirror.enabled") return std::string(!ov || ov->mirror ? "true" : "false");
  if (name == "edgebridge.mirror.target") {
    if (ov && !ov->target.empty()) return ov->target;
    return std::nullopt;
  }
  if (name == "max.message.bytes") return std::to_string(opts.max_message_bytes);
  if (name == "cleanup.policy") {
    if (layer.cleanup_compact)
      return std::string(layer.cleanup_delete ? "compact,delete" : "compact");
    return std::string("delete");
  }
  if (name == "delete.retention.ms") return to_string_ms(layer.delete_retention_ms);
  return std::nullopt;
}

}  // namespace

bool is_list_config(std::string_view name) {
  auto* d = find_def(name);
  return d && d->type == config_type::list;
}

std::optional<std::string> check_topic_config(std::string_view name, std::string_view value,
                                              bool at_creation) {
  auto* d = find_def(name);
  if (!d) return "Unknown topic config name: " + std::string(name);
  if (d->what == role::creation_only && !at_creation) {
    return std::string(name) + " can only be set when the topic is created";
  }
  switch (d->type) {
    case config_type::int64:
    case config_type::int32:
    case config_type::int16: {
      auto v = parse_int(value);
      if (!v) return quoted(name, value) + ": not an integer";
      const int64_t max =
          d->type == config_type::int32 ? std::min<int64_t>(d->max, INT32_MAX) : d->max;
      if (*v < d->min || *v > max) {
        return quoted(name, value) + ": must be in [" + std::to_string(d->min) + ", " +
               std::to_string(max) + "]";
      }
      return std::nullopt;
    }
    case config_type::boolean: {
      auto v = lower(value);
      if (v != "true" && v != "false") return quoted(name, value) + ": must be true or false";
      return std::nullopt;
    }
    case config_type::float64: {
      std::string s(value);
      char* end = nullptr;
      const double v = std::strtod(s.c_str(), &end);
      if (s.empty() || end != s.c_str() + s.size() || v < 0 || v > 1) {
        return quoted(name, value) + ": must be a number in [0, 1]";
      }
      return std::nullopt;
    }
    case config_type::list: {
      auto items = split_list(value);
      for (auto& item : items) {
        if (!is_choice(d->choices, item)) {
          return quoted(name, value) + ": each item must be one of delete, compact";
        }
      }
      return std::nullopt;
    }
    default:
      break;
  }
  if (!d->choices.empty() && !is_choice(d->choices, value)) {
    std::string list(d->choices);
    std::replace(list.begin(), list.end(), '|', ',');
    return quoted(name, value) + ": must be one of " + list;
  }
  if (name == topic_settings::mirror_target && !is_legal_topic_name(value)) {
    return quoted(name, value) + ": not a legal Kafka topic name";
  }
  return std::nullopt;
}

std::optional<std::string> check_topic_configs(const std::map<std::string, std::string>& settings,
                                               bool at_creation) {
  if (settings.size() > storage::max_topic_settings) return std::string("too many configs");
  for (const auto& [k, v] : settings) {
    if (auto why = check_topic_config(k, v, at_creation)) return why;
  }
  return std::nullopt;
}

storage::topic_config effective_topic_config(const topics_options& opts, const std::string& name,
                                             int32_t partitions,
                                             std::map<std::string, std::string> settings) {
  auto cfg = opts.config_for(name);
  cfg.partitions = partitions;
  // The config file's cleanup policy (topics.overrides.<topic>.cleanup_policy) unless set below.
  auto number = [&](std::string_view key, auto& field) {
    if (auto v = topic_settings::find(settings, key)) {
      if (auto n = parse_int(*v)) field = static_cast<std::remove_reference_t<decltype(field)>>(*n);
    }
  };
  number("retention.ms", cfg.retention_ms);
  number("retention.bytes", cfg.retention_bytes);
  number("delete.retention.ms", cfg.delete_retention_ms);
  number(topic_settings::priority, cfg.priority);
  if (auto v = topic_settings::find(settings, "cleanup.policy")) {
    auto items = split_list(*v);
    cfg.cleanup_delete = std::find(items.begin(), items.end(), "delete") != items.end();
    cfg.cleanup_compact = std::find(items.begin(), items.end(), "compact") != items.end();
  }
  cfg.settings = std::move(settings);
  return cfg;
}

size_t topic_max_message_bytes(const topics_options& opts, const storage::topic_config& cfg) {
  if (auto v = topic_settings::find(cfg.settings, "max.message.bytes")) {
    if (auto n = parse_int(*v); n && *n >= 0) {
      return std::min(static_cast<size_t>(*n), opts.max_message_bytes);
    }
  }
  return opts.max_message_bytes;
}

std::vector<described_config> describe_topic_configs(const topics_options& opts,
                                                     const storage::topic_info& topic) {
  const auto ov_it = opts.overrides.find(topic.name);
  const topic_override* ov = ov_it == opts.overrides.end() ? nullptr : &ov_it->second;
  const auto layer = opts.config_for(topic.name);
  std::vector<described_config> out;
  for (const auto& d : defs) {
    described_config c;
    c.name = std::string(d.name);
    c.type = d.type;
    c.read_only = d.what == role::creation_only;
    c.doc = std::string(d.doc);
    if (auto v = topic_settings::find(topic.config.settings, d.name)) {
      c.synonyms.push_back({c.name, *v, config_source::dynamic_topic});
    }
    if (d.what == role::stored) {
      c.synonyms.push_back({c.name, std::string(d.kafka_default), config_source::default_config});
    } else if (auto fv = file_value(opts, d.name, layer, ov)) {
      const auto key = yaml_key(d.name);
      const bool from_override =
          ov && !key.empty() &&
          (d.name == "edgebridge.mirror.enabled" || d.name == "edgebridge.mirror.target" ||
           file_value(opts, d.name, opts.defaults, nullptr) != fv);
      if (from_override) {
        c.synonyms.push_back({"topics.overrides." + topic.name + "." + std::string(key), *fv,
                              config_source::static_broker});
      } else {
        const std::string file_name = d.name == "max.message.bytes" ? "topics.max_message_bytes"
                                      : key.empty()                 ? std::string(d.name)
                                                    : "topics.defaults." + std::string(key);
        c.synonyms.push_back({file_name, *fv, config_source::default_config});
      }
    }
    if (!c.synonyms.empty()) {
      c.value = c.synonyms.front().value;
      c.source = c.synonyms.front().source;
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<described_config> describe_broker_configs(const topics_options& opts,
                                                      const broker_facts& broker) {
  std::vector<described_config> out;
  auto add = [&](std::string name, std::string value, config_type type, std::string doc = {}) {
    described_config c;
    c.name = std::move(name);
    c.value = std::move(value);
    c.read_only = true;
    c.source = config_source::static_broker;
    c.type = type;
    c.doc = std::move(doc);
    c.synonyms.push_back({c.name, c.value, c.source});
    out.push_back(std::move(c));
  };
  add("advertised.listeners",
      "PLAINTEXT://" + broker.advertised_host + ":" + std::to_string(broker.advertised_port),
      config_type::string);
  add("auto.create.topics.enable", opts.auto_create ? "true" : "false", config_type::boolean,
      "topics.auto_create");
  add("broker.id", std::to_string(broker.node_id), config_type::int32);
  add("default.replication.factor", "1", config_type::int32, "a single broker");
  add("log.cleanup.policy", "delete", config_type::list);
  add("log.dirs", broker.data_dir, config_type::string, "storage.data_dir");
  add("log.retention.bytes", std::to_string(opts.defaults.retention_bytes), config_type::int64,
      "topics.defaults.retention_bytes");
  add("log.retention.ms", std::to_string(opts.defaults.retention_ms), config_type::int64,
      "topics.defaults.retention");
  add("message.max.bytes", std::to_string(opts.max_message_bytes), config_type::int32,
      "topics.max_message_bytes");
  add("min.insync.replicas", "1", config_type::int32);
  add("node.id", std::to_string(broker.node_id), config_type::int32);
  add("num.partitions", std::to_string(opts.defaults.partitions), config_type::int32,
      "topics.defaults.partitions");
  add("offsets.topic.replication.factor", "1", config_type::int16);
  return out;
}

}  // namespace eb::bridge

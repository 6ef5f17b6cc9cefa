#pragma once
// The topic settings bridge/ applies when it creates a topic (auto-create on Metadata/Produce,
// CreateTopics): defaults and per-topic overrides. config/ fills them from the `topics` section.
#include <fnmatch.h>

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "storage/storage.h"

namespace eb::bridge {

// Per-topic settings that differ from the defaults.
struct topic_override {
  storage::topic_config storage;
  bool mirror = true;
  std::string target;  // cloud topic name; empty = the template
};

struct topics_options {
  // Create unknown topics on Metadata / Produce, like auto.create.topics.enable.
  bool auto_create = true;
  storage::topic_config defaults;
  std::map<std::string, topic_override> overrides;
  // Topics that may exist at once; creation beyond it is refused. A device on the floor cannot
  // make the edge (and through the mirror, the cloud) hold unbounded topics. Default: 1000.
  size_t max_topics = 1000;
  // Partitions one topic may have (CreateTopics, overrides, defaults). Default: 64.
  int32_t max_partitions = 64;
  // Names that auto-creation and CreateTopics may create: glob patterns (`*`, `?`, `[...]`).
  // Topics named in `overrides` always may. Default: every name.
  std::vector<std::string> create_allow = {"*"};
  // The largest record batch a producer may send (Kafka max.message.bytes): above it produce
  // answers MESSAGE_TOO_LARGE at once instead of the cloud refusing the records later. Default:
  // Kafka's default topic limit, 1048588, what a cloud topic holds unless raised (the mirror
  // creates its topics with at least that much).
  size_t max_message_bytes = 1048588;

  storage::topic_config config_for(const std::string& topic) const {
    auto it = overrides.find(topic);
    return it == overrides.end() ? defaults : it->second.storage;
  }
  bool may_create(const std::string& topic) const {
    if (overrides.count(topic)) return true;
    for (auto& pattern : create_allow) {
      if (::fnmatch(pattern.c_str(), topic.c_str(), 0) == 0) return true;
    }
    return false;
  }
};

// Every problem, naming the config key.
inline std::vector<std::string> validate(const topics_options& o) {
  std::vector<std::string> p;
  if (o.max_topics == 0) p.push_back("topics.max_topics: must be at least 1");
  if (o.max_partitions < 1) p.push_back("topics.max_partitions: must be at least 1");
  if (o.defaults.partitions > o.max_partitions) {
    p.push_back("topics.defaults.partitions: above topics.max_partitions");
  }
  for (auto& [name, ov] : o.overrides) {
    if (ov.storage.partitions > o.max_partitions) {
      p.push_back("topics.overrides." + name + ".partitions: above topics.max_partitions");
    }
  }
  if (o.max_message_bytes < 1024) p.push_back("topics.max_message_bytes: must be at least 1KiB");
  for (auto& pattern : o.create_allow) {
    if (pattern.empty()) p.push_back("topics.create_allow: empty pattern");
  }
  return p;
}

}  // namespace eb::bridge

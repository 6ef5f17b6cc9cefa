#pragma once
// The topic settings bridge/ applies when it creates a topic (auto-create on Metadata/Produce,
// CreateTopics): defaults and per-topic overrides. config/ fills them from the `topics` section.
#include <map>
#include <string>

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

  storage::topic_config config_for(const std::string& topic) const {
    auto it = overrides.find(topic);
    return it == overrides.end() ? defaults : it->second.storage;
  }
};

}  // namespace eb::bridge

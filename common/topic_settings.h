#pragma once
// Names of the per-topic settings that bridge/ stores in storage::topic_config::settings (the topic
// configs of the Kafka admin APIs, bridge/topic_configs.h) and that the mirror reads. Values are
// the strings a Kafka admin client sent, validated by bridge/topic_configs.cc before storing.
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace eb::topic_settings {

// "true" / "false": whether the topic is mirrored to the cloud (set at creation only).
inline constexpr std::string_view mirror_enabled = "edgebridge.mirror.enabled";
// The cloud topic name, instead of mirror.topic_template (set at creation only).
inline constexpr std::string_view mirror_target = "edgebridge.mirror.target";
// "pause" / "skip": what a record the cloud refuses does to the partition (alterable).
inline constexpr std::string_view mirror_on_refusal = "edgebridge.mirror.on.refusal";
// Mirror drain order and quota drop order, -1000..1000 (storage::topic_config::priority).
inline constexpr std::string_view priority = "edgebridge.priority";

inline std::optional<std::string> find(const std::map<std::string, std::string>& settings,
                                       std::string_view key) {
  auto it = settings.find(std::string(key));
  if (it == settings.end()) return std::nullopt;
  return it->second;
}

}  // namespace eb::topic_settings

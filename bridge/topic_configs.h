#pragma once
// Kafka topic configs (CreateTopics `configs`) onto storage::topic_config: cleanup.policy,
// delete.retention.ms, retention.ms, retention.bytes. Other names are accepted and ignored (Kafka
// Streams sends segment and timestamp settings edgebridge has no use for).
#include <optional>
#include <string>
#include <string_view>

#include "storage/storage.h"

namespace eb::bridge {

// Applies one config; the problem (for INVALID_CONFIG) when the value is not valid for it.
std::optional<std::string> apply_topic_config(storage::topic_config& cfg, std::string_view name,
                                              const std::optional<std::string>& value);

// Kafka's spelling of a policy ("delete", "compact", "compact,delete").
std::string_view cleanup_policy_name(storage::cleanup_policy p);

}  // namespace eb::bridge

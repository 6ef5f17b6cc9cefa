#pragma once
// What IncrementalAlterConfigs and AlterConfigs share: finding the resource (a topic; the broker's
// configs are read-only) and checking, persisting and applying a topic's new config set.
#include <map>
#include <optional>
#include <string>

#include "bridge/handlers/handler.h"
#include "net/errors.h"

namespace eb::bridge {

struct alter_resource {
  std::optional<storage::topic_info> topic;
  net::error_code code = net::error_code::none;
  std::string error;  // empty: `topic` is set
};
alter_resource alter_target(request_ctx& ctx, int8_t resource_type, const std::string& name);

struct alter_outcome {
  net::error_code code = net::error_code::none;
  std::string message;
};
// Checks every config that changed (INVALID_CONFIG with the first problem), then, unless
// validate_only, stores the set and applies it (topic_registry::alter).
awaitable<alter_outcome> apply_topic_settings(request_ctx& ctx, const storage::topic_info& topic,
                                              std::map<std::string, std::string> settings,
                                              bool validate_only);
bool creation_only(const std::string& name);

}  // namespace eb::bridge

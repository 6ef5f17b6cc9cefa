#include "bridge/topic_configs.h"

#include <charconv>

namespace eb::bridge {
namespace {

std::optional<int64_t> to_long(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string no_spaces(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != ' ') out.push_back(c);
  }
  return out;
}

}  // namespace

std::optional<std::string> apply_topic_config(storage::topic_config& cfg, std::string_view name,
                                              const std::optional<std::string>& value) {
  const bool is_long =
      name == "delete.retention.ms" || name == "retention.ms" || name == "retention.bytes";
  if (name != "cleanup.policy" && !is_long) return std::nullopt;  // not ours: ignored
  if (!value) return std::string(name) + ": a value is required";
  if (name == "cleanup.policy") {
    const auto v = no_spaces(*value);
    if (v == "delete") {
      cfg.cleanup = storage::cleanup_policy::del;
    } else if (v == "compact") {
      cfg.cleanup = storage::cleanup_policy::compact;
    } else if (v == "compact,delete" || v == "delete,compact") {
      cfg.cleanup = storage::cleanup_policy::compact_delete;
    } else {
      return "cleanup.policy: expected delete, compact or compact,delete, got '" + *value + "'";
    }
    return std::nullopt;
  }
  const auto v = to_long(*value);
  if (!v || *v < -1) return std::string(name) + ": expected a number >= -1, got '" + *value + "'";
  if (name == "delete.retention.ms") {
    cfg.delete_retention_ms = *v;
  } else if (name == "retention.ms") {
    cfg.retention_ms = *v;
  } else {
    cfg.retention_bytes = *v;
  }
  return std::nullopt;
}

std::string_view cleanup_policy_name(storage::cleanup_policy p) {
  switch (p) {
    case storage::cleanup_policy::compact:
      return "compact";
    case storage::cleanup_policy::compact_delete:
      return "compact,delete";
    case storage::cleanup_policy::del:
      break;
  }
  return "delete";
}

}  // namespace eb::bridge

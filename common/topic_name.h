#pragma once
// Kafka's topic-name rule, shared by storage (what it stores), the protocol handlers (what they
// accept) and the mirror (what it creates in the cloud).
#include <algorithm>
#include <string_view>

namespace eb {

// 1..249 characters of [a-zA-Z0-9._-], not "." or "..".
inline bool is_legal_topic_name(std::string_view name) {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

}  // namespace eb

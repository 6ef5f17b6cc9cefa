#pragma once
// The ACL handlers' mapping between Kafka's wire fields and bridge/security/acl.h.
#include <optional>
#include <string>

#include "bridge/security/acl.h"

namespace eb::bridge {

inline security::acl_filter acl_filter_of(int8_t resource, const std::optional<std::string>& name,
                                          int8_t pattern,
                                          const std::optional<std::string>& principal,
                                          const std::optional<std::string>& host, int8_t operation,
                                          int8_t permission) {
  return {.resource = static_cast<security::resource_type>(resource),
          .name = name,
          .pattern = static_cast<security::pattern_type>(pattern),
          .principal = principal,
          .host = host,
          .operation = static_cast<security::acl_operation>(operation),
          .permission = static_cast<security::acl_permission>(permission)};
}

// Kafka refuses filters with UNKNOWN in any field.
inline bool usable(const security::acl_filter& f) {
  return f.resource != security::resource_type::unknown &&
         f.pattern != security::pattern_type::unknown &&
         f.operation != security::acl_operation::unknown &&
         f.permission != security::acl_permission::unknown &&
         static_cast<int8_t>(f.resource) <= 7 && static_cast<int8_t>(f.pattern) <= 4 &&
         static_cast<int8_t>(f.operation) <= 14 && static_cast<int8_t>(f.permission) <= 3 &&
         static_cast<int8_t>(f.resource) > 0 && static_cast<int8_t>(f.pattern) > 0 &&
         static_cast<int8_t>(f.operation) > 0 && static_cast<int8_t>(f.permission) > 0;
}

}  // namespace eb::bridge

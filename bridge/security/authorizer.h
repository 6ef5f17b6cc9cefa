#pragma once
// The ACL authorizer, with Kafka's rules (StandardAuthorizer): super users may do anything; a
// matching DENY wins over any ALLOW; an ALLOW for the operation or for All grants it, and
// Describe is implied by Read, Write, Delete and Alter (DescribeConfigs by AlterConfigs); with
// no matching ALLOW the answer is no (allow.everyone.if.no.acl.found=false). A binding matches a
// resource when its name equals it or is "*" (literal) or is a prefix of it (prefixed), its
// principal equals the caller's or is "User:*", and its host equals the caller's IP or is "*".
//
// The bindings persist as storage records of kind "acl" (written by the ACL handlers through the
// writer); reload() refreshes the in-memory copy from them after each write, so changes apply to
// the next request. Thread-safe: any thread.
#include <memory>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "bridge/security/acl.h"
#include "storage/storage.h"

namespace eb::bridge::security {

struct authorizer_options {
  // Off: every principal may do everything (the ACL APIs still store bindings).
  bool enabled = false;
  // Principals ("User:admin") allowed everything.
  std::set<std::string> super_users;
};

class authorizer {
 public:
  static constexpr const char* record_kind = "acl";
  authorizer(authorizer_options opts, storage::log_store& store);

  bool enabled() const { return _opts.enabled; }
  // Whether `principal` from `host` may do `op` on the resource; always true when disabled.
  bool allowed(std::string_view principal, std::string_view host, acl_operation op,
               resource_type type, std::string_view name) const;
  // Whether some resource of `type` allows `op` (Kafka's authorizeByResourceType): an ALLOW
  // binding for it whose own name is not denied.
  bool allowed_on_some(std::string_view principal, std::string_view host, acl_operation op,
                       resource_type type) const;
  // The stored bindings a filter selects.
  std::vector<acl_binding> find(const acl_filter& f) const;
  // Re-reads the bindings from storage (after an ACL write completed).
  void reload();
  storage::log_store& store() { return _store; }

 private:
  const authorizer_options _opts;
  storage::log_store& _store;
  mutable std::shared_mutex _mu;
  std::vector<acl_binding> _acls;
};

}  // namespace eb::bridge::security

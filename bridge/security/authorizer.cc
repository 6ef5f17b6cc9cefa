#include "bridge/security/authorizer.h"

#include <spdlog/spdlog.h>

#include <mutex>

namespace eb::bridge::security {
namespace {

bool resource_matches(const acl_binding& b, resource_type type, std::string_view name) {
  if (b.resource != type) return false;
  if (b.pattern == pattern_type::literal) return b.name == name || b.name == wildcard;
  return b.pattern == pattern_type::prefixed && name.starts_with(b.name);
}

bool principal_matches(const acl_binding& b, std::string_view principal) {
  return b.principal == principal || b.principal == "User:*";
}

bool host_matches(const acl_binding& b, std::string_view host) {
  return b.host == wildcard || b.host == host;
}

// The operations whose ALLOW grants `op`.
bool grants(acl_operation granted, acl_operation op) {
  if (granted == op || granted == acl_operation::all) return true;
  if (op == acl_operation::describe) {
    return granted == acl_operation::read || granted == acl_operation::write ||
           granted == acl_operation::remove || granted == acl_operation::alter;
  }
  if (op == acl_operation::describe_configs) return granted == acl_operation::alter_configs;
  return false;
}

}  // namespace

authorizer::authorizer(authorizer_options opts, storage::log_store& store)
    : _opts(std::move(opts)), _store(store) {
  reload();
}

void authorizer::reload() {
  std::vector<acl_binding> acls;
  for (const auto& [key, value] : _store.records(record_kind)) {
    if (auto b = decode_acl(key)) {
      acls.push_back(std::move(*b));
    } else {
      spdlog::error("authorizer: a stored ACL does not decode; ignored");
    }
  }
  std::unique_lock lk(_mu);
  _acls = std::move(acls);
}

bool authorizer::allowed(std::string_view principal, std::string_view host, acl_operation op,
                         resource_type type, std::string_view name) const {
  if (!_opts.enabled) return true;
  if (_opts.super_users.contains(std::string(principal))) return true;
  std::shared_lock lk(_mu);
  bool allow = false;
  for (const auto& b : _acls) {
    if (!resource_matches(b, type, name) || !principal_matches(b, principal) ||
        !host_matches(b, host)) {
      continue;
    }
    if (b.permission == acl_permission::deny &&
        (b.operation == op || b.operation == acl_operation::all)) {
      return false;
    }
    if (b.permission == acl_permission::allow && grants(b.operation, op)) allow = true;
  }
  return allow;
}

bool authorizer::allowed_on_some(std::string_view principal, std::string_view host,
                                 acl_operation op, resource_type type) const {
  if (!_opts.enabled) return true;
  if (_opts.super_users.contains(std::string(principal))) return true;
  std::vector<std::string> candidates;
  {
    std::shared_lock lk(_mu);
    for (const auto& b : _acls) {
      if (b.resource == type && b.permission == acl_permission::allow && grants(b.operation, op) &&
          principal_matches(b, principal) && host_matches(b, host)) {
        candidates.push_back(b.name);
      }
    }
  }
  for (const auto& name : candidates) {
    if (allowed(principal, host, op, type, name)) return true;
  }
  return false;
}

std::vector<acl_binding> authorizer::find(const acl_filter& f) const {
  std::shared_lock lk(_mu);
  std::vector<acl_binding> out;
  for (const auto& b : _acls) {
    if (matches(f, b)) out.push_back(b);
  }
  return out;
}

}  // namespace eb::bridge::security

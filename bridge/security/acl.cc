#include "bridge/security/acl.h"

namespace eb::bridge::security {
namespace {

bool concrete(resource_type r) {
  return r == resource_type::topic || r == resource_type::group || r == resource_type::cluster ||
         r == resource_type::transactional_id || r == resource_type::delegation_token ||
         r == resource_type::user;
}
bool concrete(acl_operation o) {
  return o != acl_operation::unknown && o != acl_operation::any &&
         static_cast<int8_t>(o) <= static_cast<int8_t>(acl_operation::describe_tokens) &&
         static_cast<int8_t>(o) >= 0;
}

void put_str(std::string& out, std::string_view s) {
  out.push_back(static_cast<char>(s.size() >> 8));
  out.push_back(static_cast<char>(s.size()));
  out.append(s);
}
std::optional<std::string> get_str(std::string_view& in) {
  if (in.size() < 2) return std::nullopt;
  size_t n = (static_cast<uint8_t>(in[0]) << 8) | static_cast<uint8_t>(in[1]);
  if (in.size() < 2 + n) return std::nullopt;
  std::string s(in.substr(2, n));
  in.remove_prefix(2 + n);
  return s;
}

}  // namespace

bool valid(const acl_binding& b) {
  if (!concrete(b.resource) || !concrete(b.operation)) return false;
  if (b.pattern != pattern_type::literal && b.pattern != pattern_type::prefixed) return false;
  if (b.permission != acl_permission::allow && b.permission != acl_permission::deny) return false;
  if (b.name.empty() || b.name.size() > 1024 || b.host.empty() || b.host.size() > 255) {
    return false;
  }
  if (b.principal.size() > 1024 || b.principal.find(':') == std::string::npos) return false;
  if (b.resource == resource_type::cluster && b.name != cluster_name) return false;
  if (b.pattern == pattern_type::prefixed && b.name == wildcard) return false;
  return true;
}

bool matches(const acl_filter& f, const acl_binding& b) {
  if (f.resource != resource_type::any && f.resource != b.resource) return false;
  if (f.operation != acl_operation::any && f.operation != b.operation) return false;
  if (f.permission != acl_permission::any && f.permission != b.permission) return false;
  if (f.principal && *f.principal != b.principal) return false;
  if (f.host && *f.host != b.host) return false;
  switch (f.pattern) {
    case pattern_type::any:
      return !f.name || *f.name == b.name;
    case pattern_type::match:
      if (!f.name) return true;
      if (b.pattern == pattern_type::literal) return b.name == *f.name || b.name == wildcard;
      return f.name->starts_with(b.name);
    case pattern_type::literal:
    case pattern_type::prefixed:
      return f.pattern == b.pattern && (!f.name || *f.name == b.name);
    case pattern_type::unknown:
      return false;
  }
  return false;
}

std::string encode(const acl_binding& b) {
  std::string out(1, '\x01');
  out.push_back(static_cast<char>(b.resource));
  out.push_back(static_cast<char>(b.pattern));
  out.push_back(static_cast<char>(b.operation));
  out.push_back(static_cast<char>(b.permission));
  put_str(out, b.name);
  put_str(out, b.principal);
  put_str(out, b.host);
  return out;
}

std::optional<acl_binding> decode_acl(std::string_view v) {
  if (v.size() < 5 || v[0] != '\x01') return std::nullopt;
  acl_binding b;
  b.resource = static_cast<resource_type>(v[1]);
  b.pattern = static_cast<pattern_type>(v[2]);
  b.operation = static_cast<acl_operation>(v[3]);
  b.permission = static_cast<acl_permission>(v[4]);
  v.remove_prefix(5);
  auto name = get_str(v), principal = get_str(v), host = get_str(v);
  if (!name || !principal || !host || !v.empty()) return std::nullopt;
  b.name = std::move(*name);
  b.principal = std::move(*principal);
  b.host = std::move(*host);
  if (!valid(b)) return std::nullopt;
  return b;
}

}  // namespace eb::bridge::security

#pragma once
// ACLs as Kafka models them (org.apache.kafka.common.acl): a binding allows or denies one
// operation on a resource pattern (type, name, literal or prefixed) to a principal ("User:alice",
// "User:*") from a host ("*" or an IP). The numeric values are Kafka's wire codes.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace eb::bridge::security {

enum class resource_type : int8_t {
  unknown = 0,
  any = 1,
  topic = 2,
  group = 3,
  cluster = 4,
  transactional_id = 5,
  delegation_token = 6,
  user = 7,
};
enum class pattern_type : int8_t { unknown = 0, any = 1, match = 2, literal = 3, prefixed = 4 };
enum class acl_operation : int8_t {
  unknown = 0,
  any = 1,
  all = 2,
  read = 3,
  write = 4,
  create = 5,
  remove = 6,  // Kafka's DELETE
  alter = 7,
  describe = 8,
  cluster_action = 9,
  describe_configs = 10,
  alter_configs = 11,
  idempotent_write = 12,
  create_tokens = 13,
  describe_tokens = 14,
};
enum class acl_permission : int8_t { unknown = 0, any = 1, deny = 2, allow = 3 };

// Kafka's cluster resource name.
inline constexpr std::string_view cluster_name = "kafka-cluster";
inline constexpr std::string_view wildcard = "*";

struct acl_binding {
  resource_type resource = resource_type::topic;
  std::string name;
  pattern_type pattern = pattern_type::literal;
  std::string principal;
  std::string host = "*";
  acl_operation operation = acl_operation::all;
  acl_permission permission = acl_permission::allow;
  auto operator<=>(const acl_binding&) const = default;
};

// A filter (DescribeAcls, DeleteAcls): `any` types match all; a null string matches all.
// Pattern `match` selects the bindings that would apply to the literal name (literal equal or
// "*", or prefixed with a prefix of it).
struct acl_filter {
  resource_type resource = resource_type::any;
  std::optional<std::string> name;
  pattern_type pattern = pattern_type::any;
  std::optional<std::string> principal;
  std::optional<std::string> host;
  acl_operation operation = acl_operation::any;
  acl_permission permission = acl_permission::any;
};

// Whether a binding is well-formed and storable: concrete enums (not any/match/unknown),
// "User:" principal, non-empty name, cluster named kafka-cluster.
bool valid(const acl_binding& b);
bool matches(const acl_filter& f, const acl_binding& b);

// The storage form (an opaque record key) and back.
std::string encode(const acl_binding& b);
std::optional<acl_binding> decode_acl(std::string_view v);

}  // namespace eb::bridge::security

#pragma once
// The server-side assignors of the consumer group protocol (KIP-848): "uniform" (Kafka's
// default) and "range", named as Kafka names them. Pure functions of the members' subscriptions,
// the topics and the previous target assignment: unit-tested without a coordinator.
#include <array>
#include <compare>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace eb::bridge::groups {

using topic_uuid = std::array<uint8_t, 16>;

// A topic as the coordinator sees it: name, stable id, partition count.
struct topic_meta {
  std::string name;
  topic_uuid id{};
  int32_t partitions = 0;
};
// Every topic, by name.
using topic_snapshot = std::map<std::string, topic_meta>;

// Partitions by topic id (the wire's shape: ConsumerGroupHeartbeat's TopicPartitions).
using assignment = std::map<topic_uuid, std::set<int32_t>>;

size_t partition_count(const assignment& a);
// a - b, a & b, a | b.
assignment minus(const assignment& a, const assignment& b);
assignment intersect(const assignment& a, const assignment& b);
void add_all(assignment& into, const assignment& from);
bool contains(const assignment& a, const topic_uuid& id, int32_t partition);
// Empty topic entries are dropped.
void normalize(assignment& a);

struct assignor_member {
  std::string id;
  // The topics it subscribes to that exist (names).
  std::set<std::string> topics;
};

// "uniform" or "range"; the one used when a member names none.
bool known_assignor(std::string_view name);
inline constexpr std::string_view default_assignor = "uniform";

// The target assignment: every partition of every subscribed topic goes to exactly one member
// subscribed to its topic; members without a subscription get nothing.
//
// uniform: balanced and sticky. Every member keeps what it had in `previous` up to its fair
//   share (for identical subscriptions: floor(P/N), and floor+1 for P mod N members), the rest go
//   to the least loaded subscriber (ties by member id). For members with different subscriptions
//   the share is computed per topic (an approximation of Kafka's heterogeneous case).
// range: per topic, the subscribers in member-id order get contiguous ranges of partitions
//   (the first P mod N one more), as Kafka's RangeAssignor; not sticky.
std::map<std::string, assignment> assign(std::string_view assignor,
                                         const std::vector<assignor_member>& members,
                                         const topic_snapshot& topics,
                                         const std::map<std::string, assignment>& previous);

}  // namespace eb::bridge::groups

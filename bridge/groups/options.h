#pragma once
// Options of the consumer-group coordinator; config/ maps the `groups` section onto them.
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace eb::bridge::groups {

struct coordinator_options {
  // Bounds on a member's session timeout (Kafka group.min/max.session.timeout.ms).
  std::chrono::milliseconds min_session_timeout{6'000};
  std::chrono::milliseconds max_session_timeout{1'800'000};
  // Groups held in memory at once; a join beyond it gets coordinator_not_available.
  size_t max_groups = 10'000;
  // Members (and members-to-be, KIP-394) per group (Kafka group.max.size).
  size_t max_group_size = 1'000;
  // The consumer group protocol (KIP-848): the heartbeat interval members are told, and the
  // session after which a silent member is removed (Kafka group.consumer.heartbeat.interval.ms,
  // group.consumer.session.timeout.ms).
  std::chrono::milliseconds consumer_heartbeat_interval{5'000};
  std::chrono::milliseconds consumer_session_timeout{45'000};
};

// Every problem, naming the config key.
inline std::vector<std::string> validate(const coordinator_options& o) {
  std::vector<std::string> p;
  if (o.min_session_timeout.count() <= 0) p.push_back("groups.min_session_timeout: must be > 0");
  if (o.max_session_timeout < o.min_session_timeout) {
    p.push_back("groups.max_session_timeout: must be at least groups.min_session_timeout");
  }
  if (o.max_groups == 0) p.push_back("groups.max_groups: must be at least 1");
  if (o.max_group_size == 0) p.push_back("groups.max_group_size: must be at least 1");
  if (o.consumer_heartbeat_interval.count() <= 0) {
    p.push_back("groups.consumer_heartbeat_interval: must be > 0");
  }
  if (o.consumer_session_timeout <= o.consumer_heartbeat_interval) {
    p.push_back(
        "groups.consumer_session_timeout: must be longer than groups.consumer_heartbeat_interval");
  }
  return p;
}

}  // namespace eb::bridge::groups

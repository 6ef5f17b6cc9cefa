#pragma once
// Topic ids (Kafka's topicId, KIP-516) as the handlers use them: storage keeps one random UUID
// per topic (storage::topic_info::uuid); these helpers turn the topic table into the
// coordinator's snapshot and resolve an id to its topic.
#include <memory>
#include <optional>
#include <string>

#include "bridge/groups/assignor.h"
#include "bridge/topics.h"
#include "net/wire.h"

namespace eb::bridge {

// Every topic with its id and partition count (O(topics): once per group call).
inline std::shared_ptr<const groups::topic_snapshot> topic_snapshot_of(
    const topic_registry& topics) {
  auto out = std::make_shared<groups::topic_snapshot>();
  for (auto& t : topics.all())
    out->emplace(t.name, groups::topic_meta{t.name, t.uuid, t.config.partitions});
  return out;
}

// The topic with that id, if any.
inline std::optional<storage::topic_info> topic_by_id(const topic_registry& topics,
                                                      const net::uuid& id) {
  if (id == net::uuid{}) return std::nullopt;
  for (auto& t : topics.all()) {
    if (t.uuid == id) return t;
  }
  return std::nullopt;
}

}  // namespace eb::bridge

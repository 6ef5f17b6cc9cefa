#include "bridge/mirror/target_topics.h"

#include <spdlog/spdlog.h>

namespace eb::bridge::mirror_detail {

void topic_handle_deleter::operator()(rd_kafka_topic_s* t) const { rd_kafka_topic_destroy(t); }

target& target_topics::get(const std::string& name) {
  auto it = _targets.find(name);
  if (it == _targets.end()) it = _targets.try_emplace(name, name, _opts).first;
  return it->second;
}

void target_topics::check(steady::time_point now) {
  std::vector<std::pair<std::string, int32_t>> to_create;
  for (auto& [name, t] : _targets) {
    if (t.state == target_state::ready || t.retry_at > now) continue;
    if (_stopping || _uplink.link() == link_state::disconnected) return;
    if (check_one(t, now)) to_create.emplace_back(name, t.needed_partitions);
  }
  if (!to_create.empty()) create(to_create, now);
}

bool target_topics::check_one(target& t, steady::time_point now) {
  if (!t.handle) t.handle.reset(rd_kafka_topic_new(_uplink.producer(), t.name.c_str(), nullptr));
  auto m = describe_topic(_uplink.producer(), t.handle.get(), metadata_timeout);
  if (m.error) {
    if (m.error == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
      set_state(t, target_state::refused, "not authorized to describe or write");
    } else {
      const bool transport =
          m.error == RD_KAFKA_RESP_ERR__TRANSPORT || m.error == RD_KAFKA_RESP_ERR__TIMED_OUT;
      if (transport) {
        _uplink.set_link(link_state::disconnected,
                         std::string("metadata: ") + rd_kafka_err2str(m.error));
      }
      // While the cloud refuses the uplink (credentials, certificate), that reason stays the
      // last error: the transport failures it causes say less.
      if (!transport || _uplink.link() != link_state::refusing) {
        _board.note_error(std::string("metadata of ") + t.name + ": " + rd_kafka_err2str(m.error));
      }
    }
    t.retry_at = now + t.retry.next();
    return false;
  }
  // An answer means the uplink works (and authenticates) again.
  _uplink.set_link(link_state::connected, "");
  if (m.exists && !m.leaders) {
    t.retry_at = now + t.retry.next();  // e.g. just created: leaders being elected
  } else if (m.exists && m.partitions >= t.needed_partitions) {
    if (!t.limit_asked) learn_limit(t);
    set_state(t, target_state::ready, "");
    t.retry.reset();
  } else if (m.exists && _opts.create_target_topics) {
    // The source grew (CreatePartitions at the edge): the cloud topic grows to match.
    auto failed =
        create_partitions(_uplink.producer(), t.name, t.needed_partitions, metadata_timeout);
    if (failed.empty()) {
      _log.info("mirror: cloud topic {} grown from {} to {} partitions", t.name, m.partitions,
                t.needed_partitions);
      t.retry_at = now + _opts.retry_backoff_min;
    } else {
      set_state(t, target_state::too_few_partitions,
                "has " + std::to_string(m.partitions) + " partitions, the source needs " +
                    std::to_string(t.needed_partitions) + " and growing it failed: " + failed +
                    "; its records wait in storage (partitions are never remapped)");
      t.retry_at = now + t.retry.next();
    }
  } else if (m.exists) {
    set_state(t, target_state::too_few_partitions,
              "has " + std::to_string(m.partitions) + " partitions, the source needs " +
                  std::to_string(t.needed_partitions) +
                  "; its records wait in storage (partitions are never remapped)");
    t.retry_at = now + _opts.retry_backoff_max;
  } else if (_opts.create_target_topics) {
    return true;
  } else {
    set_state(t, target_state::missing,
              "does not exist and mirror.create_target_topics is off; its records wait in "
              "storage");
    t.retry_at = now + t.retry.next();
  }
  return false;
}

void target_topics::create(const std::vector<std::pair<std::string, int32_t>>& topics,
                           steady::time_point now) {
  const std::vector<std::pair<std::string, std::string>> configs{
      {"max.message.bytes", std::to_string(created_limit())}};
  auto results = create_topics(_uplink.producer(), topics, configs, metadata_timeout);
  // A cloud whose policy does not let topics be created with that setting gets the broker's
  // default instead; the limit is read back when the topic becomes ready.
  std::vector<std::pair<std::string, int32_t>> again;
  for (auto& [name, partitions] : topics) {
    auto it = results.find(name);
    if (it != results.end() && !it->second.empty() &&
        (it->second.starts_with("POLICY_VIOLATION") || it->second.starts_with("INVALID_CONFIG"))) {
      _log.warn(
          "mirror: creating cloud topic {} with max.message.bytes={} refused ({}); creating "
          "it with the broker's default",
          name, created_limit(), it->second);
      again.emplace_back(name, partitions);
    }
  }
  if (!again.empty()) {
    for (auto& [name, answer] : create_topics(_uplink.producer(), again, {}, metadata_timeout)) {
      results[name] = answer;
    }
  }
  for (auto& [name, partitions] : topics) {
    auto& t = _targets.at(name);
    auto it = results.find(name);
    if (it != results.end() && it->second.empty()) {
      _log.info("mirror: created cloud topic {} with {} partitions", name, partitions);
      // Metadata may lag the creation a little: look again shortly.
      t.retry_at = now + _opts.retry_backoff_min;
    } else {
      set_state(
          t, target_state::refused,
          "cannot be created: " + (it == results.end() ? std::string("no answer") : it->second));
      t.retry_at = now + t.retry.next();
    }
  }
}

void target_topics::set_state(target& t, target_state s, const std::string& why) {
  t.state = s;
  t.error = why;
  // Resyncs send every target back to `unknown` and then `ready` again: not worth a line.
  bool changed = t.logged_state != s || t.logged_error != why;
  if (!changed || s == target_state::unknown) return;
  t.logged_state = s;
  t.logged_error = why;
  if (s == target_state::ready) {
    _log.info("mirror: cloud topic {} ready", t.name);
  } else {
    _log.error("mirror: cloud topic {}: {}", t.name, why);
    _board.note_error("cloud topic " + t.name + ": " + why);
  }
}

uint64_t target_topics::created_limit() const {
  constexpr uint64_t kafka_default = 1'048'588;  // the broker's message.max.bytes default
  return std::max(_uplink.largest_batch(), kafka_default);
}

void target_topics::learn_limit(target& t) {
  t.limit_asked = true;
  auto l = describe_max_message_bytes(_uplink.producer(), t.name, metadata_timeout);
  if (!l.max_message_bytes) {
    // Not fatal: records go, and a refusal is learned from the broker instead.
    if (t.logged_limit_error != l.error) {
      t.logged_limit_error = l.error;
      _log.warn(
          "mirror: cannot read max.message.bytes of cloud topic {} ({}); records are not "
          "checked against it",
          t.name, l.error);
    }
    return;
  }
  uint64_t limit = static_cast<uint64_t>(std::max<int64_t>(*l.max_message_bytes, 0));
  uint64_t budget = 0;
  if (limit < _uplink.largest_batch()) {
    // librdkafka's batch.size is producer-wide: each partition of t then has at most one
    // batch's worth handed over, estimated from above (see forwarder's wire_bytes).
    budget = limit > batch_overhead(limit, _opts.compression)
                 ? limit - batch_overhead(limit, _opts.compression)
                 : 1;
  }
  if (t.max_message_bytes != l.max_message_bytes || t.batch_budget != budget) {
    _log.info("mirror: cloud topic {} takes batches of up to {} bytes{}", t.name, limit,
              budget ? " (smaller than the producer's; its batches are cut to fit)" : "");
  }
  t.max_message_bytes = l.max_message_bytes;
  t.batch_budget = budget;
}

void target_topics::recheck_soon(target& t) {
  t.state = target_state::unknown;
  t.retry_at = steady::now() + _opts.retry_backoff_min;
}

void target_topics::drop_handles() {
  for (auto& [name, t] : _targets) t.handle.reset();
}

void target_topics::reset_after_resync() {
  for (auto& [name, t] : _targets) {
    if (t.state == target_state::ready) t.state = target_state::unknown;
    t.retry_at = {};
  }
}

steady::time_point target_topics::next_check(steady::time_point deadline) const {
  for (auto& [name, t] : _targets) {
    if (t.state != target_state::ready) {
      deadline = std::min(deadline, std::max(t.retry_at, steady::now() + milliseconds(1)));
    }
  }
  return deadline;
}

}  // namespace eb::bridge::mirror_detail

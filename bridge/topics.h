#pragma once
// Topic names and auto-creation: Kafka's naming rules and the configured defaults, in front of
// storage's topic table. Thread-safe (storage serialises creation). Creation is awaited: it
// completes on the writer thread and resumes on the caller's executor (bridge/async_storage.h).
#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "bridge/topic_options.h"
#include "storage/storage.h"

namespace eb::bridge {

class topic_registry {
 public:
  topic_registry(storage::log_store& store, const topics_options& opts)
      : _store(store), _opts(opts) {}

  // The topic, created with its configured settings when auto-creation allows it. Errors:
  // storage::errc::unknown_topic (auto-create off), invalid_topic_config (bad name).
  boost::asio::awaitable<result<storage::topic_info>> find_or_create(std::string name);
  // The topic if it exists: unknown_topic otherwise, invalid_topic_config for a bad name.
  result<storage::topic_info> find_existing(const std::string& name) const;
  // Explicit creation (CreateTopics): partitions <= 0 takes the configured default; topic_exists
  // when it exists.
  boost::asio::awaitable<result<storage::topic_info>> create_new(std::string name,
                                                                 int32_t partitions);
  std::optional<storage::topic_info> find(const std::string& name) const {
    return _store.find_topic(name);
  }
  std::vector<storage::topic_info> all() const { return _store.topics(); }
  bool auto_create() const { return _opts.auto_create; }

 private:
  storage::log_store& _store;
  const topics_options& _opts;
};

}  // namespace eb::bridge

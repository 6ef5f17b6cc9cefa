#pragma once
// Topic names and auto-creation: Kafka's naming rules and the configured defaults, in front of
// storage's topic table. Thread-safe (storage serialises creation). Creation is awaited: it
// completes on the writer thread and resumes on the caller's executor (bridge/async_storage.h).
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>

#include "bridge/topic_options.h"
#include "common/result.h"
#include "storage/storage.h"

namespace eb::bridge {

// Why topics_options refuse a creation.
enum class topic_errc {
  // topics.max_topics exist already (or are being created).
  too_many_topics = 1,
  // More partitions than topics.max_partitions.
  too_many_partitions,
  // The name matches no topics.create_allow pattern.
  name_not_allowed,
  // A produced batch above topics.max_message_bytes (Kafka MESSAGE_TOO_LARGE).
  message_too_large,
};
const std::error_category& topic_category() noexcept;
std::error_code make_error_code(topic_errc e) noexcept;

class topic_registry {
 public:
  topic_registry(storage::log_store& store, const topics_options& opts)
      : _store(store), _opts(opts) {}

  // The topic, created with its configured settings when auto-creation allows it. Errors:
  // storage::errc::unknown_topic (auto-create off, or a topics_options limit refuses it: Kafka's
  // answer when auto-creation does not apply; logged once per name), invalid_topic_config (bad
  // name).
  boost::asio::awaitable<result<storage::topic_info>> find_or_create(std::string name);
  // The topic if it exists: unknown_topic otherwise, invalid_topic_config for a bad name.
  result<storage::topic_info> find_existing(const std::string& name) const;
  // Whether a topic of that name and partition count may be created now: topic_errc for a limit,
  // invalid_topic_config for a bad name.
  result<void> check_creation(const std::string& name, int32_t partitions) const;
  // Explicit creation (CreateTopics): partitions <= 0 takes the configured default; topic_exists
  // when it exists; the limits of check_creation. `settings`: topic configs checked by the
  // caller (bridge/topic_configs.h), stored with the topic and applied over the config file.
  boost::asio::awaitable<result<storage::topic_info>> create_new(
      std::string name, int32_t partitions, std::map<std::string, std::string> settings = {});
  // Replaces the topic configs set through the admin APIs (checked by the caller) and applies
  // them at once: one durable write, retention and produce use them from now on, the mirror
  // from its next topic refresh.
  boost::asio::awaitable<result<storage::topic_info>> alter(
      std::string name, std::map<std::string, std::string> settings);
  // At start (a thread that may wait): re-applies the config file under every topic's stored
  // settings, so an edited config file takes effect for existing topics. Returns the number of
  // topics whose config changed.
  result<size_t> reconcile_blocking();
  // The largest batch a producer may send to the topic (max.message.bytes, bounded by
  // topics.max_message_bytes).
  size_t max_message_bytes(const storage::topic_config& cfg) const;
  const topics_options& options() const { return _opts; }
  std::optional<storage::topic_info> find(const std::string& name) const {
    return _store.find_topic(name);
  }
  std::vector<storage::topic_info> all() const { return _store.topics(); }
  bool auto_create() const { return _opts.auto_create; }
  size_t max_message_bytes() const { return _opts.max_message_bytes; }

 private:
  result<void> check(const std::string& name, int32_t partitions, size_t others_creating) const;
  void warn_refused_once(const std::string& name, std::error_code why);

  storage::log_store& _store;
  const topics_options& _opts;
  // Creations between their check and their commit: counted against max_topics so that many
  // connections creating at once cannot overshoot it.
  std::atomic<size_t> _creating{0};
  // Names whose refused auto-creation was logged (bounded: a flood of names logs 1024 at most).
  std::mutex _warned_mutex;
  std::set<std::string> _warned;
};

}  // namespace eb::bridge

template <>
struct std::is_error_code_enum<eb::bridge::topic_errc> : std::true_type {};

#include "bridge/topics.h"

#include "bridge/async_storage.h"
#include "common/topic_name.h"

namespace eb::bridge {

boost::asio::awaitable<result<storage::topic_info>> topic_registry::find_or_create(
    std::string name) {
  if (auto t = _store.find_topic(name)) co_return *t;
  if (!is_legal_topic_name(name)) co_return storage::errc::invalid_topic_config;
  if (!_opts.auto_create) co_return storage::errc::unknown_topic;
  auto created = co_await create_new(name, 0);
  // Two connections may auto-create the same topic at once: the loser sees the winner's topic.
  if (!created && created.error() == storage::errc::topic_exists) {
    if (auto t = _store.find_topic(name)) co_return *t;
  }
  co_return created;
}

result<storage::topic_info> topic_registry::find_existing(const std::string& name) const {
  if (auto t = _store.find_topic(name)) return *t;
  if (!is_legal_topic_name(name)) return storage::errc::invalid_topic_config;
  return storage::errc::unknown_topic;
}

boost::asio::awaitable<result<storage::topic_info>> topic_registry::create_new(std::string name,
                                                                               int32_t partitions) {
  if (!is_legal_topic_name(name)) co_return storage::errc::invalid_topic_config;
  auto cfg = _opts.config_for(name);
  if (partitions > 0) cfg.partitions = partitions;
  co_return co_await async_create_topic(_store, std::move(name), cfg);
}

}  // namespace eb::bridge

#include "bridge/topics.h"

#include "common/topic_name.h"

namespace eb::bridge {

result<storage::topic_info> topic_registry::find_or_create(const std::string& name) {
  if (auto t = _store.find_topic(name)) return *t;
  if (!is_legal_topic_name(name)) return storage::errc::invalid_topic_config;
  if (!_opts.auto_create) return storage::errc::unknown_topic;
  auto created = create_new(name, 0);
  // Two connections may auto-create the same topic at once: the loser sees the winner's topic.
  if (!created && created.error() == storage::errc::topic_exists) {
    if (auto t = _store.find_topic(name)) return *t;
  }
  return created;
}

result<storage::topic_info> topic_registry::find_existing(const std::string& name) const {
  if (auto t = _store.find_topic(name)) return *t;
  if (!is_legal_topic_name(name)) return storage::errc::invalid_topic_config;
  return storage::errc::unknown_topic;
}

result<storage::topic_info> topic_registry::create_new(const std::string& name,
                                                       int32_t partitions) {
  if (!is_legal_topic_name(name)) return storage::errc::invalid_topic_config;
  auto cfg = _opts.config_for(name);
  if (partitions > 0) cfg.partitions = partitions;
  return _store.create_topic(name, cfg);
}

}  // namespace eb::bridge

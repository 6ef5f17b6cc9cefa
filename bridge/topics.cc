#include "bridge/topics.h"

#include <spdlog/spdlog.h>

#include "bridge/async_storage.h"
#include "bridge/topic_configs.h"
#include "common/topic_name.h"

namespace eb::bridge {
namespace {

class topic_category_impl : public std::error_category {
 public:
  const char* name() const noexcept override { return "topics"; }
  std::string message(int ev) const override {
    switch (static_cast<topic_errc>(ev)) {
      case topic_errc::too_many_topics:
        return "the topic limit (topics.max_topics) is reached";
      case topic_errc::too_many_partitions:
        return "more partitions than topics.max_partitions";
      case topic_errc::name_not_allowed:
        return "the name matches no topics.create_allow pattern";
      case topic_errc::message_too_large:
        return "the batch is above topics.max_message_bytes";
    }
    return "unknown topic error";
  }
};

constexpr size_t max_warned_names = 1024;

}  // namespace

const std::error_category& topic_category() noexcept {
  static const topic_category_impl c;
  return c;
}
std::error_code make_error_code(topic_errc e) noexcept {
  return {static_cast<int>(e), topic_category()};
}

boost::asio::awaitable<result<storage::topic_info>> topic_registry::find_or_create(
    std::string name) {
  if (auto t = _store.find_topic(name)) co_return *t;
  if (!is_legal_topic_name(name)) co_return storage::errc::invalid_topic_config;
  if (!options()->auto_create) co_return storage::errc::unknown_topic;
  auto created = co_await create_new(name, 0);
  if (!created && created.error().category() == topic_category()) {
    warn_refused_once(name, created.error());
    co_return storage::errc::unknown_topic;
  }
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

result<void> topic_registry::check_creation(const std::string& name, int32_t partitions) const {
  return check(name, partitions, _creating.load());
}

result<void> topic_registry::check(const std::string& name, int32_t partitions,
                                   size_t others_creating) const {
  if (!is_legal_topic_name(name)) return storage::errc::invalid_topic_config;
  auto opts = options();
  if (!opts->may_create(name)) return topic_errc::name_not_allowed;
  if (partitions > opts->max_partitions) return topic_errc::too_many_partitions;
  if (_store.topics().size() + others_creating >= opts->max_topics) {
    return topic_errc::too_many_topics;
  }
  return {};
}

boost::asio::awaitable<result<storage::topic_info>> topic_registry::create_new(
    std::string name, int32_t partitions, std::map<std::string, std::string> settings) {
  auto opts = options();
  if (partitions <= 0) partitions = opts->config_for(name).partitions;
  auto cfg = effective_topic_config(*opts, name, partitions, settings);
  // Counted from before the check until the commit, so concurrent creations see each other.
  const size_t others = _creating++;
  auto allowed = check(name, cfg.partitions, others);
  if (!allowed) {
    _creating--;
    co_return allowed.error();
  }
  auto created = co_await async_create_topic(_store, name, cfg);
  _creating--;
  // The options changed while it was being created (live reconfiguration): the sweep of
  // existing topics may have run before this one existed, so it takes the new settings itself.
  if (created && options() != opts) {
    auto now = effective_topic_config(*options(), name, partitions, std::move(settings));
    if (now != cfg) co_return co_await async_alter_topic(_store, std::move(name), std::move(now));
  }
  co_return created;
}

boost::asio::awaitable<result<storage::topic_info>> topic_registry::alter(
    std::string name, std::map<std::string, std::string> settings) {
  auto current = _store.find_topic(name);
  if (!current) co_return storage::errc::unknown_topic;
  auto cfg =
      effective_topic_config(*options(), name, current->config.partitions, std::move(settings));
  co_return co_await async_alter_topic(_store, std::move(name), std::move(cfg));
}

result<size_t> topic_registry::reconcile_blocking() {
  size_t changed = 0;
  auto opts = options();
  for (auto& t : _store.topics()) {
    auto cfg = effective_topic_config(*opts, t.name, t.config.partitions, t.config.settings);
    if (cfg == t.config) continue;
    auto r = _store.alter_topic(t.name, cfg);
    if (!r) return r.error();
    ++changed;
  }
  return changed;
}

size_t topic_registry::max_message_bytes(const storage::topic_config& cfg) const {
  return topic_max_message_bytes(*options(), cfg);
}

void topic_registry::warn_refused_once(const std::string& name, std::error_code why) {
  std::lock_guard lock(_warned_mutex);
  if (_warned.size() >= max_warned_names || !_warned.insert(name).second) return;
  spdlog::warn("topic {} not auto-created: {}", name, why.message());
}

}  // namespace eb::bridge

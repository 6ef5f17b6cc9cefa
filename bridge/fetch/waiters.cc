#include "bridge/fetch/waiters.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace eb::bridge {

namespace asio = boost::asio;

struct fetch_waiter::state {
  explicit state(asio::any_io_executor e) : ex(e), timer(e) {}
  asio::any_io_executor ex;
  // Touched only on `ex`. The timer doubles as the wake-up event: a notification cancels it.
  asio::steady_timer timer;
  bool notified = false;
  std::vector<std::pair<std::string, int32_t>> keys;
};

fetch_waiter::~fetch_waiter() { _registry.remove(_st); }

asio::awaitable<fetch_waiter::wake> fetch_waiter::wait_until(
    std::chrono::steady_clock::time_point deadline) {
  if (!_st->notified) {
    _st->timer.expires_at(deadline);
    auto [ec] = co_await _st->timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!_st->notified) co_return ec ? wake::cancelled : wake::deadline;
  }
  _st->notified = false;
  co_return wake::advanced;
}

fetch_waiters::fetch_waiters(storage::log_store& store) : _store(store) {
  _token = _store.subscribe([this](const std::string& topic, int32_t partition, int64_t hw) {
    on_advance(topic, partition, hw);
  });
}

fetch_waiters::~fetch_waiters() { _store.unsubscribe(_token); }

std::unique_ptr<fetch_waiter> fetch_waiters::watch(
    asio::any_io_executor ex,
    const std::vector<std::pair<std::pair<std::string, int32_t>, int64_t>>& partitions) {
  auto st = std::make_shared<fetch_waiter::state>(ex);
  st->keys.reserve(partitions.size());
  std::lock_guard lk(_mu);
  for (auto& [k, offset] : partitions) {
    _by_partition[k].push_back({offset, st});
    st->keys.push_back(k);
  }
  ++_count;
  return std::unique_ptr<fetch_waiter>(new fetch_waiter(*this, st));
}

size_t fetch_waiters::size() const {
  std::lock_guard lk(_mu);
  return _count;
}

void fetch_waiters::remove(const std::shared_ptr<fetch_waiter::state>& st) {
  std::lock_guard lk(_mu);
  for (auto& k : st->keys) {
    auto it = _by_partition.find(k);
    if (it == _by_partition.end()) continue;
    std::erase_if(it->second, [&](const entry& e) { return e.waiter == st; });
    if (it->second.empty()) _by_partition.erase(it);
  }
  --_count;
}

void fetch_waiters::on_advance(const std::string& topic, int32_t partition,
                               int64_t high_watermark) {
  // Posting under the mutex: a registered waiter proves its coroutine, and so its io_context,
  // is alive; once remove() returns nothing posts to it any more.
  std::lock_guard lk(_mu);
  auto it = _by_partition.find(key{topic, partition});
  if (it == _by_partition.end()) return;
  for (auto& e : it->second) {
    // -1: the topic was deleted; the fetch wakes and answers UNKNOWN_TOPIC_OR_PARTITION.
    if (high_watermark >= 0 && high_watermark <= e.fetch_offset) continue;
    asio::post(e.waiter->ex, [st = e.waiter] {
      st->notified = true;
      st->timer.cancel();
    });
  }
}

}  // namespace eb::bridge

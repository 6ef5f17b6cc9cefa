#pragma once
// A one-shot reply from the coordinator's strand to a waiting handler coroutine on another
// executor. The coordinator calls deliver() from its strand; the handler awaits wait() on its own
// executor, which may be a strand or a plain multi-threaded io_context. A steady_timer serves as
// the event, so the wait is cancellable like any Asio operation (connection closed, server
// stopping).
//
// deliver() and wait() may run at the same time on different threads: the value and the timer
// are guarded by one mutex, and wait() checks for a value and starts its timer wait under it, so
// a delivery can never land between the check and the wait (the lost wakeup a posted deliver
// had on a non-strand executor).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <mutex>
#include <optional>

namespace eb::bridge::groups {

template <class T>
class reply_slot : public std::enable_shared_from_this<reply_slot<T>> {
 public:
  explicit reply_slot(boost::asio::any_io_executor ex) : _timer(ex) {
    _timer.expires_at(boost::asio::steady_timer::time_point::max());
  }

  // Any thread. The first value wins; later ones are dropped.
  void deliver(T value) {
    std::lock_guard lock(_mutex);
    if (_value) return;
    _value = std::move(value);
    _timer.cancel();
  }

  // On the owner's executor, once. nullopt when the wait was cancelled before a value arrived.
  boost::asio::awaitable<std::optional<T>> wait() {
    auto token = boost::asio::as_tuple(boost::asio::use_awaitable);
    (void)co_await boost::asio::async_initiate<decltype(token), void(boost::system::error_code)>(
        [this](auto handler) {
          std::lock_guard lock(_mutex);
          if (!_value) {
            _timer.async_wait(std::move(handler));
            return;
          }
          // Already delivered: complete through the handler's executor, never inline.
          auto ex = boost::asio::get_associated_executor(handler, _timer.get_executor());
          boost::asio::post(ex,
                            [h = std::move(handler)]() mutable { h(boost::system::error_code{}); });
        },
        token);
    std::optional<T> value;
    {
      std::lock_guard lock(_mutex);
      value = std::move(_value);
    }
    co_return value;
  }

 private:
  std::mutex _mutex;
  boost::asio::steady_timer _timer;
  std::optional<T> _value;
};

}  // namespace eb::bridge::groups

#pragma once
// A one-shot reply from the coordinator's strand to a waiting handler coroutine on another
// strand. The coordinator calls deliver() (from its strand); the handler awaits wait() on its
// own executor. A steady_timer serves as the event, so the wait is cancellable like any Asio
// operation (connection closed, server stopping).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
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
    boost::asio::post(_timer.get_executor(),
                      [self = this->shared_from_this(), v = std::move(value)]() mutable {
                        if (self->_value) return;
                        self->_value = std::move(v);
                        self->_timer.cancel();
                      });
  }

  // On the owner's executor. nullopt when the wait was cancelled before a value arrived.
  boost::asio::awaitable<std::optional<T>> wait() {
    if (!_value) {
      (void)co_await _timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
    co_return std::move(_value);
  }

 private:
  boost::asio::steady_timer _timer;
  std::optional<T> _value;
};

}  // namespace eb::bridge::groups

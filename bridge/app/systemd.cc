#include "bridge/app/systemd.h"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <boost/asio/post.hpp>
#include <memory>

namespace eb::bridge::systemd {

void notify_ready() { sd_notify(0, "READY=1\nSTATUS=serving"); }
void notify_reloading() { sd_notify(0, "RELOADING=1\nSTATUS=reloading the config file"); }
void notify_stopping() { sd_notify(0, "STOPPING=1\nSTATUS=stopping"); }

watchdog::watchdog(boost::asio::any_io_executor io) : _io(std::move(io)) {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
  spdlog::info("systemd watchdog: pinging every {} ms while the io threads answer",
               usec / 2 / 1000);
  _thread = std::thread([this, usec] {
    pthread_setname_np(pthread_self(), "eb-watchdog");
    run(std::chrono::microseconds(usec / 2));
  });
}

watchdog::~watchdog() {
  {
    std::lock_guard lk(_mutex);
    _stopping = true;
  }
  _cv.notify_all();
  if (_thread.joinable()) _thread.join();
}

void watchdog::run(std::chrono::microseconds period) {
  // Shared with the posted handler: it may run after this thread has moved on.
  struct beat {
    std::mutex mutex;
    std::condition_variable cv;
    uint64_t answered = 0;
  };
  auto b = std::make_shared<beat>();
  uint64_t asked = 0;
  while (true) {
    auto deadline = std::chrono::steady_clock::now() + period;
    ++asked;
    boost::asio::post(_io, [b, asked] {
      std::lock_guard lk(b->mutex);
      b->answered = std::max(b->answered, asked);
      b->cv.notify_all();
    });
    bool alive;
    {
      std::unique_lock lk(b->mutex);
      alive = b->cv.wait_until(lk, deadline, [&] { return b->answered >= asked; });
    }
    if (alive) {
      sd_notify(0, "WATCHDOG=1");
      _pings++;
    } else {
      spdlog::error("systemd watchdog: the io threads did not answer within {} ms; no ping",
                    std::chrono::duration_cast<std::chrono::milliseconds>(period).count());
    }
    std::unique_lock lk(_mutex);
    if (_cv.wait_until(lk, deadline, [&] { return _stopping; })) return;
  }
}

}  // namespace eb::bridge::systemd

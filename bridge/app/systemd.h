#pragma once
// systemd integration (packaging/edgebridge.service, Type=notify): READY=1 once serving,
// RELOADING=1 / READY=1 around a SIGHUP reload, STOPPING=1 at shutdown, and WATCHDOG=1 from a
// thread that proves the io threads run: each ping is posted through the io executor and sent
// only once an io thread has run it. A wedged executor stops the pings and systemd restarts the
// service (WatchdogSec). Without NOTIFY_SOCKET / WATCHDOG_USEC (not under systemd) all no-ops.
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace eb::bridge::systemd {

void notify_ready();
void notify_reloading();
void notify_stopping();

class watchdog {
 public:
  // Starts pinging when systemd asked for a watchdog (WATCHDOG_USEC for this process).
  explicit watchdog(boost::asio::any_io_executor io);
  ~watchdog();
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;

  // Pings sent so far (tests, logs).
  uint64_t pings() const { return _pings.load(); }

 private:
  void run(std::chrono::microseconds period);

  boost::asio::any_io_executor _io;
  std::mutex _mutex;
  std::condition_variable _cv;
  bool _stopping = false;  // under _mutex
  std::atomic<uint64_t> _pings{0};
  std::thread _thread;
};

}  // namespace eb::bridge::systemd

#pragma once
// Internal to net/: the server's shared state (server::state) and the interface the registry
// holds connections by. server.cc owns start/stop, connection.cc the accept loops and the
// connections (with frame_reader.cc and response_writer.cc); they see this header, nothing
// outside net/ does.
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/rate_limited.h"
#include "net/server.h"
#include "net/tls_context.h"

namespace eb::net {

namespace detail {

// What the registry and the budget need of a connection (the connection is a template over its
// stream: plain TCP or TLS). Every call is made on the connection's strand (post to executor()).
class connection_base {
 public:
  virtual ~connection_base() = default;
  virtual boost::asio::any_io_executor executor() = 0;
  // max_queued_request_bytes released some bytes: the reader may try again.
  virtual void wake_reader() = 0;
  // stop(), first phase: read no more requests, answer those in flight, then close.
  virtual void drain() = 0;
  virtual void close() = 0;
};

// One listening socket. Built by server::start(); the accept loop runs on the acceptor's strand.
struct listener_state {
  listener_state(listener_options o, boost::asio::io_context& ioc)
      : opts(std::move(o)), acceptor(boost::asio::make_strand(ioc)) {}

  const listener_options opts;
  boost::asio::ip::tcp::acceptor acceptor;
  // Null on PLAINTEXT and SASL_PLAINTEXT listeners.
  std::unique_ptr<tls_credentials> tls;
  std::atomic<uint16_t> bound_port{0};
  // Set at start(), read-only afterwards: what sessions of this listener advertise.
  std::string advertised_host;
  int32_t advertised_port = 0;
  bool limit_logged = false;  // acceptor strand only
  // Failed handshakes of a hostile or misconfigured client repeat on every reconnect.
  rate_limited handshake_warnings{std::chrono::seconds(10)};
};

}  // namespace detail

struct server::state {
  state(server_options o, request_router& r) : opts(std::move(o)), router(r) {}

  server_options opts;
  request_router& router;

  // Registry of live connections, so that stop() can reach them, and their count per IP address.
  // Guarded by `mu`; never held across a co_await.
  std::mutex mu;
  std::condition_variable cv;
  struct entry {
    std::weak_ptr<detail::connection_base> conn;
    std::string address;
  };
  std::unordered_map<uint64_t, entry> conns;
  struct address_count {
    uint32_t open = 0;
    bool refusal_logged = false;
  };
  std::unordered_map<std::string, address_count> per_address;

  // max_queued_request_bytes: bytes charged by every connection, and the connections waiting for
  // some to be released (woken on their strand by release_bytes). Guarded by `budget_mu`.
  std::mutex budget_mu;
  uint64_t budget_used = 0;
  std::vector<std::weak_ptr<detail::connection_base>> budget_waiters;
  bool budget_logged = false;
  std::atomic<bool> io_stopped{false};
  bool stopping = false;
  size_t accept_loops = 0;  // running accept loops; guarded by mu
  std::atomic<size_t> live{0};
  std::atomic<uint64_t> next_id{0};

  bool started = false;  // controlling thread only
  bool stopped = false;  // controlling thread only

  // The certificate reload thread (TLS listeners only); woken early by stop().
  std::thread reloader;
  std::mutex reload_mu;
  std::condition_variable reload_cv;
  bool reload_stop = false;  // guarded by reload_mu

  // Declared after the registry: destroying the io_context destroys coroutine frames that still
  // hold connections, whose destructors unregister.
  boost::asio::io_context ioc;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
  std::vector<std::unique_ptr<detail::listener_state>> listeners;
  std::vector<std::thread> threads;
  // Per-connection warnings a hostile or broken client repeats on every reconnect: logged once
  // per interval with the count suppressed since.
  static constexpr std::chrono::seconds warning_interval{10};
  rate_limited bad_frame_warnings{warning_interval};
  rate_limited bad_header_warnings{warning_interval};
  rate_limited slow_request_warnings{warning_interval};

  // Takes a place for one more connection from `address`; false (logged once per address while
  // it stays at the limit) when max_connections_per_ip are already open.
  bool reserve_address(const std::string& address) {
    std::lock_guard lk(mu);
    auto& a = per_address[address];
    if (a.open >= opts.max_connections_per_ip) {
      if (!a.refusal_logged) {
        spdlog::warn("net: {} connections open from {} (max_connections_per_ip); closing new ones",
                     a.open, address);
        a.refusal_logged = true;
      }
      return false;
    }
    ++a.open;
    return true;
  }
  void release_address(const std::string& address) {
    auto it = per_address.find(address);  // caller holds mu
    if (it == per_address.end()) return;
    if (--it->second.open == 0) {
      per_address.erase(it);
    } else {
      it->second.refusal_logged = false;
    }
  }
  // Registers a new connection whose address place is reserved; false if stopping (the caller
  // closes it, and its destructor's remove() gives the place back).
  bool add(uint64_t id, const std::shared_ptr<detail::connection_base>& c,
           const std::string& address) {
    std::lock_guard lk(mu);
    conns.emplace(id, entry{c, address});
    live.fetch_add(1);
    return !stopping;
  }
  void remove(uint64_t id) {
    {
      std::lock_guard lk(mu);
      auto it = conns.find(id);
      if (it != conns.end()) {
        release_address(it->second.address);
        conns.erase(it);
        live.fetch_sub(1);
      }
    }
    cv.notify_all();
  }

  // Charges `n` bytes to max_queued_request_bytes; false if they do not fit, and `waiter` is then
  // woken once bytes are released. Anything fits an empty budget (validate() makes the bound at
  // least one whole request anyway).
  bool try_charge(uint64_t n, const std::shared_ptr<detail::connection_base>& waiter) {
    std::lock_guard lk(budget_mu);
    if (budget_used + n <= opts.max_queued_request_bytes || budget_used == 0) {
      budget_used += n;
      return true;
    }
    if (!budget_logged) {
      spdlog::warn(
          "net: {} request bytes held (max_queued_request_bytes); connections wait unread until "
          "responses release some",
          budget_used);
      budget_logged = true;
    }
    budget_waiters.push_back(waiter);
    return false;
  }
  void release_bytes(uint64_t n);
  std::vector<std::shared_ptr<detail::connection_base>> snapshot() {
    std::vector<std::shared_ptr<detail::connection_base>> out;
    std::lock_guard lk(mu);
    out.reserve(conns.size());
    for (auto& [id, e] : conns) {
      if (auto c = e.conn.lock()) out.push_back(std::move(c));
    }
    return out;
  }
  bool wait_idle(std::chrono::milliseconds d) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, d, [&] { return accept_loops == 0 && conns.empty(); });
  }
};

namespace detail {

// "ip:port", "[v6]:port".
std::string to_string(const boost::asio::ip::tcp::endpoint& ep);

// Accepts connections of one listener until its acceptor closes; then decrements accept_loops.
boost::asio::awaitable<void> accept_loop(server::state& st, listener_state& l);

}  // namespace detail

}  // namespace eb::net

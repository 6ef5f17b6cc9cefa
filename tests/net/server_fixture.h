#pragma once
// The server tests' rig: a router whose handlers are chosen by api_key (echo, delay, silent,
// throw, gate, close, long-poll), a blocking client over real loopback sockets, and helpers.
// Shared by server_test.cc, frame_test.cc and server_limits_test.cc.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "net/errors.h"
#include "net/server.h"

namespace eb::net {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using bytes = std::vector<uint8_t>;

// API keys of the test router.
inline constexpr int16_t k_echo = 0;    // body echoed
inline constexpr int16_t k_delay = 1;   // body = u32 milliseconds to wait, then echoed
inline constexpr int16_t k_silent = 2;  // send = false
inline constexpr int16_t k_throw = 3;   // throws
inline constexpr int16_t k_gate = 4;    // waits until the gate opens, then echoes
inline constexpr int16_t k_close = 5;   // echoed with close_after
inline constexpr int16_t k_long_poll =
    6;  // waits 20 s unless cancelled (total cancellation enabled)
inline constexpr int16_t k_flexible = 10;  // header v2 request, response header v1, echoed
inline constexpr int16_t k_unknown = 99;   // request_header_version() == -1, echoed

inline void put16(bytes& b, int16_t v) {
  b.push_back(static_cast<uint8_t>(static_cast<uint16_t>(v) >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
inline void put32(bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}
inline uint32_t get32(const uint8_t* p) { return static_cast<uint32_t>(read_frame_size(p)); }

inline bytes u32_body(uint32_t v) {
  bytes b;
  put32(b, v);
  return b;
}

// A request frame with its size prefix. header_version 2 adds `tagged` (raw) or an empty tag list.
inline bytes make_request(int16_t key, int16_t version, int32_t corr,
                          std::optional<std::string> client_id, const bytes& body,
                          int header_version = 1, std::optional<bytes> tagged = std::nullopt) {
  bytes f;
  put16(f, key);
  put16(f, version);
  put32(f, static_cast<uint32_t>(corr));
  if (header_version >= 1) {
    if (client_id) {
      put16(f, static_cast<int16_t>(client_id->size()));
      f.insert(f.end(), client_id->begin(), client_id->end());
    } else {
      put16(f, -1);
    }
  }
  if (header_version == 2) {
    if (tagged) {
      f.insert(f.end(), tagged->begin(), tagged->end());
    } else {
      f.push_back(0);
    }
  }
  f.insert(f.end(), body.begin(), body.end());
  bytes out;
  put32(out, static_cast<uint32_t>(f.size()));
  out.insert(out.end(), f.begin(), f.end());
  return out;
}

inline int header_version_for(int16_t key) {
  if (key == k_flexible) return 2;
  if (key == k_unknown) return -1;
  return 1;
}

class test_router final : public request_router {
 public:
  std::atomic<int> active{0};
  std::atomic<int> max_active{0};
  std::atomic<int> started{0};
  std::atomic<int> cancelled{0};
  std::atomic<bool> gate_open{false};

  std::string last_peer() {
    std::lock_guard lk(_mu);
    return _last_peer;
  }
  std::optional<std::string> last_client_id() {
    std::lock_guard lk(_mu);
    return _last_client_id;
  }
  // The session of the last request (copied: the original lives on its connection's strand).
  struct session_view {
    std::string listener, principal, tls_subject, advertised_host;
    int32_t advertised_port = 0;
    security_protocol protocol = security_protocol::plaintext;
    bool authenticated = false;
  };
  session_view last_session() {
    std::lock_guard lk(_mu);
    return _last_session;
  }

  int request_header_version(int16_t api_key, int16_t) const override {
    return header_version_for(api_key);
  }

  asio::awaitable<response> handle(request req) override {
    {
      std::lock_guard lk(_mu);
      _last_peer = req.peer;
      _last_client_id = req.header.client_id;
      const auto& ss = *req.session;
      _last_session = {ss.listener,        ss.principal, ss.tls_subject,  ss.advertised_host,
                       ss.advertised_port, ss.protocol,  ss.authenticated};
    }
    started.fetch_add(1);
    const int now_active = active.fetch_add(1) + 1;
    int seen = max_active.load();
    while (now_active > seen && !max_active.compare_exchange_weak(seen, now_active)) {
    }
    struct leave {
      std::atomic<int>& a;
      ~leave() { a.fetch_sub(1); }
    } guard{active};

    response r;
    const auto body = req.body();
    r.body.assign(body.begin(), body.end());
    auto ex = co_await asio::this_coro::executor;
    switch (req.header.api_key) {
      case k_delay: {
        asio::steady_timer t(ex, std::chrono::milliseconds(get32(body.data())));
        co_await t.async_wait(asio::use_awaitable);
        break;
      }
      case k_silent:
        r.send = false;
        break;
      case k_throw:
        throw std::runtime_error("handler bug");
      case k_gate: {
        // Polls the gate. Cancellation surfaces as operation_aborted, either from the pending wait
        // or, if it arrived between waits, when the next wait starts (throw_if_cancelled).
        asio::steady_timer t(ex);
        for (int i = 0; i < 2000 && !gate_open.load(); ++i) {
          t.expires_after(5ms);
          try {
            co_await t.async_wait(asio::use_awaitable);
          } catch (const boost::system::system_error&) {
            cancelled.fetch_add(1);
            throw;
          }
        }
        break;
      }
      case k_close:
        r.close_after = true;
        break;
      case k_long_poll: {
        co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
        asio::steady_timer t(ex, 20s);
        auto [ec] = co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec) cancelled.fetch_add(1);
        r.body = {'e', 'a', 'r', 'l', 'y'};  // a long poll answers early when cancelled
        break;
      }
      case k_flexible:
        r.response_header_version = 1;
        break;
      default:
        break;
    }
    co_return r;
  }

 private:
  std::mutex _mu;
  std::string _last_peer;
  std::optional<std::string> _last_client_id;
  session_view _last_session;
};

struct reply {
  int32_t correlation_id = 0;
  bytes rest;  // after the correlation id
};

// A blocking loopback client on raw sockets, with a receive timeout so a test never hangs.
class client {
 public:
  enum class status { ok, closed, timeout };

  // `source`: the local IPv4 address to connect from (any 127.x.y.z reaches the loopback).
  explicit client(uint16_t port, std::chrono::milliseconds timeout = 5s,
                  const char* source = nullptr) {
    _fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (source != nullptr) {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      ::inet_pton(AF_INET, source, &local.sin_addr);
      ::bind(_fd, reinterpret_cast<sockaddr*>(&local), sizeof local);
    }
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    _connected = ::connect(_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~client() { close(); }
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  bool connected() const { return _connected; }
  int fd() const { return _fd; }
  void close() {
    if (_fd >= 0) ::close(_fd);
    _fd = -1;
  }

  bool send(const bytes& b) {
    size_t off = 0;
    while (off < b.size()) {
      const auto n = ::send(_fd, b.data() + off, b.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  status recv_exact(uint8_t* p, size_t n) {
    size_t off = 0;
    while (off < n) {
      const auto got = ::recv(_fd, p + off, n - off, 0);
      if (got == 0) return status::closed;
      if (got < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return status::timeout;
        return status::closed;  // ECONNRESET
      }
      off += static_cast<size_t>(got);
    }
    return status::ok;
  }

  status read(reply& out) {
    uint8_t size[4];
    if (auto s = recv_exact(size, 4); s != status::ok) return s;
    bytes frame(get32(size));
    if (frame.size() < 4) return status::closed;
    if (auto s = recv_exact(frame.data(), frame.size()); s != status::ok) return s;
    out.correlation_id = static_cast<int32_t>(get32(frame.data()));
    out.rest.assign(frame.begin() + 4, frame.end());
    return status::ok;
  }

  // The next reply, failing the test if there is none.
  reply expect_reply() {
    reply r;
    const auto s = read(r);
    EXPECT_EQ(s, status::ok) << "no reply (" << (s == status::closed ? "closed" : "timeout") << ")";
    return r;
  }

  // True if the server closes the connection (EOF or reset) before the receive timeout, with
  // no further bytes.
  bool closed_by_peer() {
    uint8_t b;
    for (;;) {
      const auto got = ::recv(_fd, &b, 1, 0);
      if (got == 0) return true;
      if (got > 0) return false;
      if (errno == EINTR) continue;
      return errno != EAGAIN && errno != EWOULDBLOCK;
    }
  }

  // Sends one request and returns its reply.
  reply call(int16_t key, int32_t corr, const bytes& body) {
    const int hv = header_version_for(key);
    EXPECT_TRUE(send(make_request(key, 0, corr, "test", body, hv < 0 ? 1 : hv)));
    return expect_reply();
  }

 private:
  int _fd = -1;
  bool _connected = false;
};

inline server_options test_options() {
  server_options o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.io_threads = 2;
  o.idle_timeout = 30s;
  o.shutdown_grace = 5s;
  return o;
}

inline bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = 5s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return pred();
}

struct harness {
  explicit harness(server_options o = test_options()) : srv(std::move(o), router) {
    auto r = srv.start();
    EXPECT_TRUE(r) << r.error().message();
  }
  test_router router;
  server srv;
};

inline bytes text(std::string_view s) { return bytes(s.begin(), s.end()); }

// ---- frame.h: pure byte layout --------------------------------------------------------------

}  // namespace eb::net

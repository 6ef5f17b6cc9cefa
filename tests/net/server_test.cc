// Tests of net/server.h and net/frame.h over real loopback sockets, with a router whose handlers
// are chosen by api_key (echo, delay, silent, throw, gate, close, long-poll).
#include "net/server.h"

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

namespace eb::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using bytes = std::vector<uint8_t>;

// API keys of the test router.
constexpr int16_t k_echo = 0;       // body echoed
constexpr int16_t k_delay = 1;      // body = u32 milliseconds to wait, then echoed
constexpr int16_t k_silent = 2;     // send = false
constexpr int16_t k_throw = 3;      // throws
constexpr int16_t k_gate = 4;       // waits until the gate opens, then echoes
constexpr int16_t k_close = 5;      // echoed with close_after
constexpr int16_t k_long_poll = 6;  // waits 20 s unless cancelled (total cancellation enabled)
constexpr int16_t k_flexible = 10;  // header v2 request, response header v1, echoed
constexpr int16_t k_unknown = 99;   // request_header_version() == -1, echoed

void put16(bytes& b, int16_t v) {
  b.push_back(static_cast<uint8_t>(static_cast<uint16_t>(v) >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void put32(bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}
uint32_t get32(const uint8_t* p) { return static_cast<uint32_t>(read_frame_size(p)); }

bytes u32_body(uint32_t v) {
  bytes b;
  put32(b, v);
  return b;
}

// A request frame with its size prefix. header_version 2 adds `tagged` (raw) or an empty tag list.
bytes make_request(int16_t key, int16_t version, int32_t corr, std::optional<std::string> client_id,
                   const bytes& body, int header_version = 1,
                   std::optional<bytes> tagged = std::nullopt) {
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

int header_version_for(int16_t key) {
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

  int request_header_version(int16_t api_key, int16_t) const override {
    return header_version_for(api_key);
  }

  asio::awaitable<response> handle(request req) override {
    {
      std::lock_guard lk(_mu);
      _last_peer = req.peer;
      _last_client_id = req.header.client_id;
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

server_options test_options() {
  server_options o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.io_threads = 2;
  o.idle_timeout = 30s;
  o.shutdown_grace = 5s;
  return o;
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = 5s) {
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

bytes text(std::string_view s) { return bytes(s.begin(), s.end()); }

// ---- frame.h: pure byte layout --------------------------------------------------------------

TEST(net_frame, parses_header_v1_with_client_id) {
  const auto f = make_request(3, 12, 0x01020304, "cli", {0xaa, 0xbb});
  const auto parsed = parse_request_header(std::span(f).subspan(4), 1);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->header.api_key, 3);
  EXPECT_EQ(parsed->header.api_version, 12);
  EXPECT_EQ(parsed->header.correlation_id, 0x01020304);
  EXPECT_EQ(parsed->header.client_id, "cli");
  EXPECT_EQ(parsed->body_offset, 8u + 2u + 3u);
}

TEST(net_frame, parses_null_client_id_and_v0) {
  const auto f = make_request(18, 3, 7, std::nullopt, {});
  auto parsed = parse_request_header(std::span(f).subspan(4), 1);
  ASSERT_TRUE(parsed);
  EXPECT_FALSE(parsed->header.client_id);
  EXPECT_EQ(parsed->body_offset, 10u);
  parsed = parse_request_header(std::span(f).subspan(4), 0);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->body_offset, 8u);
}

TEST(net_frame, v2_skips_tagged_fields) {
  // Two tagged fields: tag 0 size 2, tag 300 (varint ac 02) size 1.
  const bytes tags{0x02, 0x00, 0x02, 0x11, 0x22, 0xac, 0x02, 0x01, 0x33};
  const auto f = make_request(0, 9, 1, "c", {0x44}, 2, tags);
  const auto parsed = parse_request_header(std::span(f).subspan(4), 2);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(f[4 + parsed->body_offset], 0x44);
  EXPECT_EQ(parsed->body_offset, f.size() - 4 - 1);
}

TEST(net_frame, rejects_truncated_and_bad_headers) {
  auto frame_of = [](bytes f) { return bytes(f.begin() + 4, f.end()); };
  auto code = [](const bytes& f, int hv) { return parse_request_header(f, hv).error(); };
  bytes f = frame_of(make_request(0, 0, 1, "abc", {}));
  EXPECT_EQ(code(bytes(f.begin(), f.begin() + 7), 1), make_error_code(errc::truncated));
  EXPECT_EQ(code(bytes(f.begin(), f.begin() + 9), 1), make_error_code(errc::truncated));
  EXPECT_EQ(code(bytes(f.begin(), f.begin() + 12), 1), make_error_code(errc::truncated));
  bytes bad_len = f;
  bad_len[8] = 0xff;
  bad_len[9] = 0xfe;  // -2
  EXPECT_EQ(code(bad_len, 1), make_error_code(errc::invalid_length));
  // v2: a tag list that promises more than the frame holds.
  EXPECT_EQ(code(frame_of(make_request(0, 9, 1, "c", {}, 2, bytes{0x01, 0x00, 0x05, 0x00})), 2),
            make_error_code(errc::truncated));
  EXPECT_EQ(
      code(frame_of(make_request(0, 9, 1, "c", {}, 2, bytes{0xff, 0xff, 0xff, 0xff, 0xff})), 2),
      make_error_code(errc::invalid_varint));
  EXPECT_EQ(code(f, 3), make_error_code(errc::unsupported_version));
}

TEST(net_frame, response_prefix_golden_bytes) {
  auto v0 = encode_response_prefix(0x0a0b0c0d, 0, 3);
  ASSERT_TRUE(v0);
  const bytes want0{0, 0, 0, 7, 0x0a, 0x0b, 0x0c, 0x0d};
  EXPECT_EQ(bytes(v0->span().begin(), v0->span().end()), want0);
  auto v1 = encode_response_prefix(-1, 1, 0);
  ASSERT_TRUE(v1);
  const bytes want1{0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0x00};
  EXPECT_EQ(bytes(v1->span().begin(), v1->span().end()), want1);
  EXPECT_FALSE(encode_response_prefix(1, 2, 0));
  EXPECT_FALSE(encode_response_prefix(1, 0, size_t{1} << 31));
}

// ---- server ---------------------------------------------------------------------------------

TEST(net_server, validate_reports_every_problem) {
  EXPECT_TRUE(validate(server_options{}).empty());
  server_options o;
  o.host = "";
  o.io_threads = -1;
  o.max_request_bytes = 10;
  o.max_connections = 0;
  o.idle_timeout = 0ms;
  o.max_inflight_requests = 0;
  o.max_inflight_bytes = 0;
  o.shutdown_grace = -1ms;
  o.max_connections_per_ip = 0;
  o.request_timeout = 0ms;
  EXPECT_EQ(validate(o).size(), 10u);
  server_options small_budget;
  small_budget.max_queued_request_bytes = small_budget.max_request_bytes - 1;
  EXPECT_EQ(validate(small_budget).size(), 1u);
}

TEST(net_server, start_fails_on_invalid_options_and_taken_port) {
  test_router router;
  auto bad = test_options();
  bad.max_connections = 0;
  server s0(bad, router);
  EXPECT_EQ(s0.start().error(), std::errc::invalid_argument);

  harness h;
  auto o = test_options();
  o.port = h.srv.port();
  server s1(o, router);
  auto r = s1.start();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), std::errc::address_in_use) << r.error().message();
}

TEST(net_server, round_trip_v1_and_v2_headers) {
  harness h;
  ASSERT_NE(h.srv.port(), 0);
  client c(h.srv.port());
  ASSERT_TRUE(c.connected());

  auto r = c.call(k_echo, 42, text("hello"));
  EXPECT_EQ(r.correlation_id, 42);
  EXPECT_EQ(r.rest, text("hello"));  // header v0: no tagged byte
  EXPECT_EQ(h.router.last_client_id(), "test");
  EXPECT_EQ(h.router.last_peer().rfind("127.0.0.1:", 0), 0u) << h.router.last_peer();

  // Flexible: header v2 in (tagged fields skipped), header v1 out (empty tagged-field byte).
  ASSERT_TRUE(c.send(make_request(k_flexible, 9, 43, std::nullopt, text("flex"), 2,
                                  bytes{0x01, 0x07, 0x02, 0x00, 0x00})));
  r = c.expect_reply();
  EXPECT_EQ(r.correlation_id, 43);
  EXPECT_EQ(r.rest, (bytes{0x00, 'f', 'l', 'e', 'x'}));
  EXPECT_EQ(h.router.last_client_id(), std::nullopt);

  // A key the router does not know is parsed as header v1 and still handed over.
  r = c.call(k_unknown, 44, text("?"));
  EXPECT_EQ(r.correlation_id, 44);
  EXPECT_EQ(r.rest, text("?"));
  EXPECT_EQ(h.srv.connection_count(), 1u);
}

TEST(net_server, large_frame_split_across_reads) {
  harness h;
  client c(h.srv.port());
  bytes big(3 << 20);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 7);
  auto r = c.call(k_echo, 1, big);
  EXPECT_EQ(r.correlation_id, 1);
  EXPECT_EQ(r.rest, big);
  r = c.call(k_echo, 2, text("after"));
  EXPECT_EQ(r.rest, text("after"));
}

TEST(net_server, pipelined_responses_keep_request_order) {
  harness h;
  client c(h.srv.port());
  bytes all;
  const uint32_t delays[] = {300, 200, 100, 50, 0};
  for (int i = 0; i < 5; ++i) {
    const auto f = make_request(k_delay, 0, 100 + i, "p", u32_body(delays[i]));
    all.insert(all.end(), f.begin(), f.end());
  }
  ASSERT_TRUE(c.send(all));  // one write: the server sees them back to back
  for (int i = 0; i < 5; ++i) {
    auto r = c.expect_reply();
    EXPECT_EQ(r.correlation_id, 100 + i);
    EXPECT_EQ(r.rest, u32_body(delays[i]));
  }
  // They ran concurrently (reverse completion order), yet were answered in order.
  EXPECT_GE(h.router.max_active.load(), 2);
}

TEST(net_server, send_false_takes_no_output_slot) {
  harness h;
  client c(h.srv.port());
  bytes all;
  for (auto [key, corr] : {std::pair{k_echo, 1}, {k_silent, 2}, {k_echo, 3}, {k_silent, 4}}) {
    const auto f = make_request(key, 0, corr, "s", text("x"));
    all.insert(all.end(), f.begin(), f.end());
  }
  ASSERT_TRUE(c.send(all));
  EXPECT_EQ(c.expect_reply().correlation_id, 1);
  EXPECT_EQ(c.expect_reply().correlation_id, 3);
  // Nothing for 4: the next bytes on the wire are the answer to 5.
  EXPECT_EQ(c.call(k_echo, 5, text("y")).correlation_id, 5);
  EXPECT_EQ(h.router.started.load(), 5);
}

TEST(net_server, close_after_sends_then_closes) {
  harness h;
  client c(h.srv.port());
  auto r = c.call(k_close, 9, text("bye"));
  EXPECT_EQ(r.correlation_id, 9);
  EXPECT_TRUE(c.closed_by_peer());
}

TEST(net_server, oversized_frame_closes) {
  auto o = test_options();
  o.max_request_bytes = 1024;
  harness h(o);
  client c(h.srv.port());
  EXPECT_EQ(c.call(k_echo, 1, bytes(1000)).correlation_id, 1);  // 1000 + 14 header bytes fit
  ASSERT_TRUE(c.send(make_request(k_echo, 0, 2, "t", bytes(1020))));
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(h.router.started.load(), 1);
}

TEST(net_server, frame_smaller_than_header_closes) {
  harness h;
  client c(h.srv.port());
  bytes f;
  put32(f, 4);
  put32(f, 0);
  ASSERT_TRUE(c.send(f));
  EXPECT_TRUE(c.closed_by_peer());

  client neg(h.srv.port());
  ASSERT_TRUE(neg.send(bytes{0xff, 0xff, 0xff, 0xf0}));  // negative size
  EXPECT_TRUE(neg.closed_by_peer());
  EXPECT_EQ(h.router.started.load(), 0);
}

TEST(net_server, truncated_header_closes) {
  harness h;
  {
    // 8 bytes: key, version, correlation id, but no client_id length.
    client c(h.srv.port());
    bytes f;
    put32(f, 8);
    put16(f, k_echo);
    put16(f, 0);
    put32(f, 1);
    ASSERT_TRUE(c.send(f));
    EXPECT_TRUE(c.closed_by_peer());
  }
  {
    // client_id claims 20 bytes, the frame holds 3.
    client c(h.srv.port());
    bytes f;
    put32(f, 13);
    put16(f, k_echo);
    put16(f, 0);
    put32(f, 1);
    put16(f, 20);
    f.insert(f.end(), {'a', 'b', 'c'});
    ASSERT_TRUE(c.send(f));
    EXPECT_TRUE(c.closed_by_peer());
  }
  {
    // Flexible header whose tagged field runs past the frame.
    client c(h.srv.port());
    ASSERT_TRUE(c.send(make_request(k_flexible, 9, 1, "c", {}, 2, bytes{0x01, 0x00, 0x09})));
    EXPECT_TRUE(c.closed_by_peer());
  }
  EXPECT_EQ(h.router.started.load(), 0);
}

TEST(net_server, garbage_closes_only_that_connection) {
  harness h;
  client good(h.srv.port());
  EXPECT_EQ(good.call(k_echo, 1, text("a")).correlation_id, 1);
  // A pending request on the good connection while the other one misbehaves.
  ASSERT_TRUE(good.send(make_request(k_delay, 0, 2, "g", u32_body(200))));

  client bad(h.srv.port());
  ASSERT_TRUE(bad.send(text("GET / HTTP/1.1\r\nHost: example\r\n\r\n")));
  EXPECT_TRUE(bad.closed_by_peer());

  EXPECT_EQ(good.expect_reply().correlation_id, 2);
  EXPECT_EQ(good.call(k_echo, 3, text("b")).correlation_id, 3);
  EXPECT_TRUE(wait_until([&] { return h.srv.connection_count() == 1; }));
}

TEST(net_server, idle_timeout_closes) {
  auto o = test_options();
  o.idle_timeout = 300ms;
  harness h(o);
  client idle(h.srv.port());
  ASSERT_TRUE(idle.connected());
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(idle.closed_by_peer());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 250ms);

  // A handler slower than the idle timeout is not idleness: its answer arrives.
  client busy(h.srv.port());
  EXPECT_EQ(busy.call(k_delay, 7, u32_body(800)).correlation_id, 7);
  EXPECT_TRUE(busy.closed_by_peer());  // and then it idles out
}

TEST(net_server, max_connections_closes_extra_ones) {
  auto o = test_options();
  o.max_connections = 2;
  harness h(o);
  auto c1 = std::make_unique<client>(h.srv.port());
  client c2(h.srv.port());
  EXPECT_EQ(c1->call(k_echo, 1, text("1")).correlation_id, 1);
  EXPECT_EQ(c2.call(k_echo, 2, text("2")).correlation_id, 2);

  client c3(h.srv.port());
  ASSERT_TRUE(c3.connected());  // accepted by the kernel, then closed by the server
  EXPECT_TRUE(c3.closed_by_peer());
  EXPECT_EQ(h.srv.connection_count(), 2u);

  c1.reset();
  ASSERT_TRUE(wait_until([&] { return h.srv.connection_count() == 1; }));
  client c4(h.srv.port());
  EXPECT_EQ(c4.call(k_echo, 4, text("4")).correlation_id, 4);
  EXPECT_EQ(c2.call(k_echo, 5, text("5")).correlation_id, 5);
}

TEST(net_server, backpressure_bounds_inflight_requests) {
  auto o = test_options();
  o.max_inflight_requests = 2;
  harness h(o);
  client c(h.srv.port());
  bytes all;
  for (int i = 0; i < 6; ++i) {
    const auto f = make_request(k_gate, 0, i, "b", text("g"));
    all.insert(all.end(), f.begin(), f.end());
  }
  ASSERT_TRUE(c.send(all));
  ASSERT_TRUE(wait_until([&] { return h.router.active.load() == 2; }));
  std::this_thread::sleep_for(200ms);  // room for a wrong third dispatch to show
  EXPECT_EQ(h.router.started.load(), 2);
  EXPECT_EQ(h.router.active.load(), 2);

  h.router.gate_open = true;
  for (int i = 0; i < 6; ++i) EXPECT_EQ(c.expect_reply().correlation_id, i);
  EXPECT_EQ(h.router.started.load(), 6);
  EXPECT_EQ(h.router.max_active.load(), 2);
}

TEST(net_server, backpressure_bounds_inflight_bytes) {
  auto o = test_options();
  o.max_inflight_bytes = 100;  // room for one 70-byte request at a time
  harness h(o);
  client c(h.srv.port());
  bytes all;
  for (int i = 0; i < 4; ++i) {
    bytes body = u32_body(50);
    body.resize(56);
    const auto f = make_request(k_delay, 0, i, "b", body);
    all.insert(all.end(), f.begin(), f.end());
  }
  ASSERT_TRUE(c.send(all));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(c.expect_reply().correlation_id, i);
  EXPECT_EQ(h.router.max_active.load(), 1);
}

TEST(net_server, throwing_handler_closes_only_its_connection) {
  harness h;
  client other(h.srv.port());
  ASSERT_TRUE(other.send(make_request(k_delay, 0, 1, "o", u32_body(200))));
  ASSERT_TRUE(wait_until([&] { return h.router.active.load() == 1; }));

  client thrower(h.srv.port());
  ASSERT_TRUE(thrower.send(make_request(k_throw, 0, 1, "t", {})));
  EXPECT_TRUE(thrower.closed_by_peer());

  EXPECT_EQ(other.expect_reply().correlation_id, 1);
  EXPECT_EQ(other.call(k_echo, 2, text("still here")).rest, text("still here"));
}

TEST(net_server, stop_completes_inflight_request) {
  harness h;
  client c(h.srv.port());
  ASSERT_TRUE(c.send(make_request(k_gate, 0, 77, "s", text("done"))));
  ASSERT_TRUE(wait_until([&] { return h.router.active.load() == 1; }));

  std::atomic<bool> stopped{false};
  const auto t0 = std::chrono::steady_clock::now();
  std::thread stopper([&] {
    h.srv.stop();
    stopped = true;
  });
  // No new connections once stop() has begun.
  ASSERT_TRUE(wait_until([&] {
    client late(h.srv.port(), 1s);
    return !late.connected() || late.closed_by_peer();
  }));
  EXPECT_FALSE(stopped.load());  // waiting for the in-flight request

  h.router.gate_open = true;
  auto r = c.expect_reply();
  EXPECT_EQ(r.correlation_id, 77);
  EXPECT_EQ(r.rest, text("done"));
  EXPECT_TRUE(c.closed_by_peer());
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 4s);  // well before shutdown_grace
  EXPECT_EQ(h.router.cancelled.load(), 0);
  EXPECT_EQ(h.srv.connection_count(), 0u);
}

TEST(net_server, stop_offers_total_cancellation_to_long_polls) {
  harness h;
  client c(h.srv.port());
  ASSERT_TRUE(c.send(make_request(k_long_poll, 0, 5, "l", {})));
  ASSERT_TRUE(wait_until([&] { return h.router.active.load() == 1; }));
  const auto t0 = std::chrono::steady_clock::now();
  h.srv.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);  // not the 20 s poll, not the 5 s grace
  EXPECT_EQ(h.router.cancelled.load(), 1);
  auto r = c.expect_reply();
  EXPECT_EQ(r.correlation_id, 5);
  EXPECT_EQ(r.rest, text("early"));
  EXPECT_TRUE(c.closed_by_peer());
}

TEST(net_server, stop_cancels_after_grace) {
  auto o = test_options();
  o.shutdown_grace = 300ms;
  harness h(o);
  client c(h.srv.port());
  ASSERT_TRUE(c.send(make_request(k_gate, 0, 1, "g", {})));  // the gate never opens
  ASSERT_TRUE(wait_until([&] { return h.router.active.load() == 1; }));
  const auto t0 = std::chrono::steady_clock::now();
  h.srv.stop();
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 2500ms);
  EXPECT_EQ(h.router.cancelled.load(), 1);  // terminal cancellation reached the handler
  EXPECT_TRUE(c.closed_by_peer());          // without a response
  EXPECT_EQ(h.router.active.load(), 0);
}

TEST(net_server, many_connections_many_requests) {
  auto o = test_options();
  o.max_inflight_requests = 4;
  harness h(o);
  constexpr int conns = 8, per_conn = 200;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < conns; ++t) {
    threads.emplace_back([&, t] {
      client c(h.srv.port());
      // Pipelined in windows of 16, more than the server's bound of 4.
      for (int base = 0; base < per_conn; base += 16) {
        bytes all;
        for (int i = base; i < base + 16; ++i) {
          const auto f = make_request(i % 3 == 0 ? k_silent : k_echo, 0, i, "m",
                                      u32_body(static_cast<uint32_t>(t * 1000 + i)));
          all.insert(all.end(), f.begin(), f.end());
        }
        if (!c.send(all)) return;
        for (int i = base; i < base + 16; ++i) {
          if (i % 3 == 0) continue;
          reply r;
          if (c.read(r) != client::status::ok) return;
          if (r.correlation_id == i && r.rest == u32_body(static_cast<uint32_t>(t * 1000 + i))) {
            ok.fetch_add(1);
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  int expected = 0;
  for (int i = 0; i < per_conn + (16 - per_conn % 16) % 16; ++i) expected += i % 3 != 0;
  EXPECT_EQ(ok.load(), conns * expected);
}

TEST(net_server, per_ip_limit_closes_extra_connections_from_that_address_only) {
  auto o = test_options();
  o.max_connections_per_ip = 2;
  harness h(o);
  auto c1 = std::make_unique<client>(h.srv.port());
  client c2(h.srv.port());
  EXPECT_EQ(c1->call(k_echo, 1, text("1")).correlation_id, 1);
  EXPECT_EQ(c2.call(k_echo, 2, text("2")).correlation_id, 2);

  client c3(h.srv.port());
  ASSERT_TRUE(c3.connected());  // accepted by the kernel, then closed by the server
  EXPECT_TRUE(c3.closed_by_peer());
  // Another address still gets in.
  client other(h.srv.port(), 5s, "127.0.0.2");
  EXPECT_EQ(other.call(k_echo, 3, text("3")).correlation_id, 3);

  c1.reset();
  ASSERT_TRUE(wait_until([&] { return h.srv.connection_count() == 2; }));
  client c4(h.srv.port());
  EXPECT_EQ(c4.call(k_echo, 4, text("4")).correlation_id, 4);
}

TEST(net_server, queued_request_bytes_bound_holds_other_connections_unread) {
  auto o = test_options();
  o.max_request_bytes = 1 << 20;
  o.max_queued_request_bytes = 1 << 20;
  harness h(o);
  // A 700 KiB request whose handler waits for the gate: its bytes stay held until answered.
  client a(h.srv.port());
  ASSERT_TRUE(a.send(make_request(k_gate, 0, 1, "a", bytes(700 << 10, 'a'))));
  ASSERT_TRUE(wait_until([&] { return h.router.active.load() == 1; }));
  // 600 KiB more do not fit: the second connection is not read to the end, so not answered.
  client b(h.srv.port(), 300ms);
  ASSERT_TRUE(b.send(make_request(k_echo, 0, 2, "b", bytes(600 << 10, 'b'))));
  reply r;
  EXPECT_EQ(b.read(r), client::status::timeout);
  EXPECT_EQ(h.router.started.load(), 1);
  // Answering the first releases its bytes: the second is read and answered.
  h.router.gate_open = true;
  EXPECT_EQ(a.expect_reply().correlation_id, 1);
  client::status s = client::status::timeout;
  for (int i = 0; i < 20 && s == client::status::timeout; ++i) s = b.read(r);
  ASSERT_EQ(s, client::status::ok);
  EXPECT_EQ(r.correlation_id, 2);
  EXPECT_EQ(r.rest.size(), 600u << 10);
}

TEST(net_server, request_must_arrive_within_request_timeout) {
  auto o = test_options();
  o.request_timeout = 400ms;
  harness h(o);
  client normal(h.srv.port());

  // Trickling a 100 KiB request a byte every 50 ms never looks idle, but the request is late.
  client slow(h.srv.port());
  const auto frame = make_request(k_echo, 0, 1, "s", bytes(100 << 10, 's'));
  const auto t0 = std::chrono::steady_clock::now();
  bool closed = false;
  for (size_t i = 0; i < 100 && !closed; ++i) {
    if (!slow.send(bytes(frame.begin() + i, frame.begin() + i + 1))) closed = true;
    std::this_thread::sleep_for(50ms);
    // Meanwhile the other connection is served.
    if (i % 10 == 0) {
      EXPECT_EQ(normal.call(k_echo, int32_t(i), text("n")).correlation_id, int32_t(i));
    }
  }
  EXPECT_TRUE(closed || slow.closed_by_peer());
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 350ms);
  EXPECT_LT(took, 3s);

  // Half a size prefix and then nothing: closed as well.
  client partial(h.srv.port());
  ASSERT_TRUE(partial.send(bytes(frame.begin(), frame.begin() + 2)));
  EXPECT_TRUE(partial.closed_by_peer());

  // A request that takes a while but arrives in time is answered.
  client late_but_fine(h.srv.port());
  ASSERT_TRUE(late_but_fine.send(bytes(frame.begin(), frame.begin() + 1000)));
  std::this_thread::sleep_for(150ms);
  ASSERT_TRUE(late_but_fine.send(bytes(frame.begin() + 1000, frame.end())));
  EXPECT_EQ(late_but_fine.expect_reply().correlation_id, 1);
}

}  // namespace
}  // namespace eb::net

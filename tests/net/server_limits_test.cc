// The server's bounds over real sockets: connections (total and per address), in-flight
// requests and bytes, the request-bytes budget and the request deadline.
#include "tests/net/server_fixture.h"

namespace eb::net {
namespace {

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

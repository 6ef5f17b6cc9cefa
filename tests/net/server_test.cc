// Tests of net/server.h over real loopback sockets: headers, framing errors, ordering,
// cancellation and shutdown.
#include "tests/net/server_fixture.h"

namespace eb::net {
namespace {

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

}  // namespace
}  // namespace eb::net

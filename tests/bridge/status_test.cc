// bridge/status behind net/http_server, over real sockets: readiness follows the Kafka listener,
// the confirmed-offset answer without a mirror, and the server's bounds (connections, header
// time).
#include "bridge/status/status.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "bridge/status/traffic.h"
#include "common/batch_header.h"
#include "net/http_server.h"
#include "storage/storage.h"
#include "tests/support/bounded_wait.h"

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

struct reply {
  int status = 0;
  std::string body;
};

reply get(uint16_t port, const std::string& target) {
  asio::io_context io;
  boost::beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(10));
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(stream, req);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  return {static_cast<int>(res.result_int()), res.body()};
}

class StatusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    _dir = std::filesystem::temp_directory_path() /
           ("eb-status-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    eb::storage::options o;
    o.data_dir = _dir;
    o.unmirrored = eb::storage::unmirrored_retention::delete_and_record;
    auto s = eb::storage::log_store::open(o);
    ASSERT_TRUE(s) << s.error().message();
    _store = std::move(*s);
    _status = std::make_unique<eb::bridge::status_service>(
        eb::bridge::status_sources{.store = *_store,
                                   .traffic = _traffic,
                                   .site_id = "test",
                                   .connections = [] { return size_t{0}; },
                                   .listening = [this] { return _listening.load(); }});
    _status->start();
  }
  void TearDown() override {
    _http.reset();
    _status.reset();
    _store.reset();
    std::filesystem::remove_all(_dir);
  }
  void serve(eb::net::http_options o) {
    o.host = "127.0.0.1";
    o.port = 0;
    _http = std::make_unique<eb::net::http_server>(
        o, [this](std::string_view m, std::string_view t) { return _status->handle(m, t); });
    ASSERT_TRUE(_http->start());
  }
  uint16_t port() const { return _http->port(); }

  std::filesystem::path _dir;
  std::unique_ptr<eb::storage::log_store> _store;
  eb::bridge::traffic_registry _traffic;
  std::atomic<bool> _listening{true};
  std::unique_ptr<eb::bridge::status_service> _status;
  std::unique_ptr<eb::net::http_server> _http;
};

TEST_F(StatusTest, ReadinessFollowsTheKafkaListener) {
  serve({});
  auto r = get(port(), "/readyz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ready\nuplink: off\n");
  _listening = false;
  r = get(port(), "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("not ready"), std::string::npos);
  // Alive all the same.
  EXPECT_EQ(get(port(), "/healthz").status, 200);
  EXPECT_NE(get(port(), "/metrics").body.find("edgebridge_ready 0\n"), std::string::npos);
}

TEST_F(StatusTest, ConfirmedWithoutAMirrorIsNeverInTheCloud) {
  serve({});
  ASSERT_TRUE(_store->create_topic("t", eb::storage::topic_config{}));
  eb::storage::append_request a;
  a.topic = "t";
  a.record_count = 1;
  a.batch.assign(eb::batch_v2::header_size, '\0');  // LastOffsetDelta 0: one record
  a.batch[eb::batch_v2::magic_at] = 2;
  std::promise<bool> done;
  std::vector<eb::storage::append_request> reqs;
  reqs.push_back(std::move(a));
  _store->append(std::move(reqs), [&](auto results) { done.set_value(bool(results.at(0))); });
  ASSERT_TRUE(eb::test::get_within(done.get_future(), "the append"));
  auto r = get(port(), "/v1/confirmed?topic=t&partition=0&offset=0");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find(R"("stored":true,"in_cloud":false,"confirmed_offset":null)"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find(R"("mirror_state":"off")"), std::string::npos) << r.body;
  EXPECT_EQ(get(port(), "/v1/confirmed?topic=t&partition=1&offset=0").status, 404);
  EXPECT_EQ(get(port(), "/v1/confirmed?topic=t").status, 400);
}

TEST_F(StatusTest, MetricsWithoutAMirrorPassPromtool) {
  if (std::system("command -v promtool >/dev/null") != 0) {
    GTEST_SKIP() << "promtool missing: scripts/install-deps.sh installs Debian's prometheus";
  }
  serve({});
  ASSERT_TRUE(_store->create_topic("t", eb::storage::topic_config{.partitions = 2}));
  auto r = get(port(), "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("edgebridge_partition_high_watermark{topic=\"t\",partition=\"1\"} 0\n"),
            std::string::npos)
      << r.body;
  const auto file = _dir / "metrics.txt";
  std::ofstream(file) << r.body;
  EXPECT_EQ(std::system(("promtool check metrics < " + file.string()).c_str()), 0) << r.body;
}

TEST_F(StatusTest, ConnectionsBeyondTheBoundAreAnswered503) {
  serve({.max_connections = 2, .header_timeout = std::chrono::seconds(30)});
  asio::io_context io;
  tcp::socket a(io), b(io);
  const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port());
  a.connect(ep);
  b.connect(ep);
  const auto deadline = std::chrono::steady_clock::now() + eb::test::default_wait_bound;
  while (_http->connection_count() < 2) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the server never counted 2";
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(get(port(), "/healthz").status, 503);
  a.close();
  b.close();
  while (_http->connection_count() > 0) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "closed connections still counted";
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(get(port(), "/healthz").status, 200);
}

TEST_F(StatusTest, AHeaderTooSlowClosesTheConnection) {
  serve({.header_timeout = std::chrono::milliseconds(300)});
  asio::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port()));
  asio::write(s, asio::buffer(std::string("GET /healthz HTTP/1.1\r\nHost: x\r\n")));
  const auto start = std::chrono::steady_clock::now();
  char byte;
  boost::system::error_code ec;
  // Blocks until the server closes: the header never completes.
  asio::read(s, asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

// The fleet record carries the downlink's state and its lag summed over partitions (a partition
// whose lag is not known yet counts 0), and says "off" without a downlink.
TEST(FleetRecord, CarriesTheDownlinkStateAndLag) {
  eb::bridge::status_snapshot s;
  s.site_id = "plant-7";
  EXPECT_NE(eb::bridge::render_fleet_json(s, "1.0").find(R"("downlink":{"state":"off"})"),
            std::string::npos);
  eb::bridge::downlink_view d{.state = "connected", .last_error = "", .records = 42};
  d.partitions.push_back({.cloud_topic = "plant-7.commands", .partition = 0, .lag = 5});
  d.partitions.push_back({.cloud_topic = "plant-7.commands", .partition = 1, .lag = -1});
  d.partitions.push_back({.cloud_topic = "plant-7.commands", .partition = 2, .lag = 7});
  s.downlink = d;
  auto json = eb::bridge::render_fleet_json(s, "1.0");
  EXPECT_NE(json.find(R"("downlink":{"state":"connected","last_error":"","records":42,)"
                      R"("lag_records":12,"partitions":3})"),
            std::string::npos)
      << json;
}

}  // namespace

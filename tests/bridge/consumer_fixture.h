#pragma once
// The Kafka front end in process with the consumer side wired in: real server, router, handlers,
// fetch waiters, group coordinator and RocksDB storage, driven over real sockets.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>
#include <memory>
#include <string>

#include "bridge/app.h"
#include "bridge/groups/coordinator.h"
#include "net/messages/messages.h"
#include "net/record_batch.h"
#include "storage/storage.h"
#include "tests/bridge/kafka_client.h"
#include "tests/support/bounded_wait.h"

namespace eb::test {

namespace msg = eb::net::msg;
using error_code = eb::net::error_code;

inline int16_t code(error_code e) { return static_cast<int16_t>(e); }

class ConsumerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    _dir = std::filesystem::temp_directory_path() /
           ("eb-consumer-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(_dir);
    _cfg.storage.data_dir = _dir;
    _cfg.topics.auto_create = true;
    _cfg.server.host = "127.0.0.1";
    _cfg.server.port = 0;
    _cfg.http.port = 0;
    _cfg.server.io_threads = 2;
    _cfg.server.max_request_bytes = 4 << 20;
    _cfg.server.shutdown_grace = std::chrono::seconds(10);
    // Short sessions so that expiry tests run in about a second.
    _group_opts.min_session_timeout = std::chrono::milliseconds(100);
    start();
  }
  void TearDown() override {
    stop();
    std::filesystem::remove_all(_dir);
  }

  // The process's own wiring (bridge::app), on a port of its choosing.
  void start() {
    _cfg.advertised_host = "edge.example";
    _cfg.advertised_port = 19092;
    _cfg.groups = _group_opts;
    auto app = eb::bridge::app::start(_cfg);
    ASSERT_TRUE(app) << app.error().message();
    _app = std::move(*app);
  }
  void stop() { _app.reset(); }
  void restart() {
    stop();
    start();
  }

  uint16_t port() const { return _app->port(); }
  eb::storage::log_store& store() { return _app->store(); }

  // A batch of `records` records with timestamps base_ts + i.
  static std::string batch(int records, int64_t base_ts = 1'700'000'000'000,
                           size_t value_bytes = 8) {
    eb::net::batch_builder_input b;
    b.base_timestamp = base_ts;
    for (int i = 0; i < records; ++i) {
      b.records.push_back({.timestamp_delta = i,
                           .key = "key-" + std::to_string(i),
                           .value = std::string(value_bytes, char('a' + i % 26)),
                           .headers = {}});
    }
    return eb::net::encode_batch(b);
  }

  // Produces one batch (acks=all) and returns its base offset.
  int64_t produce(wire_client& c, const std::string& topic, const std::string& records,
                  int32_t partition = 0) {
    msg::produce_request req;
    req.acks = -1;
    req.timeout_ms = 5000;
    auto& t = req.topic_data.emplace_back();
    t.name = topic;
    auto& p = t.partition_data.emplace_back();
    p.index = partition;
    p.records = records;
    c.send(req, 7, ++_correlation);
    auto resp = c.receive<msg::produce_response>(7, _correlation);
    auto& pr = resp.responses.at(0).partition_responses.at(0);
    EXPECT_EQ(pr.error_code, 0);
    return pr.base_offset;
  }

  void create_topic(wire_client& c, const std::string& name, int32_t partitions) {
    msg::create_topics_request req;
    auto& t = req.topics.emplace_back();
    t.name = name;
    t.num_partitions = partitions;
    t.replication_factor = 1;
    req.timeout_ms = 5000;
    c.send(req, 4, ++_correlation);
    auto resp = c.receive<msg::create_topics_response>(4, _correlation);
    ASSERT_EQ(resp.topics.at(0).error_code, 0);
  }

  template <class Response, class Request>
  Response call(wire_client& c, const Request& req, int16_t version) {
    c.send(req, version, ++_correlation);
    return c.receive<Response>(version, _correlation);
  }

  // The coordinator's view of a group, read on its own strand.
  eb::bridge::groups::group_view describe(const std::string& group) {
    // On the io_context itself, not a strand: the reply must arrive on any executor.
    return get_within(
        boost::asio::co_spawn(_app->io_executor(), _app->coordinator().describe(group),
                              boost::asio::use_future),
        "the coordinator to describe group " + group);
  }

  std::filesystem::path _dir;
  eb::config::bridge_config _cfg;
  eb::bridge::groups::coordinator_options _group_opts;
  std::unique_ptr<eb::bridge::app> _app;
  int32_t _correlation = 0;
};

}  // namespace eb::test

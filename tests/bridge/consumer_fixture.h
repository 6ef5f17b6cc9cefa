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

#include "bridge/fetch/waiters.h"
#include "bridge/groups/coordinator.h"
#include "bridge/router.h"
#include "bridge/services.h"
#include "bridge/topics.h"
#include "net/messages/messages.h"
#include "net/record_batch.h"
#include "net/server.h"
#include "storage/storage.h"
#include "tests/bridge/kafka_client.h"

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

  void start() {
    auto store = eb::storage::log_store::open(_cfg.storage);
    ASSERT_TRUE(store) << store.error().message();
    _store = std::move(*store);
    _topics = std::make_unique<eb::bridge::topic_registry>(*_store, _cfg.topics);
    _readers = std::make_unique<boost::asio::thread_pool>(2);
    _svc = std::make_unique<eb::bridge::services>(eb::bridge::services{
        .store = *_store, .topics = *_topics, .cfg = _cfg, .readers = *_readers});
    _svc->advertised_host = "edge.example";
    _svc->advertised_port = 19092;
    _svc->cluster_id = "test-cluster";
    _waiters = std::make_unique<eb::bridge::fetch_waiters>(*_store);
    _svc->fetches = _waiters.get();
    _router = std::make_unique<eb::bridge::router>(*_svc);
    _server = std::make_unique<eb::net::server>(_cfg.server, *_router);
    _groups = std::make_unique<eb::bridge::groups::coordinator>(_server->executor(), _group_opts);
    _svc->groups = _groups.get();
    ASSERT_TRUE(_server->start());
  }
  void stop() {
    if (_server) _server->stop();
    // Reads and storage drain before the io side goes (see async_storage.h).
    if (_readers) _readers->join();
    if (_store) _store->close();
    _groups.reset();
    _server.reset();
    _router.reset();
    _waiters.reset();
    _store.reset();
  }
  void restart() {
    stop();
    start();
  }

  uint16_t port() const { return _server->port(); }

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
    return boost::asio::co_spawn(_server->executor(), _groups->describe(group),
                                 boost::asio::use_future)
        .get();
  }

  std::filesystem::path _dir;
  eb::config::bridge_config _cfg;
  eb::bridge::groups::coordinator_options _group_opts;
  std::unique_ptr<eb::storage::log_store> _store;
  std::unique_ptr<eb::bridge::topic_registry> _topics;
  std::unique_ptr<boost::asio::thread_pool> _readers;
  std::unique_ptr<eb::bridge::services> _svc;
  std::unique_ptr<eb::bridge::fetch_waiters> _waiters;
  std::unique_ptr<eb::bridge::router> _router;
  std::unique_ptr<eb::net::server> _server;
  std::unique_ptr<eb::bridge::groups::coordinator> _groups;
  int32_t _correlation = 0;
};

}  // namespace eb::test

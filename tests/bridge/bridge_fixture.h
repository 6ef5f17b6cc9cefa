#pragma once
// The Kafka front end in process (bridge::app): real server, router, handlers and RocksDB storage,
// driven over a real socket with exactly the bytes each test chooses. Shared by produce_test.cc,
// hostile_batch_test.cc and topic_limits_test.cc.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

#include "bridge/app.h"
#include "bridge/handlers/api_versions.h"
#include "net/crc32c.h"
#include "net/messages/messages.h"
#include "net/record_batch.h"
#include "storage/storage.h"
#include "tests/bridge/kafka_client.h"

// Each test file gets its own copy.
namespace {

using eb::test::wire_client;
namespace msg = eb::net::msg;
using error_code = eb::net::error_code;

class BridgeTest : public ::testing::Test {
 protected:
  void SetUp() override { start(true); }
  void TearDown() override {
    stop();
    std::filesystem::remove_all(_dir);
  }

  void start(bool auto_create) {
    _dir = std::filesystem::temp_directory_path() /
           ("eb-bridge-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    _cfg.storage.data_dir = _dir;
    _cfg.topics.auto_create = auto_create;
    _cfg.server.host = "127.0.0.1";
    _cfg.server.port = 0;
    _cfg.http.port = 0;
    _cfg.server.io_threads = 2;
    _cfg.server.max_request_bytes = 1 << 20;
    _cfg.advertised_host = "edge.example";
    _cfg.advertised_port = 19092;
    auto app = eb::bridge::app::start(_cfg);
    ASSERT_TRUE(app) << app.error().message();
    _app = std::move(*app);
  }
  void stop() { _app.reset(); }

  uint16_t port() const { return _app->port(); }
  eb::storage::log_store& store() { return _app->store(); }

  static std::string batch(int records, int64_t producer_id = -1, int16_t epoch = -1,
                           int32_t sequence = -1) {
    eb::net::batch_builder_input b;
    b.producer_id = producer_id;
    b.producer_epoch = epoch;
    b.base_sequence = sequence;
    b.base_timestamp = 1'700'000'000'000;
    for (int i = 0; i < records; ++i) {
      b.records.push_back({.timestamp_delta = i,
                           .key = "key-" + std::to_string(i),
                           .value = "value-" + std::to_string(i),
                           .headers = {{"h", std::string("v")}}});
    }
    return eb::net::encode_batch(b);
  }

  static msg::produce_request produce(const std::string& topic, std::optional<std::string> records,
                                      int16_t acks = -1, int32_t partition = 0) {
    msg::produce_request req;
    req.acks = acks;
    req.timeout_ms = 5000;
    auto& t = req.topic_data.emplace_back();
    t.name = topic;
    auto& p = t.partition_data.emplace_back();
    p.index = partition;
    p.records = std::move(records);
    return req;
  }

  static const msg::produce_response::topic_produce_response::partition_produce_response&
  only_partition(const msg::produce_response& r) {
    EXPECT_EQ(r.responses.size(), 1u);
    EXPECT_EQ(r.responses.at(0).partition_responses.size(), 1u);
    return r.responses.at(0).partition_responses.at(0);
  }

  int64_t high_watermark(const std::string& topic) {
    auto o = store().offsets(topic, 0);
    return o ? o->high_watermark : -1;
  }

  std::filesystem::path _dir;
  eb::config::bridge_config _cfg;
  std::unique_ptr<eb::bridge::app> _app;
};

}  // namespace

// Topic creation limits (max_topics, max_partitions, create_allow) and max_message_bytes, by
// every path that creates a topic or produces.
#include "tests/bridge/bridge_fixture.h"

namespace {

class TopicLimitsTest : public BridgeTest {
 protected:
  void SetUp() override {}
  void restart_with(size_t max_topics, int32_t max_partitions, std::vector<std::string> allow) {
    _cfg.topics.max_topics = max_topics;
    _cfg.topics.max_partitions = max_partitions;
    _cfg.topics.create_allow = std::move(allow);
    start(true);
  }
  int16_t create(wire_client& c, const std::string& name, int32_t partitions,
                 bool validate_only = false) {
    msg::create_topics_request req;
    req.validate_only = validate_only;
    auto& t = req.topics.emplace_back();
    t.name = name;
    t.num_partitions = partitions;
    t.replication_factor = 1;
    c.send(req, 5, ++_corr);
    auto resp = c.receive<msg::create_topics_response>(5, _corr);
    return resp.topics.at(0).error_code;
  }
  int16_t auto_create(wire_client& c, const std::string& name) {
    msg::metadata_request req;
    req.topics.emplace().emplace_back().name = name;
    c.send(req, 9, ++_corr);
    return c.receive<msg::metadata_response>(9, _corr).topics.at(0).error_code;
  }
  int32_t _corr = 0;
};

TEST_F(TopicLimitsTest, PartitionsAboveTheLimitAreInvalid) {
  restart_with(10, 8, {"*"});
  wire_client c(port());
  EXPECT_EQ(create(c, "wide", 9, true), int16_t(error_code::invalid_partitions));
  EXPECT_EQ(create(c, "wide", 9), int16_t(error_code::invalid_partitions));
  EXPECT_FALSE(store().find_topic("wide"));
  EXPECT_EQ(create(c, "wide", 8), 0);
}

TEST_F(TopicLimitsTest, NoTopicBeyondMaxTopicsByAnyPath) {
  restart_with(3, 8, {"*"});
  wire_client c(port());
  EXPECT_EQ(create(c, "a", 1), 0);
  EXPECT_EQ(auto_create(c, "b"), 0);
  c.send(produce("c", batch(1)), 7, ++_corr);
  EXPECT_EQ(only_partition(c.receive<msg::produce_response>(7, _corr)).error_code, 0);
  // The fourth topic, by each path.
  EXPECT_EQ(create(c, "d", 1), int16_t(error_code::policy_violation));
  EXPECT_EQ(auto_create(c, "e"), int16_t(error_code::unknown_topic_or_partition));
  c.send(produce("f", batch(1)), 7, ++_corr);
  EXPECT_EQ(only_partition(c.receive<msg::produce_response>(7, _corr)).error_code,
            int16_t(error_code::unknown_topic_or_partition));
  EXPECT_EQ(store().topics().size(), 3u);
}

TEST_F(TopicLimitsTest, ConcurrentAutoCreationsCannotOvershoot) {
  restart_with(5, 8, {"*"});
  // 16 connections, each auto-creating its own topics, all at once.
  std::vector<std::thread> devices;
  for (int d = 0; d < 16; ++d) {
    devices.emplace_back([this, d] {
      wire_client c(port());
      for (int i = 0; i < 4; ++i) {
        msg::metadata_request req;
        req.topics.emplace().emplace_back().name =
            "dev" + std::to_string(d) + "-" + std::to_string(i);
        c.send(req, 9, i + 1);
        (void)c.receive<msg::metadata_response>(9, i + 1);
      }
    });
  }
  for (auto& t : devices) t.join();
  EXPECT_EQ(store().topics().size(), 5u);
}

TEST_F(TopicLimitsTest, BatchesAboveMaxMessageBytesAreTooLarge) {
  _cfg.topics.max_message_bytes = 4096;
  restart_with(100, 8, {"*"});
  wire_client c(port());
  // One partition's batch is too large, the other's fits: only the first is refused.
  eb::net::batch_builder_input big;
  big.base_timestamp = 1'700'000'000'000;
  std::string noise(5000, '\0');
  uint32_t x = 12345;
  for (auto& ch : noise) ch = static_cast<char>((x = x * 1103515245 + 12345) >> 24);
  big.records.push_back({.value = noise});
  msg::produce_request req = produce("sized", eb::net::encode_batch(big));
  auto& small = req.topic_data.emplace_back();
  small.name = "sized-ok";
  small.partition_data.emplace_back().records = batch(3);
  c.send(req, 8, ++_corr);  // v8+: error_message
  auto resp = c.receive<msg::produce_response>(8, _corr);
  auto& refused = resp.responses.at(0).partition_responses.at(0);
  EXPECT_EQ(refused.error_code, int16_t(error_code::message_too_large));
  EXPECT_THAT(refused.error_message.value_or(""), ::testing::HasSubstr("max_message_bytes"));
  EXPECT_EQ(resp.responses.at(1).partition_responses.at(0).error_code, 0);
  EXPECT_EQ(store().offsets("sized", 0)->high_watermark, 0);
  EXPECT_EQ(store().offsets("sized-ok", 0)->high_watermark, 3);
}

TEST_F(TopicLimitsTest, OnlyAllowedNamesAreCreated) {
  _cfg.topics.overrides["alarms"] = {};
  restart_with(100, 8, {"sensors.*", "cam-?"});
  wire_client c(port());
  EXPECT_EQ(auto_create(c, "sensors.temp"), 0);
  EXPECT_EQ(auto_create(c, "cam-1"), 0);
  EXPECT_EQ(auto_create(c, "alarms"), 0) << "topics named in overrides may always be created";
  EXPECT_EQ(auto_create(c, "junk"), int16_t(error_code::unknown_topic_or_partition));
  EXPECT_EQ(auto_create(c, "cam-12"), int16_t(error_code::unknown_topic_or_partition));
  EXPECT_EQ(create(c, "junk", 1), int16_t(error_code::policy_violation));
  EXPECT_FALSE(store().find_topic("junk"));
  EXPECT_EQ(store().topics().size(), 3u);
}

}  // namespace

// Produce, Metadata, CreateTopics, ApiVersions and bad frames against the whole front end.
#include "tests/bridge/bridge_fixture.h"

namespace {

TEST_F(BridgeTest, ApiVersionsListsTheHandlerTable) {
  wire_client c(port());
  for (int16_t v : {0, 1, 2, 3, 4}) {
    c.send(msg::api_versions_request{}, v, 100 + v);
    auto resp = c.receive<msg::api_versions_response>(v, 100 + v);
    EXPECT_EQ(resp.error_code, 0);
    auto supported = eb::bridge::supported_apis();
    ASSERT_EQ(resp.api_keys.size(), supported.size());
    bool has_produce_from_0 = false;
    for (auto& k : resp.api_keys) {
      if (k.api_key == 0) has_produce_from_0 = k.min_version == 0 && k.max_version >= 7;
    }
    EXPECT_TRUE(has_produce_from_0);
  }
}

TEST_F(BridgeTest, TooNewApiVersionsGetsTheKip511Answer) {
  wire_client c(port());
  // v7 of a request we cannot parse: the body is garbage to us.
  eb::net::writer w;
  w.write_int32(0);
  w.write_int16(18);
  w.write_int16(7);
  w.write_int32(42);
  w.write_nullable_string(std::string("future-client"), false);
  w.write_uvarint(0);
  w.write_raw(std::string_view("\x05\x01\x02\x03", 4));
  auto bytes = w.take();
  uint32_t size = htonl(uint32_t(bytes.size() - 4));
  std::memcpy(bytes.data(), &size, 4);
  c.send_raw(bytes);
  auto resp = c.receive<msg::api_versions_response>(0, 42);
  EXPECT_EQ(resp.error_code, int16_t(error_code::unsupported_version));
  ASSERT_EQ(resp.api_keys.size(), 1u);
  EXPECT_EQ(resp.api_keys[0].api_key, 18);
  EXPECT_EQ(resp.api_keys[0].max_version, 4);
}

TEST_F(BridgeTest, MetadataAutoCreatesAndAdvertises) {
  wire_client c(port());
  msg::metadata_request req;
  req.topics.emplace().emplace_back().name = "sensors";
  c.send(req, 9, 1);
  auto resp = c.receive<msg::metadata_response>(9, 1);
  ASSERT_EQ(resp.brokers.size(), 1u);
  EXPECT_EQ(resp.brokers[0].host, "edge.example");
  EXPECT_EQ(resp.brokers[0].port, 19092);
  EXPECT_EQ(resp.controller_id, resp.brokers[0].node_id);
  ASSERT_EQ(resp.topics.size(), 1u);
  EXPECT_EQ(resp.topics[0].error_code, 0);
  ASSERT_EQ(resp.topics[0].partitions.size(), 1u);
  EXPECT_EQ(resp.topics[0].partitions[0].leader_id, resp.brokers[0].node_id);
  EXPECT_TRUE(store().find_topic("sensors"));

  // v1+: null lists every topic; v0: an empty list does.
  msg::metadata_request every;
  every.topics = std::nullopt;
  c.send(every, 1, 2);
  auto all = c.receive<msg::metadata_response>(1, 2);
  ASSERT_EQ(all.topics.size(), 1u);
  msg::metadata_request v0;
  v0.topics.emplace();
  c.send(v0, 0, 3);
  EXPECT_EQ(c.receive<msg::metadata_response>(0, 3).topics.size(), 1u);
}

TEST_F(BridgeTest, MetadataRejectsInvalidTopicNames) {
  wire_client c(port());
  msg::metadata_request req;
  req.topics.emplace().emplace_back().name = "bad/name";
  c.send(req, 4, 1);
  auto resp = c.receive<msg::metadata_response>(4, 1);
  ASSERT_EQ(resp.topics.size(), 1u);
  EXPECT_EQ(resp.topics[0].error_code, int16_t(error_code::invalid_topic_exception));
}

TEST_F(BridgeTest, ProduceStoresAndAssignsOffsets) {
  wire_client c(port());
  for (int i = 0; i < 3; ++i) {
    c.send(produce("events", batch(10)), 7, i);
    auto p_resp = c.receive<msg::produce_response>(7, i);
    auto& p = only_partition(p_resp);
    EXPECT_EQ(p.error_code, 0);
    EXPECT_EQ(p.base_offset, i * 10);
  }
  EXPECT_EQ(high_watermark("events"), 30);
  auto read = store().read("events", 0, 15, 1 << 20);
  ASSERT_TRUE(read);
  ASSERT_FALSE(read->empty());
  EXPECT_EQ(read->front().base_offset, 10);
  auto decoded = eb::net::decode_batch(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(read->front().bytes.data()), read->front().bytes.size()));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->header.base_offset, 10);
  ASSERT_EQ(decoded->records.size(), 10u);
  EXPECT_EQ(decoded->records[3].key, "key-3");
}

TEST_F(BridgeTest, ProduceFlexibleVersionAndAcksZero) {
  wire_client c(port());
  c.send(produce("events", batch(1), 0), 9, 1);  // acks=0: no response at all
  c.send(produce("events", batch(1), 1), 9, 2);
  auto p_resp = c.receive<msg::produce_response>(9, 2);
  auto& p = only_partition(p_resp);
  EXPECT_EQ(p.error_code, 0);
  EXPECT_EQ(p.base_offset, 1);
}

TEST_F(BridgeTest, WrongCrcIsCorruptAndNothingIsStored) {
  wire_client c(port());
  auto b = batch(5);
  b[b.size() - 1] ^= 0x5a;  // a payload byte: covered by the CRC
  c.send(produce("events", b), 7, 1);
  EXPECT_EQ(only_partition(c.receive<msg::produce_response>(7, 1)).error_code,
            int16_t(error_code::corrupt_message));
  // The connection and the topic stay usable.
  c.send(produce("events", batch(5)), 7, 2);
  auto ok_resp = c.receive<msg::produce_response>(7, 2);
  auto& ok = only_partition(ok_resp);
  EXPECT_EQ(ok.error_code, 0);
  EXPECT_EQ(ok.base_offset, 0);
}

TEST_F(BridgeTest, OldMagicIsRejected) {
  wire_client c(port());
  auto b = batch(1);
  b[16] = 1;  // magic
  c.send(produce("events", b), 7, 1);
  EXPECT_EQ(only_partition(c.receive<msg::produce_response>(7, 1)).error_code,
            int16_t(error_code::corrupt_message));
  EXPECT_EQ(high_watermark("events"), 0);
}

TEST_F(BridgeTest, CountsThatDoNotAddUpAreRejected) {
  wire_client c(port());
  auto b = batch(3);
  // LastOffsetDelta (bytes 23..26) claims 5 records while 3 are present; fix the CRC so only
  // the count is wrong.
  b[26] = 4;
  auto crc = eb::net::crc32c(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(b.data()) + 21, b.size() - 21));
  for (int i = 0; i < 4; ++i) b[17 + i] = char((crc >> (24 - 8 * i)) & 0xff);
  c.send(produce("events", b), 7, 1);
  auto code = only_partition(c.receive<msg::produce_response>(7, 1)).error_code;
  EXPECT_THAT(code, ::testing::AnyOf(int16_t(error_code::invalid_record),
                                     int16_t(error_code::corrupt_message)));
  EXPECT_EQ(high_watermark("events"), 0);
}

// Hostile batches: each has a valid CRC, so only looking inside the payload finds the problem.
// None may be stored (the mirror could not decode it and would stall on it).

// One record as a producer writes it, with the offset delta and timestamp delta chosen.
TEST_F(BridgeTest, TruncatedBatchIsCorrupt) {
  wire_client c(port());
  auto b = batch(3);
  b.resize(b.size() - 7);
  c.send(produce("events", b), 7, 1);
  EXPECT_EQ(only_partition(c.receive<msg::produce_response>(7, 1)).error_code,
            int16_t(error_code::corrupt_message));
}

TEST_F(BridgeTest, ProduceV2IsUnsupported) {
  wire_client c(port());
  c.send(produce("events", batch(1)), 2, 1);
  EXPECT_EQ(only_partition(c.receive<msg::produce_response>(2, 1)).error_code,
            int16_t(error_code::unsupported_version));
}

TEST_F(BridgeTest, UnknownPartitionIsRejected) {
  wire_client c(port());
  c.send(produce("events", batch(1), -1, 3), 7, 1);
  EXPECT_EQ(only_partition(c.receive<msg::produce_response>(7, 1)).error_code,
            int16_t(error_code::unknown_topic_or_partition));
}

TEST_F(BridgeTest, IdempotentRetryGetsTheOriginalOffset) {
  wire_client c(port());
  c.send(
      msg::init_producer_id_request{.transactional_id = std::nullopt, .transaction_timeout_ms = -1},
      4, 1);
  auto pid = c.receive<msg::init_producer_id_response>(4, 1);
  ASSERT_EQ(pid.error_code, 0);
  ASSERT_GE(pid.producer_id, 0);

  auto first = batch(4, pid.producer_id, pid.producer_epoch, 0);
  c.send(produce("events", first), 7, 2);
  EXPECT_EQ(only_partition(c.receive<msg::produce_response>(7, 2)).base_offset, 0);
  c.send(produce("events", batch(2, pid.producer_id, pid.producer_epoch, 4)), 7, 3);
  EXPECT_EQ(only_partition(c.receive<msg::produce_response>(7, 3)).base_offset, 4);
  // The client did not see the first answer and sends the same batch again.
  c.send(produce("events", first), 7, 4);
  auto retry_resp = c.receive<msg::produce_response>(7, 4);
  auto& retry = only_partition(retry_resp);
  EXPECT_EQ(retry.error_code, 0);
  EXPECT_EQ(retry.base_offset, 0);
  EXPECT_EQ(high_watermark("events"), 6);
  // A gap in the sequence.
  c.send(produce("events", batch(1, pid.producer_id, pid.producer_epoch, 9)), 7, 5);
  EXPECT_EQ(only_partition(c.receive<msg::produce_response>(7, 5)).error_code,
            int16_t(error_code::out_of_order_sequence_number));
  EXPECT_EQ(high_watermark("events"), 6);

  // Producer ids never repeat, also across a restart.
  c.send(msg::init_producer_id_request{.transactional_id = std::nullopt}, 4, 6);
  auto second = c.receive<msg::init_producer_id_response>(4, 6);
  EXPECT_GT(second.producer_id, pid.producer_id);
}

TEST_F(BridgeTest, ProducerIdsNeverRepeatAcrossRestarts) {
  int64_t before;
  {
    wire_client c(port());
    c.send(msg::init_producer_id_request{.transactional_id = std::nullopt}, 0, 1);
    before = c.receive<msg::init_producer_id_response>(0, 1).producer_id;
  }
  stop();
  start(true);
  wire_client c(port());
  c.send(msg::init_producer_id_request{.transactional_id = std::nullopt}, 0, 1);
  EXPECT_GT(c.receive<msg::init_producer_id_response>(0, 1).producer_id, before);
}

TEST_F(BridgeTest, UnknownTopicWithAutoCreateOff) {
  stop();
  start(false);
  wire_client c(port());
  c.send(produce("nobody-made-me", batch(1)), 7, 1);
  EXPECT_EQ(only_partition(c.receive<msg::produce_response>(7, 1)).error_code,
            int16_t(error_code::unknown_topic_or_partition));
  EXPECT_FALSE(store().find_topic("nobody-made-me"));
}

TEST_F(BridgeTest, CreateTopicsHonoursPartitionsAndRejectsDuplicates) {
  wire_client c(port());
  msg::create_topics_request req;
  auto& t = req.topics.emplace_back();
  t.name = "made";
  t.num_partitions = 4;
  t.replication_factor = 1;
  c.send(req, 5, 1);
  auto resp = c.receive<msg::create_topics_response>(5, 1);
  ASSERT_EQ(resp.topics.size(), 1u);
  EXPECT_EQ(resp.topics[0].error_code, 0);
  EXPECT_EQ(store().find_topic("made")->config.partitions, 4);
  c.send(req, 5, 2);
  EXPECT_EQ(c.receive<msg::create_topics_response>(5, 2).topics[0].error_code,
            int16_t(error_code::topic_already_exists));
  t.replication_factor = 3;
  t.name = "made-3";
  c.send(req, 5, 3);
  EXPECT_EQ(c.receive<msg::create_topics_response>(5, 3).topics[0].error_code,
            int16_t(error_code::invalid_replication_factor));
}

TEST_F(BridgeTest, UnknownApiKeyClosesOnlyThatConnection) {
  wire_client bystander(port());
  wire_client c(port());
  eb::net::writer w;
  w.write_int32(10);
  w.write_int16(999);
  w.write_int16(0);
  w.write_int32(1);
  w.write_int16(-1);
  c.send_raw(w.take());
  EXPECT_TRUE(c.closed_by_peer());
  bystander.send(produce("events", batch(1)), 7, 1);
  EXPECT_EQ(only_partition(bystander.receive<msg::produce_response>(7, 1)).error_code, 0);
}

TEST_F(BridgeTest, MalformedBodyClosesTheConnection) {
  wire_client c(port());
  // Produce v7 header, then a topic array claiming a million entries.
  eb::net::writer w;
  w.write_int32(0);
  w.write_int16(0);
  w.write_int16(7);
  w.write_int32(1);
  w.write_int16(-1);
  w.write_int16(-1);    // transactional id: null
  w.write_int16(1);     // acks
  w.write_int32(1000);  // timeout
  w.write_int32(1'000'000);
  auto bytes = w.take();
  uint32_t size = htonl(uint32_t(bytes.size() - 4));
  std::memcpy(bytes.data(), &size, 4);
  c.send_raw(bytes);
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(BridgeTest, OversizedFrameClosesTheConnection) {
  wire_client c(port());
  c.send_raw({0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 7});
  EXPECT_TRUE(c.closed_by_peer());
}

}  // namespace

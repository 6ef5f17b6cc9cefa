// The consumer read path over a real socket: Fetch (long poll, limits, errors), ListOffsets,
// OffsetForLeaderEpoch, FindCoordinator and the advertised version ranges.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "bridge/router.h"
#include "tests/bridge/consumer_fixture.h"

namespace eb::test {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using fetch_partition = msg::fetch_response::fetchable_topic_response::partition_data;

class ConsumerTest : public ConsumerFixture {
 protected:
  static msg::fetch_request fetch_req(const std::string& topic, int64_t offset,
                                      int32_t max_wait_ms = 0, int32_t min_bytes = 1,
                                      int32_t partition_max_bytes = 1 << 20,
                                      int32_t partition = 0) {
    msg::fetch_request req;
    req.max_wait_ms = max_wait_ms;
    req.min_bytes = min_bytes;
    req.max_bytes = 50 << 20;
    auto& t = req.topics.emplace_back();
    t.topic = topic;
    auto& p = t.partitions.emplace_back();
    p.partition = partition;
    p.fetch_offset = offset;
    p.partition_max_bytes = partition_max_bytes;
    return req;
  }

  static const fetch_partition& only(const msg::fetch_response& r) {
    EXPECT_EQ(r.responses.size(), 1u);
    EXPECT_EQ(r.responses.at(0).partitions.size(), 1u);
    return r.responses.at(0).partitions.at(0);
  }

  // Base offsets of the whole batches in a partition's records.
  static std::vector<int64_t> bases(const fetch_partition& p) {
    std::vector<int64_t> out;
    if (!p.records) return out;
    auto bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(p.records->data()),
                                          p.records->size());
    auto batches = eb::net::split_batches(bytes);
    EXPECT_TRUE(batches) << batches.error().message();
    if (!batches) return out;
    for (auto& b : *batches) {
      auto h = eb::net::validate_batch(b);
      EXPECT_TRUE(h) << h.error().message();
      if (h) out.push_back(h->base_offset);
    }
    return out;
  }
};

TEST_F(ConsumerTest, FetchReturnsProducedBatches) {
  wire_client c(port());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(produce(c, "events", batch(10)), i * 10);
  for (int16_t v : {4, 7, 11, 12}) {
    auto resp = call<msg::fetch_response>(c, fetch_req("events", 0), v);
    auto& p = only(resp);
    EXPECT_EQ(p.error_code, 0) << "v" << v;
    EXPECT_EQ(p.high_watermark, 30);
    EXPECT_EQ(p.last_stable_offset, 30);
    if (v >= 5) {
      EXPECT_EQ(p.log_start_offset, 0);
    }
    EXPECT_EQ(bases(p), (std::vector<int64_t>{0, 10, 20})) << "v" << v;
    if (v >= 7) {
      EXPECT_EQ(resp.session_id, 0);
    }
  }
  // From inside a batch: the whole batch holding the offset comes back first.
  auto resp = call<msg::fetch_response>(c, fetch_req("events", 15), 11);
  EXPECT_EQ(bases(only(resp)), (std::vector<int64_t>{10, 20}));
  // The records decode to what was produced.
  auto& p = only(resp);
  auto bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(p.records->data()),
                                        p.records->size());
  auto first = eb::net::split_batches(bytes);
  ASSERT_TRUE(first);
  auto decoded = eb::net::decode_batch(first->front());
  ASSERT_TRUE(decoded);
  ASSERT_EQ(decoded->records.size(), 10u);
  EXPECT_EQ(decoded->offset_of(decoded->records[5]), 15);
  EXPECT_EQ(decoded->records[5].key, "key-5");
}

TEST_F(ConsumerTest, LongPollWakesOnProduceWellBeforeMaxWait) {
  wire_client producer(port());
  EXPECT_EQ(produce(producer, "live", batch(1)), 0);
  wire_client consumer(port());
  const auto start = steady::now();
  consumer.send(fetch_req("live", 1, /*max_wait_ms=*/10'000), 12, 77);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(produce(producer, "live", batch(5)), 1);
  auto resp = consumer.receive<msg::fetch_response>(12, 77);
  const auto waited = steady::now() - start;
  auto& p = only(resp);
  EXPECT_EQ(p.error_code, 0);
  EXPECT_EQ(p.high_watermark, 6);
  EXPECT_EQ(bases(p), (std::vector<int64_t>{1}));
  EXPECT_GE(waited, 250ms);
  EXPECT_LT(waited, 3s) << "the fetch was not woken by the produce";
  EXPECT_EQ(_app->waiting_fetches(), 0u);
}

TEST_F(ConsumerTest, LongPollWakesForAnyPartitionOfTheRequest) {
  wire_client c(port());
  create_topic(c, "multi", 3);
  wire_client consumer(port());
  msg::fetch_request req;
  req.max_wait_ms = 10'000;
  req.min_bytes = 1;
  auto& t = req.topics.emplace_back();
  t.topic = "multi";
  for (int32_t p = 0; p < 3; ++p) {
    auto& fp = t.partitions.emplace_back();
    fp.partition = p;
    fp.fetch_offset = 0;
    fp.partition_max_bytes = 1 << 20;
  }
  const auto start = steady::now();
  consumer.send(req, 11, 5);
  std::this_thread::sleep_for(200ms);
  produce(c, "multi", batch(2), 2);
  auto resp = consumer.receive<msg::fetch_response>(11, 5);
  EXPECT_LT(steady::now() - start, 3s);
  ASSERT_EQ(resp.responses.at(0).partitions.size(), 3u);
  EXPECT_EQ(resp.responses[0].partitions[2].high_watermark, 2);
  EXPECT_EQ(bases(resp.responses[0].partitions[2]), (std::vector<int64_t>{0}));
  EXPECT_TRUE(bases(resp.responses[0].partitions[0]).empty());
}

TEST_F(ConsumerTest, MaxWaitExpiresWithNothing) {
  wire_client c(port());
  produce(c, "quiet", batch(1));
  const auto start = steady::now();
  auto resp = call<msg::fetch_response>(c, fetch_req("quiet", 1, /*max_wait_ms=*/500), 12);
  const auto waited = steady::now() - start;
  auto& p = only(resp);
  EXPECT_EQ(p.error_code, 0);
  EXPECT_EQ(p.high_watermark, 1);
  EXPECT_TRUE(!p.records || p.records->empty());
  EXPECT_GE(waited, 450ms);
  EXPECT_LT(waited, 2s);
}

TEST_F(ConsumerTest, MinBytesKeepsWaitingForEnoughData) {
  wire_client producer(port());
  produce(producer, "slow", batch(1));
  const size_t one = batch(1).size();
  wire_client consumer(port());
  const auto start = steady::now();
  // Asks for more than two small batches: the first produce is not enough to answer.
  consumer.send(fetch_req("slow", 1, /*max_wait_ms=*/1'000, /*min_bytes=*/int32_t(one * 2 + 1)), 12,
                9);
  std::this_thread::sleep_for(200ms);
  produce(producer, "slow", batch(1));
  auto resp = consumer.receive<msg::fetch_response>(12, 9);
  EXPECT_GE(steady::now() - start, 900ms);
  EXPECT_EQ(bases(only(resp)), (std::vector<int64_t>{1}));
}

TEST_F(ConsumerTest, MaxWaitZeroAnswersAtOnce) {
  wire_client c(port());
  produce(c, "now", batch(1));
  const auto start = steady::now();
  auto resp = call<msg::fetch_response>(c, fetch_req("now", 1, 0), 12);
  EXPECT_LT(steady::now() - start, 500ms);
  EXPECT_EQ(only(resp).error_code, 0);
}

TEST_F(ConsumerTest, OffsetsOutsideTheLogAreOutOfRange) {
  wire_client c(port());
  produce(c, "range", batch(10));
  for (int64_t offset : {int64_t(11), int64_t(1000), int64_t(-1)}) {
    const auto start = steady::now();
    auto resp = call<msg::fetch_response>(c, fetch_req("range", offset, 5'000), 12);
    auto& p = only(resp);
    EXPECT_EQ(p.error_code, code(error_code::offset_out_of_range)) << offset;
    EXPECT_EQ(p.high_watermark, 10);
    EXPECT_EQ(p.log_start_offset, 0);
    // An error answers at once, whatever max_wait_ms says.
    EXPECT_LT(steady::now() - start, 1s);
  }
  // The high watermark itself is a valid (empty) position.
  auto resp = call<msg::fetch_response>(c, fetch_req("range", 10, 0), 12);
  EXPECT_EQ(only(resp).error_code, 0);
}

TEST_F(ConsumerTest, UnknownTopicOrPartition) {
  wire_client c(port());
  produce(c, "known", batch(1));
  auto resp = call<msg::fetch_response>(c, fetch_req("never-created", 0, 5'000), 12);
  EXPECT_EQ(only(resp).error_code, code(error_code::unknown_topic_or_partition));
  EXPECT_FALSE(store().find_topic("never-created")) << "fetch must not auto-create";
  resp = call<msg::fetch_response>(c, fetch_req("known", 0, 0, 1, 1 << 20, 7), 12);
  EXPECT_EQ(only(resp).error_code, code(error_code::unknown_topic_or_partition));
}

TEST_F(ConsumerTest, SizeLimitsReturnWholeBatchesAndAtLeastOne) {
  wire_client c(port());
  create_topic(c, "sized", 2);
  const std::string big = batch(4, 1'700'000'000'000, 1000);  // ~4 KB
  for (int i = 0; i < 3; ++i) produce(c, "sized", big, 0);
  for (int i = 0; i < 3; ++i) produce(c, "sized", big, 1);
  // A partition limit below one batch still yields the first batch whole.
  auto resp = call<msg::fetch_response>(c, fetch_req("sized", 0, 0, 1, 100), 12);
  EXPECT_EQ(bases(only(resp)), (std::vector<int64_t>{0}));
  EXPECT_EQ(only(resp).records->size(), big.size());
  // Room for two batches: two.
  resp =
      call<msg::fetch_response>(c, fetch_req("sized", 0, 0, 1, int32_t(big.size() * 2 + 10)), 12);
  EXPECT_EQ(bases(only(resp)), (std::vector<int64_t>{0, 4}));

  // The response total: partition 0 takes it all, partition 1 gets nothing this time.
  msg::fetch_request req;
  req.max_wait_ms = 0;
  req.min_bytes = 1;
  req.max_bytes = int32_t(big.size() + 10);
  auto& t = req.topics.emplace_back();
  t.topic = "sized";
  for (int32_t p = 0; p < 2; ++p) {
    auto& fp = t.partitions.emplace_back();
    fp.partition = p;
    fp.fetch_offset = 0;
    fp.partition_max_bytes = 1 << 20;
  }
  resp = call<msg::fetch_response>(c, req, 12);
  auto& parts = resp.responses.at(0).partitions;
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(bases(parts[0]), (std::vector<int64_t>{0}));
  EXPECT_TRUE(bases(parts[1]).empty());
  EXPECT_EQ(parts[1].high_watermark, 12);
  // A response limit below one batch still returns the first batch (KIP-74).
  req.max_bytes = 10;
  resp = call<msg::fetch_response>(c, req, 12);
  EXPECT_EQ(bases(resp.responses.at(0).partitions[0]), (std::vector<int64_t>{0}));
  EXPECT_TRUE(bases(resp.responses.at(0).partitions[1]).empty());
}

TEST_F(ConsumerTest, ServerCapsFetchResponsesWhateverTheClientAsks) {
  wire_client c(port());
  const std::string big = batch(4, 1'700'000'000'000, 1000);  // ~4 KB
  for (int i = 0; i < 10; ++i) produce(c, "capped", big);
  // The consumer asks for 50 MiB and 64 MiB per partition; the server allows two batches' worth.
  _cfg.handlers.fetch_max_bytes = int32_t(big.size() * 2 + 10);
  restart();
  wire_client c2(port());
  auto resp = call<msg::fetch_response>(c2, fetch_req("capped", 0, 0, 1, 64 << 20), 12);
  EXPECT_EQ(bases(only(resp)), (std::vector<int64_t>{0, 4}));
  // Below one batch: still the first batch whole (KIP-74), so the consumer moves on.
  _cfg.handlers.fetch_max_bytes = 1024;
  restart();
  wire_client c3(port());
  resp = call<msg::fetch_response>(c3, fetch_req("capped", 8, 0, 1, 64 << 20), 12);
  EXPECT_EQ(bases(only(resp)), (std::vector<int64_t>{8}));
}

TEST_F(ConsumerTest, IncrementalFetchSessionsAreDeclined) {
  wire_client c(port());
  produce(c, "sess", batch(1));
  auto req = fetch_req("sess", 0);
  req.session_id = 1234;
  req.session_epoch = 1;
  auto resp = call<msg::fetch_response>(c, req, 12);
  EXPECT_EQ(resp.error_code, code(error_code::fetch_session_id_not_found));
  EXPECT_EQ(resp.session_id, 0);
}

TEST_F(ConsumerTest, ServerStopAnswersAWaitingFetchEarly) {
  wire_client c(port());
  produce(c, "stop", batch(1));
  wire_client consumer(port());
  consumer.send(fetch_req("stop", 1, /*max_wait_ms=*/30'000), 12, 3);
  std::this_thread::sleep_for(200ms);
  const auto start = steady::now();
  std::thread stopper([&] { _app->stop(); });
  auto frame = consumer.read_frame(5s);
  stopper.join();
  ASSERT_TRUE(frame) << "the waiting fetch was not answered on stop";
  EXPECT_LT(steady::now() - start, 3s);
}

TEST_F(ConsumerTest, ListOffsetsEarliestLatestAndByTimestamp) {
  wire_client c(port());
  const int64_t t0 = 1'700'000'000'000;
  // Batch i holds offsets 10i..10i+9 with timestamps t0 + 1000i + (0..9).
  for (int i = 0; i < 3; ++i) produce(c, "timed", batch(10, t0 + 1000 * i));
  auto ask = [&](int64_t ts, int16_t v) {
    msg::list_offsets_request req;
    req.replica_id = -1;
    auto& t = req.topics.emplace_back();
    t.name = "timed";
    auto& p = t.partitions.emplace_back();
    p.partition_index = 0;
    p.timestamp = ts;
    auto resp = call<msg::list_offsets_response>(c, req, v);
    EXPECT_EQ(resp.topics.size(), 1u);
    return resp.topics.at(0).partitions.at(0);
  };
  for (int16_t v : {1, 4, 6, 7}) {
    auto earliest = ask(-2, v);
    EXPECT_EQ(earliest.error_code, 0);
    EXPECT_EQ(earliest.offset, 0);
    auto latest = ask(-1, v);
    EXPECT_EQ(latest.error_code, 0);
    EXPECT_EQ(latest.offset, 30);
    // The exact record: batch 1, record 5.
    auto mid = ask(t0 + 1005, v);
    EXPECT_EQ(mid.error_code, 0);
    EXPECT_EQ(mid.offset, 15) << "v" << v;
    EXPECT_EQ(mid.timestamp, t0 + 1005);
    // Between batches: the first record after.
    auto gap = ask(t0 + 1500, v);
    EXPECT_EQ(gap.offset, 20);
    EXPECT_EQ(gap.timestamp, t0 + 2000);
    // Before everything: the first record.
    EXPECT_EQ(ask(t0 - 5000, v).offset, 0);
    // After everything: none.
    auto none = ask(t0 + 10'000, v);
    EXPECT_EQ(none.error_code, 0);
    EXPECT_EQ(none.offset, -1);
    EXPECT_EQ(none.timestamp, -1);
  }
  // Max-timestamp (-3) needs v7, where it names the record with the largest timestamp.
  EXPECT_EQ(ask(-3, 6).error_code, code(error_code::unsupported_version));
  auto newest = ask(-3, 7);
  EXPECT_EQ(newest.error_code, 0);
  EXPECT_EQ(newest.offset, 29);
  EXPECT_EQ(newest.timestamp, t0 + 2009);

  msg::list_offsets_request unknown;
  auto& t = unknown.topics.emplace_back();
  t.name = "absent";
  t.partitions.emplace_back().timestamp = -1;
  auto resp = call<msg::list_offsets_response>(c, unknown, 5);
  EXPECT_EQ(resp.topics.at(0).partitions.at(0).error_code,
            code(error_code::unknown_topic_or_partition));
}

TEST_F(ConsumerTest, OffsetForLeaderEpochAnswersTheHighWatermarkForEpochZero) {
  wire_client c(port());
  produce(c, "epochs", batch(7));
  auto ask = [&](const std::string& topic, int32_t epoch, int32_t current, int16_t v) {
    msg::offset_for_leader_epoch_request req;
    req.replica_id = -1;
    auto& t = req.topics.emplace_back();
    t.topic = topic;
    auto& p = t.partitions.emplace_back();
    p.partition = 0;
    p.leader_epoch = epoch;
    p.current_leader_epoch = current;
    auto resp = call<msg::offset_for_leader_epoch_response>(c, req, v);
    return resp.topics.at(0).partitions.at(0);
  };
  for (int16_t v : {0, 2, 3, 4}) {
    auto zero = ask("epochs", 0, 0, v);
    EXPECT_EQ(zero.error_code, 0);
    EXPECT_EQ(zero.end_offset, 7);
    if (v >= 1) {
      EXPECT_EQ(zero.leader_epoch, 0);
    }
    EXPECT_EQ(ask("epochs", -1, -1, v).end_offset, 7);
    auto later = ask("epochs", 3, 0, v);
    EXPECT_EQ(later.error_code, 0);
    EXPECT_EQ(later.end_offset, -1);
    EXPECT_EQ(ask("nope", 0, 0, v).error_code, code(error_code::unknown_topic_or_partition));
  }
  EXPECT_EQ(ask("epochs", 0, 5, 3).error_code, code(error_code::unknown_leader_epoch));
}

TEST_F(ConsumerTest, FindCoordinatorIsThisBroker) {
  wire_client c(port());
  for (int16_t v : {0, 1, 2, 3}) {
    msg::find_coordinator_request req;
    req.key = "my-group";
    auto resp = call<msg::find_coordinator_response>(c, req, v);
    EXPECT_EQ(resp.error_code, 0);
    EXPECT_EQ(resp.node_id, 1);
    EXPECT_EQ(resp.host, "edge.example");
    EXPECT_EQ(resp.port, 19092);
  }
}

TEST_F(ConsumerTest, TransactionCoordinatorLookupIsRefusedAsFatal) {
  wire_client c(port());
  msg::find_coordinator_request txn;
  txn.key = "tx";
  txn.key_type = 1;
  // librdkafka's versions: the one code it treats as fatal; Java's (flexible v3): a
  // non-retriable code whose ErrorMessage it quotes. Never a retriable one.
  for (int16_t v : {1, 2, 3}) {
    auto resp = call<msg::find_coordinator_response>(c, txn, v);
    EXPECT_EQ(resp.error_code, code(v >= 3 ? error_code::unsupported_version
                                           : error_code::transactional_id_authorization_failed))
        << "v" << v;
    EXPECT_EQ(resp.error_message, "transactions are not supported by edgebridge");
    EXPECT_EQ(resp.node_id, -1);
  }
}

TEST_F(ConsumerTest, ApiVersionsAdvertisesTheConsumerRanges) {
  wire_client c(port());
  auto resp = call<msg::api_versions_response>(c, msg::api_versions_request{}, 3);
  std::map<int16_t, std::pair<int16_t, int16_t>> ranges;
  for (auto& k : resp.api_keys) ranges[k.api_key] = {k.min_version, k.max_version};
  // librdkafka < 2.11 needs these exact versions inside the ranges (docs/PROTOCOL.md).
  const std::map<int16_t, std::pair<int16_t, int16_t>> want = {
      {1, {4, 12}}, {2, {1, 7}},  {10, {0, 3}}, {11, {0, 9}}, {14, {0, 5}},
      {12, {0, 4}}, {13, {0, 5}}, {8, {0, 9}},  {9, {1, 9}},  {23, {0, 4}}};
  for (auto& [key, range] : want) {
    ASSERT_TRUE(ranges.count(key)) << "api " << key;
    EXPECT_EQ(ranges[key], range) << "api " << key;
  }
}

}  // namespace
}  // namespace eb::test

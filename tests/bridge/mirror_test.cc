// The mirror against a real Apache Kafka broker: what the cloud holds is compared record by
// record with what storage holds (content, order, headers, timestamps, provenance).
#include "bridge/mirror/mirror.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <future>
#include <set>
#include <thread>

#include "storage/test_hooks.h"
#include "tests/bridge/mirror_support.h"
#include "tests/support/bounded_wait.h"
#include "tests/support/cloud_kafka.h"

namespace eb::bridge {
namespace {

using namespace std::chrono_literals;
using test::mirrored_record;
using ::testing::HasSubstr;

constexpr net::compression all_codecs[] = {net::compression::none, net::compression::gzip,
                                           net::compression::snappy, net::compression::lz4,
                                           net::compression::zstd};

// Record timestamps near now: old ones would be deleted by retention (edge and cloud) mid-test.
int64_t base_ts() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

const mirror_partition_status* find_partition(const mirror_status& s, const std::string& topic,
                                              int32_t partition) {
  for (auto& p : s.partitions) {
    if (p.topic == topic && p.partition == partition) return &p;
  }
  return nullptr;
}

int count_lines(const test::captured_log& log, const std::string& text) {
  int n = 0;
  for (auto& l : log.lines()) n += l.find(text) != std::string::npos;
  return n;
}

// The cloud must hold exactly the stored records, in order, each once, with provenance.
void expect_cloud_matches(const std::string& bootstrap, const storage::log_store& store,
                          const std::string& site, const std::string& topic,
                          const std::string& target, int32_t partition) {
  auto edge = test::stored_records(store, topic, partition);
  auto cloud = test::cloud_records(bootstrap, target, partition);
  ASSERT_EQ(cloud.size(), edge.size()) << target << "[" << partition << "]";
  for (size_t i = 0; i < edge.size(); ++i) {
    auto expected = test::with_provenance(edge[i], site, topic, partition);
    auto got = cloud[i];
    got.offset = expected.offset;  // cloud offsets are the cloud's own
    ASSERT_EQ(got, expected) << "record " << i << " of " << target << "[" << partition << "]";
  }
}

class MirrorCodecs : public ::testing::TestWithParam<std::string> {};

// Every source codec, through each uplink codec; records appended before and while mirroring.
TEST_P(MirrorCodecs, CloudHoldsEveryRecordOnceInOrderWithProvenance) {
  const std::string bootstrap = test::cloud_bootstrap();
  test::temp_dir dir("mirror-codecs");
  auto store = test::open_store(dir.path());
  ASSERT_TRUE(store);
  const std::string topic = "codecs-" + GetParam() + "-" + test::unique_suffix();
  ASSERT_TRUE(store->create_topic(topic, {.partitions = 2}));
  int64_t ts = base_ts();
  int index = 0;
  auto append_round = [&](int round) {
    for (int32_t p = 0; p < 2; ++p) {
      for (auto codec : all_codecs) {
        test::append_batch(*store, topic, p, codec, ts, test::make_records(round, index, 40, 200));
        index += 40;
        ts += 1000;
      }
    }
  };
  append_round(1);

  const std::string local = "local-" + test::unique_suffix();
  ASSERT_TRUE(store->create_topic(local, {.partitions = 1}));
  test::append_batch(*store, local, 0, net::compression::none, ts, test::make_records(1, 0, 10));

  test::captured_log log;
  auto opts = test::mirror_options_for(bootstrap, "site-a");
  opts.compression = GetParam();
  opts.excluded_topics.insert(local);
  mirror m(opts, *store, log.logger);
  ASSERT_TRUE(m.start());
  append_round(2);  // while the mirror runs
  ASSERT_TRUE(test::wait_until([&] { return test::mirror_caught_up(m, *store); }, 60s));
  append_round(3);
  ASSERT_TRUE(test::wait_until([&] { return test::mirror_caught_up(m, *store); }, 60s));
  auto s = m.status();
  EXPECT_EQ(s.uplink, uplink_state::connected);
  EXPECT_TRUE(s.connected);
  EXPECT_EQ(s.delivered_records, 2u * 3 * 5 * 40);
  m.stop(5s);

  const std::string target = "site-a." + topic;
  EXPECT_EQ(test::cloud_partitions(bootstrap, target), 2);  // created with the source's count
  // The excluded topic stays local; its cursor follows its end so retention applies to it.
  EXPECT_EQ(test::cloud_partitions(bootstrap, "site-a." + local), -1);
  EXPECT_EQ(store->mirror_cursor(local, 0), 10);
  EXPECT_EQ(s.partitions.size(), 2u);
  for (int32_t p = 0; p < 2; ++p) {
    expect_cloud_matches(bootstrap, *store, "site-a", topic, target, p);
    // The confirmed position was persisted on stop.
    EXPECT_EQ(store->mirror_cursor(topic, p), store->offsets(topic, p)->high_watermark);
  }
}

INSTANTIATE_TEST_SUITE_P(Uplink, MirrorCodecs,
                         ::testing::Values("zstd", "lz4", "gzip", "snappy", "none"));

// Stopping with records in flight and starting again neither loses nor duplicates: the new
// mirror resumes after the last record the cloud holds.
TEST(Mirror, RestartsResumeAfterTheCloudsLastRecord) {
  const std::string bootstrap = test::cloud_bootstrap();
  test::temp_dir dir("mirror-restart");
  auto store = test::open_store(dir.path());
  ASSERT_TRUE(store);
  const std::string topic = "restart-" + test::unique_suffix();
  ASSERT_TRUE(store->create_topic(topic, {.partitions = 1}));
  int index = 0;
  for (int b = 0; b < 50; ++b, index += 200) {
    test::append_batch(*store, topic, 0, all_codecs[b % 5], base_ts() + b,
                       test::make_records(1, index, 200, 300));
  }
  auto opts = test::mirror_options_for(bootstrap, "site-r");
  opts.max_inflight_bytes = 256 << 10;  // many rounds of in-flight records
  uint64_t unconfirmed_stops = 0;
  for (int round = 0; round < 4; ++round) {
    mirror m(opts, *store);
    ASSERT_TRUE(m.start());
    // Let some but not all records through, then stop without waiting for confirmations.
    ASSERT_TRUE(test::wait_until([&] { return m.status().delivered_records > 500; }, 30s));
    unconfirmed_stops += m.status().inflight_records > 0;
    m.stop(0ms);
    for (int b = 0; b < 10; ++b, index += 300) {  // ~1 MB more: the next round stops mid-way too
      test::append_batch(*store, topic, 0, all_codecs[b % 5], base_ts() + 100'000 + round,
                         test::make_records(2, index, 300, 300));
    }
  }
  EXPECT_GE(unconfirmed_stops, 2u);
  mirror m(opts, *store);
  ASSERT_TRUE(m.start());
  ASSERT_TRUE(test::wait_until([&] { return test::mirror_caught_up(m, *store); }, 60s));
  m.stop(5s);
  expect_cloud_matches(bootstrap, *store, "site-r", topic, "site-r." + topic, 0);
}

// The cloud partition is shared with another writer: the resume point is found behind its
// records (the tail search widens), so nothing is sent twice.
TEST(Mirror, FindsItsLastRecordBehindOtherWriters) {
  const std::string bootstrap = test::cloud_bootstrap();
  test::temp_dir dir("mirror-shared");
  auto store = test::open_store(dir.path());
  ASSERT_TRUE(store);
  const std::string topic = "shared-" + test::unique_suffix();
  ASSERT_TRUE(store->create_topic(topic, {.partitions = 1}));
  test::append_batch(*store, topic, 0, net::compression::zstd, base_ts(),
                     test::make_records(1, 0, 300));
  auto opts = test::mirror_options_for(bootstrap, "site-s");
  const std::string target = "site-s." + topic;
  {
    mirror m(opts, *store);
    ASSERT_TRUE(m.start());
    ASSERT_TRUE(test::wait_until([&] { return test::mirror_caught_up(m, *store); }, 60s));
    m.stop(5s);
  }
  // Another site writes 1500 records after ours (beyond the first search window of 1000), and
  // our cursor is rewound as if the last commit had been lost.
  {
    mirror_options other = test::mirror_options_for(bootstrap, "site-other");
    test::temp_dir other_dir("mirror-shared-other");
    auto other_store = test::open_store(other_dir.path());
    ASSERT_TRUE(other_store->create_topic(topic, {.partitions = 1}));
    for (int b = 0; b < 15; ++b) {
      test::append_batch(*other_store, topic, 0, net::compression::none, base_ts(),
                         test::make_records(9, b * 100, 100));
    }
    other.topic_overrides[topic] = target;
    mirror m(other, *other_store);
    ASSERT_TRUE(m.start());
    ASSERT_TRUE(test::wait_until([&] { return test::mirror_caught_up(m, *other_store); }, 60s));
    m.stop(5s);
  }
  // Rewind the cursor as if the last commits were lost: only the cloud's tail, found behind the
  // other writer's 1500 records, keeps 100..299 from being sent twice.
  ASSERT_TRUE(store->commit_mirror_cursors({{{topic, 0}, 100}}));
  test::append_batch(*store, topic, 0, net::compression::gzip, base_ts(),
                     test::make_records(1, 300, 50));
  mirror m(opts, *store);
  ASSERT_TRUE(m.start());
  ASSERT_TRUE(test::wait_until([&] { return test::mirror_caught_up(m, *store); }, 60s));
  m.stop(5s);

  auto cloud = test::cloud_records(bootstrap, target, 0);
  std::vector<int64_t> ours;
  for (auto& r : cloud) {
    if (test::header(r, "eb.site") == "site-s")
      ours.push_back(std::stoll(*test::header(r, "eb.offset")));
  }
  std::vector<int64_t> expected(350);
  for (int i = 0; i < 350; ++i) expected[i] = i;
  EXPECT_EQ(ours, expected);
  EXPECT_EQ(cloud.size(), 350u + 1500u);
}

// A record larger than the cloud topic's max.message.bytes in the middle of a stream: the mirror
// knows the limit (DescribeConfigs), so it never sends the record (which would stop librdkafka's
// idempotent producer) and cuts the batches before it to fit the limit, although librdkafka's
// batch.size is the 1 MB default. The partition pauses (the default policy) with the reason in
// its status, and goes on by itself once the topic takes the record. No record is lost,
// duplicated or reordered, and the producer is never rebuilt.
TEST(Mirror, RecordTooLargeForTheCloudPausesItsPartitionUntilTheLimitIsRaised) {
  const std::string bootstrap = test::cloud_bootstrap();
  test::temp_dir dir("mirror-rejected");
  auto store = test::open_store(dir.path());
  ASSERT_TRUE(store);
  const std::string topic = "rejected-" + test::unique_suffix();
  const std::string target = "site-j." + topic;
  ASSERT_TRUE(store->create_topic(topic, {.partitions = 1}));
  test::create_cloud_topic(bootstrap, target, 1, {{"max.message.bytes", "200000"}});
  int index = 0;
  for (int b = 0; b < 40; ++b, index += 100) {
    test::append_batch(*store, topic, 0, net::compression::none, base_ts(),
                       test::make_records(1, index, 100, 150));
  }
  // A record larger than the cloud topic takes, in any batch.
  net::record_input big;
  big.key = "big";
  big.value = std::string(300'000, 'x');
  ASSERT_EQ(test::append_batch(*store, topic, 0, net::compression::none, base_ts(), {big}), 4000);
  ++index;
  for (int b = 0; b < 40; ++b, index += 100) {
    test::append_batch(*store, topic, 0, net::compression::none, base_ts(),
                       test::make_records(1, index, 100, 150));
  }
  test::captured_log log;
  auto opts = test::mirror_options_for(bootstrap, "site-j");
  opts.compression = "none";
  opts.max_inflight_bytes = 1 << 20;  // more than the limit: only the batch budget cuts batches
  mirror m(opts, *store, log.logger);
  ASSERT_TRUE(m.start());
  ASSERT_TRUE(test::wait_until(
      [&] {
        auto s = m.status();
        auto* p = find_partition(s, topic, 0);
        return p && p->state == "blocked" && p->confirmed_offset == 4000;
      },
      60s));
  auto s = m.status();
  EXPECT_EQ(s.resyncs, 0u);
  EXPECT_THAT(find_partition(s, topic, 0)->error,
              HasSubstr("is larger than max.message.bytes 200000 of " + target));
  EXPECT_THAT(s.last_error, HasSubstr("record at offset 4000"));
  EXPECT_EQ(test::cloud_records(bootstrap, target, 0).size(), 4000u);
  test::alter_cloud_topic(bootstrap, target, {{"max.message.bytes", "1000000"}});
  ASSERT_TRUE(test::wait_until([&] { return test::mirror_caught_up(m, *store); }, 60s));
  EXPECT_EQ(m.status().resyncs, 0u);
  m.stop(5s);
  EXPECT_EQ(count_lines(log, "blocked: record at offset 4000"), 1);  // not at every look
  expect_cloud_matches(bootstrap, *store, "site-j", topic, target, 0);
}

// A target topic with fewer partitions than its source is paused with a clear error, never
// remapped; other topics keep flowing.
TEST(Mirror, PausesATargetWithTooFewPartitions) {
  const std::string bootstrap = test::cloud_bootstrap();
  test::temp_dir dir("mirror-few");
  auto store = test::open_store(dir.path());
  ASSERT_TRUE(store);
  const std::string narrow = "narrow-" + test::unique_suffix();
  const std::string fine = "fine-" + test::unique_suffix();
  ASSERT_TRUE(store->create_topic(narrow, {.partitions = 3}));
  ASSERT_TRUE(store->create_topic(fine, {.partitions = 1}));
  test::create_cloud_topic(bootstrap, "site-f." + narrow, 1);
  for (int32_t p = 0; p < 3; ++p) {
    test::append_batch(*store, narrow, p, net::compression::none, base_ts(),
                       test::make_records(1, 0, 10));
  }
  test::append_batch(*store, fine, 0, net::compression::none, base_ts(),
                     test::make_records(1, 0, 10));
  test::captured_log log;
  mirror m(test::mirror_options_for(bootstrap, "site-f"), *store, log.logger);
  ASSERT_TRUE(m.start());
  ASSERT_TRUE(test::wait_until(
      [&] {
        auto s = m.status();
        auto* p = find_partition(s, narrow, 0);
        auto* f = find_partition(s, fine, 0);
        return p && f && p->state == "waiting" && f->confirmed_offset == 10;
      },
      60s));
  auto s = m.status();
  EXPECT_EQ(s.uplink, uplink_state::refusing);
  EXPECT_THAT(find_partition(s, narrow, 0)->error, HasSubstr("has 1 partitions"));
  EXPECT_THAT(s.last_error, HasSubstr("site-f." + narrow));
  EXPECT_TRUE(log.contains("has 1 partitions, the source needs 3"));
  m.stop(1s);
  EXPECT_TRUE(test::cloud_records(bootstrap, "site-f." + narrow, 0).empty());
  EXPECT_EQ(test::cloud_records(bootstrap, "site-f." + fine, 0).size(), 10u);
}

// With the uplink capped, higher-priority topics drain first, then the oldest data.
TEST(Mirror, DrainsHigherPriorityFirstThenOldestData) {
  const std::string bootstrap = test::cloud_bootstrap();
  test::temp_dir dir("mirror-priority");
  auto store = test::open_store(dir.path());
  ASSERT_TRUE(store);
  const std::string sfx = test::unique_suffix();
  const std::string urgent = "urgent-" + sfx, old = "old-" + sfx, young = "young-" + sfx;
  ASSERT_TRUE(store->create_topic(urgent, {.partitions = 1, .priority = 5}));
  ASSERT_TRUE(store->create_topic(old, {.partitions = 1, .priority = 0}));
  ASSERT_TRUE(store->create_topic(young, {.partitions = 1, .priority = 0}));
  // ~300 KB each; the urgent data is the newest, "old" was appended before "young". Age is the
  // bridge's append time: the record timestamps say the opposite, and must not matter.
  for (int b = 0; b < 10; ++b) {
    test::append_batch(*store, old, 0, net::compression::lz4, base_ts() + b,
                       test::make_records(2, b * 100, 100, 300));
  }
  storage::testing::advance_clock(*store, 60s);
  for (int b = 0; b < 10; ++b) {
    test::append_batch(*store, young, 0, net::compression::lz4, base_ts() - 120'000 + b,
                       test::make_records(1, b * 100, 100, 300));
  }
  storage::testing::advance_clock(*store, 60s);
  for (int b = 0; b < 10; ++b) {
    test::append_batch(*store, urgent, 0, net::compression::lz4, base_ts() - 240'000 + b,
                       test::make_records(3, b * 100, 100, 300));
  }
  auto opts = test::mirror_options_for(bootstrap, "site-p");
  opts.bandwidth_bytes_per_sec = 300'000;  // each topic takes about a second
  mirror m(opts, *store);
  ASSERT_TRUE(m.start());
  std::vector<std::string> finished;
  ASSERT_TRUE(test::wait_until(
      [&] {
        auto s = m.status();
        for (auto& p : s.partitions) {
          if (p.confirmed_offset == 1000 &&
              std::find(finished.begin(), finished.end(), p.topic) == finished.end()) {
            finished.push_back(p.topic);
            // When a topic completes, the ones after it have barely started.
            for (auto& q : s.partitions) {
              if (q.topic == young && p.topic != young) {
                EXPECT_LT(q.delivered_records, 500u) << "young while " << p.topic << " finished";
              }
            }
          }
        }
        return finished.size() == 3;
      },
      60s));
  m.stop(5s);
  EXPECT_EQ(finished, (std::vector<std::string>{urgent, old, young}));
}

// librdkafka sends one request per partition at a time and spins while a ready batch waits behind
// it, so the mirror hands it at most two batches per partition, far below max_inflight_bytes, and
// drains partitions side by side: partition 0 holds the older data, yet partition 1 does not wait
// for it to finish.
TEST(Mirror, HandsLibrdkafkaAtMostTwoBatchesPerPartition) {
  const std::string bootstrap = test::cloud_bootstrap();
  test::temp_dir dir("mirror-pipeline");
  auto store = test::open_store(dir.path());
  ASSERT_TRUE(store);
  const std::string topic = "pipeline-" + test::unique_suffix();
  constexpr int partitions = 2, batches = 40, per_batch = 500;  // ~20 MB of ~1 KiB records each
  ASSERT_TRUE(store->create_topic(topic, {.partitions = partitions}));
  for (int32_t partition = 0; partition < partitions; ++partition) {
    for (int b = 0; b < batches; ++b) {
      test::append_batch(*store, topic, partition, net::compression::none,
                         base_ts() - 60'000 * (partitions - partition) + b,
                         test::make_records(4, b * per_batch, per_batch, 1000));
    }
  }
  auto opts = test::mirror_options_for(bootstrap, "site-pipe");
  opts.compression = "none";
  opts.max_inflight_bytes = 16u << 20;       // ~10,000 of these records
  opts.properties["batch.size"] = "100000";  // two batches: ~230 of these records (~860 B each)
  mirror m(opts, *store);
  ASSERT_TRUE(m.start());
  int64_t most_unconfirmed = 0;
  uint64_t most_inflight_bytes = 0;
  int samples_with_both_in_flight = 0;
  ASSERT_TRUE(test::wait_until(
      [&] {
        auto s = m.status();
        int in_flight = 0;
        for (auto& p : s.partitions) {
          if (p.produced_offset >= 0 && p.confirmed_offset >= 0) {
            most_unconfirmed = std::max(most_unconfirmed, p.produced_offset - p.confirmed_offset);
            in_flight += p.produced_offset > p.confirmed_offset;
          }
        }
        samples_with_both_in_flight += in_flight == partitions;
        most_inflight_bytes = std::max(most_inflight_bytes, s.inflight_bytes);
        return test::mirror_caught_up(m, *store);
      },
      120s));
  m.stop(5s);
  EXPECT_GT(most_unconfirmed, 0) << "no sample caught records in flight";
  // Per partition: two batches of 100,000 payload bytes; the accounted bytes add ~60% of
  // per-record overhead.
  EXPECT_LE(most_unconfirmed, 300);
  EXPECT_LE(most_inflight_bytes, partitions * 500'000u);
  EXPECT_GT(samples_with_both_in_flight, 0) << "the partitions drained one after the other";
  for (int32_t partition = 0; partition < partitions; ++partition) {
    EXPECT_EQ(test::cloud_records(bootstrap, "site-pipe." + topic, partition).size(),
              static_cast<size_t>(batches * per_batch));
  }
}

// Nothing listens at the bootstrap address: start() still succeeds, the status says
// disconnected, the error is logged once (not at every reconnect), appends are not held up, and
// stop() returns promptly.
TEST(Mirror, UnreachableCloudIsReportedOnceAndNeverBlocks) {
  test::temp_dir dir("mirror-unreachable");
  auto store = test::open_store(dir.path());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->create_topic("t", {.partitions = 1}));
  // A port that was free a moment ago; nothing listens on it.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);
  test::captured_log log;
  mirror m(test::mirror_options_for("127.0.0.1:" + std::to_string(ntohs(addr.sin_port)), "site-u"),
           *store, log.logger);
  ASSERT_TRUE(m.start());
  ASSERT_TRUE(
      test::wait_until([&] { return m.status().uplink == uplink_state::disconnected; }, 30s));
  for (int i = 0; i < 20; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    test::append_batch(*store, "t", 0, net::compression::lz4, base_ts(),
                       test::make_records(1, i * 50, 50));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
    std::this_thread::sleep_for(150ms);
  }
  // The status lags by up to a probe (1 s) while the cloud is unreachable.
  EXPECT_TRUE(test::wait_until([&] { return m.status().backlog_records == 1000; }, 10s));
  auto s = m.status();
  EXPECT_FALSE(s.connected);
  EXPECT_EQ(s.delivered_records, 0u);
  EXPECT_THAT(s.last_error, HasSubstr(":" + std::to_string(ntohs(addr.sin_port))));
  int mentions = 0;
  for (auto& l : log.lines()) mentions += l.find("cloud unreachable") != std::string::npos;
  EXPECT_EQ(mentions, 1);
  auto t0 = std::chrono::steady_clock::now();
  m.stop(500ms);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(m.status().uplink, uplink_state::stopped);
  EXPECT_EQ(store->mirror_cursor("t", 0), std::nullopt);  // nothing confirmed, nothing claimed
}

// The cloud refuses (no such topic, no auto-creation, creation off): a clear status and log,
// storage keeps taking appends, nothing is lost; once the topic exists the backlog flows.
TEST(Mirror, RefusingCloudLosesNothingAndFlowsOnceTheTopicExists) {
  test::temp_dir broker_dir("mirror-refusing-broker");
  test::kafka_broker broker(broker_dir.path() / "kafka", "--auto-create=false");
  test::temp_dir dir("mirror-refusing");
  auto store = test::open_store(dir.path());
  ASSERT_TRUE(store);
  const std::string topic = "refused-" + test::unique_suffix();
  ASSERT_TRUE(store->create_topic(topic, {.partitions = 2}));
  for (int32_t p = 0; p < 2; ++p) {
    test::append_batch(*store, topic, p, net::compression::snappy, base_ts(),
                       test::make_records(1, 0, 100));
  }
  test::captured_log log;
  auto opts = test::mirror_options_for(broker.bootstrap(), "site-x");
  opts.create_target_topics = false;
  mirror m(opts, *store, log.logger);
  ASSERT_TRUE(m.start());
  ASSERT_TRUE(test::wait_until([&] { return m.status().uplink == uplink_state::refusing; }, 60s));
  // Appends are not held up while the cloud refuses.
  for (int i = 0; i < 20; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    test::append_batch(*store, topic, i % 2, net::compression::zstd, base_ts() + 1000 + i,
                       test::make_records(2, i * 10, 10));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  }
  std::this_thread::sleep_for(1500ms);  // several retries
  auto s = m.status();
  EXPECT_EQ(s.uplink, uplink_state::refusing);
  EXPECT_EQ(s.delivered_records, 0u);
  auto* p0 = find_partition(s, topic, 0);
  ASSERT_NE(p0, nullptr);
  EXPECT_EQ(p0->state, "waiting");
  EXPECT_THAT(p0->error, HasSubstr("does not exist"));
  EXPECT_EQ(p0->backlog_records, 200);
  // Logged once per state change, not at every retry.
  int mentions = 0;
  for (auto& l : log.lines()) mentions += l.find("does not exist") != std::string::npos;
  EXPECT_EQ(mentions, 1);
  EXPECT_EQ(test::cloud_partitions(broker.bootstrap(), "site-x." + topic), -1);

  test::create_cloud_topic(broker.bootstrap(), "site-x." + topic, 2);
  ASSERT_TRUE(test::wait_until([&] { return test::mirror_caught_up(m, *store); }, 60s));
  EXPECT_EQ(m.status().uplink, uplink_state::connected);
  m.stop(5s);
  for (int32_t p = 0; p < 2; ++p) {
    expect_cloud_matches(broker.bootstrap(), *store, "site-x", topic, "site-x." + topic, p);
  }
}

// Data storage dropped under its quota before it was mirrored is reported, one JSON record per
// gap, in the gaps topic; the rest is mirrored from the new log start.
TEST(Mirror, ReportsStorageGapsInTheGapsTopic) {
  const std::string bootstrap = test::cloud_bootstrap();
  test::temp_dir dir("mirror-gaps");
  storage::options so;
  so.max_disk_bytes = 512 << 10;
  so.on_quota = storage::quota_policy::drop_oldest;
  so.segment_bytes = 32 << 10;
  auto store = test::open_store(dir.path(), so);
  ASSERT_TRUE(store);
  const std::string site = "site-g" + test::unique_suffix();
  const std::string topic = "gappy";
  ASSERT_TRUE(store->create_topic(topic, {.partitions = 1}));
  // ~1.5 MiB of incompressible-ish data into a 512 KiB quota: the oldest segments go.
  for (int b = 0; b < 150; ++b) {
    test::append_batch(*store, topic, 0, net::compression::none, base_ts() + b,
                       test::make_records(1, b * 10, 10, 1000));
  }
  auto gaps = store->gaps_after(0);
  ASSERT_FALSE(gaps.empty()) << "storage dropped nothing; the quota settings need a look";
  auto log_start = store->offsets(topic, 0)->log_start;
  ASSERT_GT(log_start, 0);

  mirror m(test::mirror_options_for(bootstrap, site), *store);
  ASSERT_TRUE(m.start());
  ASSERT_TRUE(test::wait_until(
      [&] {
        return test::mirror_caught_up(m, *store) && store->last_reported_gap() == gaps.back().id;
      },
      60s));
  EXPECT_EQ(m.status().gaps_reported, gaps.back().id);
  m.stop(5s);

  auto reports = test::cloud_records(bootstrap, site + ".edgebridge.gaps", 0);
  ASSERT_EQ(reports.size(), gaps.size());
  for (size_t i = 0; i < gaps.size(); ++i) {
    auto& g = gaps[i];
    ASSERT_TRUE(reports[i].value);
    const std::string& json = *reports[i].value;
    EXPECT_THAT(json, HasSubstr("\"site\":\"" + site + "\""));
    EXPECT_THAT(json, HasSubstr("\"topic\":\"gappy\""));
    EXPECT_THAT(json, HasSubstr("\"partition\":0"));
    EXPECT_THAT(json, HasSubstr("\"first_offset\":" + std::to_string(g.first_offset)));
    EXPECT_THAT(json, HasSubstr("\"last_offset\":" + std::to_string(g.last_offset)));
    EXPECT_THAT(json, HasSubstr("\"reason\":\""));
    EXPECT_THAT(json, HasSubstr("\"gap_id\":" + std::to_string(g.id)));
    EXPECT_EQ(test::header(reports[i], "eb.gap_id"), std::to_string(g.id));
    EXPECT_EQ(test::header(reports[i], "eb.site"), site);
  }
  // The gaps cover everything below the log start; what remains was mirrored.
  EXPECT_EQ(gaps.front().first_offset, 0);
  EXPECT_EQ(gaps.back().last_offset + 1, log_start);
  auto cloud = test::cloud_records(bootstrap, site + ".gappy", 0);
  ASSERT_FALSE(cloud.empty());
  EXPECT_EQ(test::header(cloud.front(), "eb.offset"), std::to_string(log_start));

  // A second mirror does not report them again.
  mirror again(test::mirror_options_for(bootstrap, site), *store);
  ASSERT_TRUE(again.start());
  std::this_thread::sleep_for(1500ms);
  again.stop(5s);
  EXPECT_EQ(test::cloud_records(bootstrap, site + ".edgebridge.gaps", 0).size(), gaps.size());
}

// Appends a batch whose bytes do not decode (a record byte flipped, so its CRC fails) straight
// through storage, as data stored before produce validated batches would be. Returns its base
// offset.
int64_t append_undecodable(storage::log_store& store, const std::string& topic, int32_t partition,
                           int count) {
  net::batch_builder_input in;
  in.base_timestamp = base_ts();
  in.records = test::make_records(7, 0, count);
  std::string batch = net::encode_batch(in);
  batch[batch.size() - 1] ^= 0x5a;
  return test::append_stored(store, {.topic = topic,
                                     .partition = partition,
                                     .batch = std::move(batch),
                                     .record_count = count,
                                     .max_timestamp = in.base_timestamp});
}

// What the refusal tests store: topic `big` (a record at offset 20 larger than its cloud topic's
// max.message.bytes of 2000), topic `bad` (an undecodable batch at offsets 10..14) and 10,000
// records in the healthy topic `healthy`.
struct refusal_scenario {
  std::string big = "big-" + test::unique_suffix();
  std::string bad = "bad-" + test::unique_suffix();
  std::string healthy = "healthy-" + test::unique_suffix();

  void store(storage::log_store& store, const std::string& bootstrap, const std::string& site,
             bool records_after_big) {
    for (auto& t : {big, bad, healthy}) ASSERT_TRUE(store.create_topic(t, {.partitions = 1}));
    test::create_cloud_topic(bootstrap, site + "." + big, 1, {{"max.message.bytes", "2000"}});
    // 20 records in one stored batch: more than 2000 bytes together, so they only fit the cloud
    // topic cut into smaller uplink batches.
    test::append_batch(store, big, 0, net::compression::lz4, base_ts(),
                       test::make_records(1, 0, 20, 120));
    net::record_input large;
    large.key = "large";
    large.value = std::string(3000, 'x');
    ASSERT_EQ(test::append_batch(store, big, 0, net::compression::none, base_ts(), {large}), 20);
    if (records_after_big) {
      test::append_batch(store, big, 0, net::compression::none, base_ts(),
                         test::make_records(1, 21, 20, 120));
    }
    test::append_batch(store, bad, 0, net::compression::none, base_ts(),
                       test::make_records(2, 0, 10));
    ASSERT_EQ(append_undecodable(store, bad, 0, 5), 10);
    test::append_batch(store, bad, 0, net::compression::none, base_ts(),
                       test::make_records(2, 15, 10));
    for (int b = 0; b < 10; ++b) {
      test::append_batch(store, healthy, 0, net::compression::zstd, base_ts(),
                         test::make_records(3, b * 1000, 1000, 100));
    }
  }
};

std::vector<int64_t> cloud_source_offsets(const std::string& bootstrap, const std::string& target) {
  std::vector<int64_t> out;
  for (auto& r : test::cloud_records(bootstrap, target, 0)) {
    out.push_back(std::stoll(test::header(r, "eb.offset").value_or("-1")));
  }
  return out;
}

std::vector<int64_t> offsets_except(int64_t end, int64_t skip_first, int64_t skip_last) {
  std::vector<int64_t> out;
  for (int64_t o = 0; o < end; ++o) {
    if (o < skip_first || o > skip_last) out.push_back(o);
  }
  return out;
}

// A record the cloud topic's max.message.bytes refuses and an undecodable stored batch block
// their own partitions only (policy `pause`, the default): the mirror learns the limit and never
// sends the record, so the producer is never rebuilt, the healthy topic drains at its pace, and
// the smaller records before the big one reach the cloud in batches cut to the limit. Raising the
// cloud limit lets the paused partition go on.
TEST(Mirror, RefusedRecordAndUndecodableBatchBlockOnlyTheirPartitions) {
  const std::string bootstrap = test::cloud_bootstrap();
  test::temp_dir dir("mirror-refused");
  auto store = test::open_store(dir.path());
  ASSERT_TRUE(store);
  const std::string site = "site-rf" + test::unique_suffix();
  refusal_scenario sc;
  sc.store(*store, bootstrap, site, true);
  if (HasFatalFailure()) return;

  test::captured_log log;
  mirror m(test::mirror_options_for(bootstrap, site), *store, log.logger);
  auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(m.start());
  ASSERT_TRUE(test::wait_until(
      [&] {
        auto s = m.status();
        auto* h = find_partition(s, sc.healthy, 0);
        return h && h->confirmed_offset == 10'000;
      },
      60s));
  auto healthy_took = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(test::wait_until(
      [&] {
        auto s = m.status();
        auto* b = find_partition(s, sc.big, 0);
        auto* u = find_partition(s, sc.bad, 0);
        return b && u && b->state == "blocked" && u->state == "blocked" &&
               b->confirmed_offset == 20 && u->confirmed_offset == 10;
      },
      30s));
  // The issue this guards: the healthy topic was not mirrored 15 s later.
  EXPECT_LT(healthy_took, 15s);
  std::printf("measured: 10,000 healthy records confirmed %lld ms after start\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(healthy_took).count()));
  auto s = m.status();
  EXPECT_EQ(s.resyncs, 0u);  // no refusal reached librdkafka, so its producer never stopped
  EXPECT_THAT(find_partition(s, sc.big, 0)->error,
              HasSubstr("record at offset 20 (up to 3"));  // its estimated size in a batch
  EXPECT_THAT(find_partition(s, sc.big, 0)->error, HasSubstr("max.message.bytes 2000"));
  EXPECT_THAT(find_partition(s, sc.bad, 0)->error, HasSubstr("undecodable batch at offset 10"));
  EXPECT_EQ(find_partition(s, sc.healthy, 0)->state, "caught-up");
  expect_cloud_matches(bootstrap, *store, site, sc.healthy, site + "." + sc.healthy, 0);
  EXPECT_EQ(cloud_source_offsets(bootstrap, site + "." + sc.big), offsets_except(20, 20, 20));
  EXPECT_EQ(cloud_source_offsets(bootstrap, site + "." + sc.bad), offsets_except(10, 10, 10));

  // The operator raises the cloud limit: the paused partition looks again and goes on.
  test::alter_cloud_topic(bootstrap, site + "." + sc.big, {{"max.message.bytes", "1000000"}});
  ASSERT_TRUE(test::wait_until(
      [&] {
        auto st = m.status();
        return find_partition(st, sc.big, 0)->confirmed_offset == 41;
      },
      60s));
  s = m.status();
  EXPECT_EQ(find_partition(s, sc.bad, 0)->state, "blocked");
  EXPECT_EQ(s.resyncs, 0u);
  m.stop(5s);
  expect_cloud_matches(bootstrap, *store, site, sc.big, site + "." + sc.big, 0);
  // Each blocked partition was logged once, however often it was looked at again.
  EXPECT_EQ(count_lines(log, "[0] blocked: undecodable batch at offset 10"), 1);
  EXPECT_EQ(count_lines(log, "[0] blocked: record at offset 20"), 1);
}

// Under `skip` the refused record and the undecodable batch are reported on the gaps topic with
// their reason and offsets and mirroring goes on after them. A restart that resumes before the
// skipped record (the cloud's tail ends just before it) skips it again without a second report,
// and everything else is in the cloud once, in order.
TEST(Mirror, SkipPolicyReportsTheRefusedRangeAsAGapAndGoesOn) {
  const std::string bootstrap = test::cloud_bootstrap();
  test::temp_dir dir("mirror-skip");
  auto store = test::open_store(dir.path());
  ASSERT_TRUE(store);
  const std::string site = "site-sk" + test::unique_suffix();
  refusal_scenario sc;
  sc.store(*store, bootstrap, site, false);  // the big record is the partition's last, for now
  if (HasFatalFailure()) return;
  auto opts = test::mirror_options_for(bootstrap, site);
  opts.topic_on_refusal[sc.big] = refusal_policy::skip;
  opts.topic_on_refusal[sc.bad] = refusal_policy::skip;
  {
    mirror m(opts, *store);
    ASSERT_TRUE(m.start());
    ASSERT_TRUE(test::wait_until(
        [&] { return test::mirror_caught_up(m, *store) && store->last_reported_gap() == 2; }, 60s));
    EXPECT_EQ(m.status().resyncs, 0u);
    m.stop(5s);
  }
  test::append_batch(*store, sc.big, 0, net::compression::none, base_ts(),
                     test::make_records(1, 21, 20, 120));
  {
    test::captured_log log;
    mirror m(opts, *store, log.logger);
    ASSERT_TRUE(m.start());
    ASSERT_TRUE(test::wait_until([&] { return test::mirror_caught_up(m, *store); }, 60s));
    m.stop(5s);
    // The cloud ends just before the skipped record: that is not a loss to warn about.
    EXPECT_EQ(count_lines(log, "but confirmed up to"), 0);
  }
  EXPECT_EQ(cloud_source_offsets(bootstrap, site + "." + sc.big), offsets_except(41, 20, 20));
  EXPECT_EQ(cloud_source_offsets(bootstrap, site + "." + sc.bad), offsets_except(25, 10, 14));
  expect_cloud_matches(bootstrap, *store, site, sc.healthy, site + "." + sc.healthy, 0);

  auto gaps = store->gaps_after(0);
  ASSERT_EQ(gaps.size(), 2u);  // not recorded again by the second mirror
  auto reports = test::cloud_records(bootstrap, site + ".edgebridge.gaps", 0);
  ASSERT_EQ(reports.size(), 2u);
  for (auto& r : reports) ASSERT_TRUE(r.value);
  std::string big_json, bad_json;
  for (auto& r : reports) {
    (r.value->find("\"topic\":\"" + sc.big + "\"") != std::string::npos ? big_json : bad_json) =
        *r.value;
  }
  EXPECT_THAT(big_json, HasSubstr("\"first_offset\":20,\"last_offset\":20"));
  EXPECT_THAT(big_json,
              HasSubstr("is larger than max.message.bytes 2000 of " + site + "." + sc.big));
  EXPECT_THAT(bad_json, HasSubstr("\"topic\":\"" + sc.bad + "\""));
  EXPECT_THAT(bad_json, HasSubstr("\"first_offset\":10,\"last_offset\":14"));
  EXPECT_THAT(bad_json, HasSubstr("undecodable batch at offset 10"));
}

// A refusal only the broker can tell (a compacted cloud topic refuses a record without a key:
// INVALID_RECORD) stops librdkafka's idempotent producer for every partition. The partition is
// blocked before the resync, so the next producer does not get the batch again; the batch is then
// sent one record per request to find the refused record, which `skip` reports as a gap, and
// `pause` keeps waiting on with a per-partition backoff: a bounded number of rebuilds, and the
// healthy topic is mirrored in full.
TEST(Mirror, RefusalLearnedFromTheBrokerIsNarrowedToItsRecord) {
  const std::string bootstrap = test::cloud_bootstrap();
  test::temp_dir dir("mirror-broker-refusal");
  auto store = test::open_store(dir.path());
  ASSERT_TRUE(store);
  const std::string site = "site-br" + test::unique_suffix();
  const std::string skipping = "compact-skip-" + test::unique_suffix();
  const std::string pausing = "compact-pause-" + test::unique_suffix();
  const std::string healthy = "healthy-" + test::unique_suffix();
  for (auto& t : {skipping, pausing, healthy}) {
    ASSERT_TRUE(store->create_topic(t, {.partitions = 1}));
  }
  for (auto& t : {skipping, pausing}) {
    test::create_cloud_topic(bootstrap, site + "." + t, 1, {{"cleanup.policy", "compact"}});
    std::vector<net::record_input> records;
    for (int i = 0; i < 40; ++i) {
      net::record_input r;
      r.timestamp_delta = i;
      if (i != 30) r.key = "k" + std::to_string(i);  // the compacted topic refuses offset 30
      r.value = "v" + std::to_string(i);
      records.push_back(std::move(r));
    }
    test::append_batch(*store, t, 0, net::compression::none, base_ts(), std::move(records));
  }
  for (int b = 0; b < 10; ++b) {
    test::append_batch(*store, healthy, 0, net::compression::zstd, base_ts(),
                       test::make_records(3, b * 1000, 1000, 100));
  }
  auto opts = test::mirror_options_for(bootstrap, site);
  opts.topic_on_refusal[skipping] = refusal_policy::skip;
  test::captured_log log;
  mirror m(opts, *store, log.logger);
  auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(m.start());
  ASSERT_TRUE(test::wait_until(
      [&] {
        auto s = m.status();
        auto* h = find_partition(s, healthy, 0);
        auto* sk = find_partition(s, skipping, 0);
        auto* pa = find_partition(s, pausing, 0);
        return h && sk && pa && h->confirmed_offset == 10'000 && sk->confirmed_offset == 40 &&
               pa->state == "blocked" &&
               pa->error.find("the record at offset 30") != std::string::npos;
      },
      60s));
  auto elapsed = std::chrono::steady_clock::now() - started;
  auto s = m.status();
  EXPECT_EQ(find_partition(s, pausing, 0)->confirmed_offset, 30);
  EXPECT_THAT(find_partition(s, pausing, 0)->error, HasSubstr("INVALID_RECORD"));
  // Per refusal: one rebuild for the batch, one for the record alone; then the paused one is
  // retried after 1 s, 2 s, 4 s ... (retry_backoff_max of the test options), never in a loop.
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(elapsed).count();
  EXPECT_LE(s.resyncs, 4u + static_cast<uint64_t>(seconds));
  std::printf("measured: %llu producer rebuilds in %lld ms\n",
              static_cast<unsigned long long>(s.resyncs),
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()));
  // The paused record is tried again alone after 1 s, then 2 s (the test's retry_backoff_max):
  // not two more rebuilds within 1.5 s, where a rebuild loop makes several a second.
  uint64_t before = s.resyncs;
  EXPECT_FALSE(test::wait_until([&] { return m.status().resyncs >= before + 2; }, 1500ms));
  m.stop(5s);
  expect_cloud_matches(bootstrap, *store, site, healthy, site + "." + healthy, 0);
  EXPECT_EQ(cloud_source_offsets(bootstrap, site + "." + skipping), offsets_except(40, 30, 30));
  EXPECT_EQ(cloud_source_offsets(bootstrap, site + "." + pausing), offsets_except(30, 30, 30));
  auto gaps = store->gaps_after(0);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].topic, skipping);
  EXPECT_EQ(gaps[0].first_offset, 30);
  EXPECT_EQ(gaps[0].last_offset, 30);
  EXPECT_THAT(gaps[0].reason, HasSubstr("INVALID_RECORD"));
}

}  // namespace
}  // namespace eb::bridge

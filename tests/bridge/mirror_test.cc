// The mirror against a real Apache Kafka broker: what the cloud holds is compared record by
// record with what storage holds (content, order, headers, timestamps, provenance).
#include "tests/bridge/mirror_test_util.h"

namespace eb::bridge {
namespace {

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

// A target topic with fewer partitions than its source (the edge topic grew, CreatePartitions)
// is grown to match, never remapped: partition p still goes to cloud partition p.
TEST(Mirror, GrowsATargetWithTooFewPartitions) {
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
                       test::make_records(1 + p, 0, 10));
  }
  test::append_batch(*store, fine, 0, net::compression::none, base_ts(),
                     test::make_records(1, 0, 10));
  test::captured_log log;
  mirror m(test::mirror_options_for(bootstrap, "site-f"), *store, log.logger);
  ASSERT_TRUE(m.start());
  ASSERT_TRUE(test::wait_until(
      [&] {
        auto s = m.status();
        for (int32_t p = 0; p < 3; ++p) {
          auto* n = find_partition(s, narrow, p);
          if (!n || n->confirmed_offset != 10) return false;
        }
        auto* f = find_partition(s, fine, 0);
        return f && f->confirmed_offset == 10;
      },
      60s));
  EXPECT_TRUE(log.contains("grown from 1 to 3 partitions"));
  m.stop(1s);
  for (int32_t p = 0; p < 3; ++p) {
    expect_cloud_matches(bootstrap, *store, "site-f", narrow, "site-f." + narrow, p);
  }
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
TEST(Mirror, HandsLibrdkafkaAtMostFiveBatchesPerPartition) {
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
  opts.properties["batch.size"] = "100000";  // five batches: ~580 of these records (~860 B each)
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
  // Per partition: five batches of 100,000 payload bytes (the requests the producer may have in
  // flight); the accounted bytes add ~60% of per-record overhead.
  EXPECT_LE(most_unconfirmed, 700);
  EXPECT_LE(most_inflight_bytes, partitions * 1'250'000u);
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

}  // namespace
}  // namespace eb::bridge

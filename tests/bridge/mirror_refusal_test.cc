// Records the cloud refuses and stored batches that do not decode, against a real broker: only
// their partition waits (pause) or is skipped as a gap (skip).
#include "tests/bridge/mirror_test_util.h"

namespace eb::bridge {
namespace {

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

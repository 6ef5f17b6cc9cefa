// Unit tests of retention and the disk quota, on a real RocksDB in a temporary directory.
#include "tests/storage/log_store_fixture.h"

namespace eb::storage {
namespace {

using namespace test_fixture;

class storage_retention : public storage_log_store {
 protected:
  options opts() const {
    auto o = storage_log_store::opts();
    o.segment_bytes = 4096;
    o.retention_check_interval = std::chrono::milliseconds(30);
    return o;
  }
  // ~1 KiB batches: four per segment.
  static append_request kb(const std::string& topic, int32_t part, int64_t ts, char c = 'k') {
    batch_spec b = payload(std::string(1000, c));
    b.timestamp = ts;
    return make_request(topic, part, b);
  }
};

TEST_F(storage_retention, deletes_expired_segments_only_below_the_mirror_cursor) {
  auto s = open(opts());
  ASSERT_TRUE(s->create_topic("t", {.retention_ms = 60'000}));
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(append_one(*s, kb("t", 0, test::wall_ms())));
  // The next batches are appended an hour after the first (by the store's clock).
  testing::advance_clock(*s, std::chrono::hours(1));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(append_one(*s, kb("t", 0, test::wall_ms())));
  // No cursor: nothing was mirrored, nothing goes.
  ASSERT_TRUE(testing::wait_retention_passes(*s, 2, std::chrono::seconds(10)));
  EXPECT_EQ(s->offsets("t", 0)->log_start, 0);
  const auto before = s->current_usage();
  EXPECT_GT(before.log_bytes, 16'000u);
  EXPECT_EQ(before.unmirrored_bytes, before.log_bytes);

  // Mirrored up to offset 6: only the first segment [0, 4) lies wholly below.
  ASSERT_TRUE(s->commit_mirror_cursors({{{"t", 0}, 6}}));
  ASSERT_TRUE(test::eventually([&] { return s->offsets("t", 0)->log_start == 4; }));
  ASSERT_TRUE(testing::wait_retention_passes(*s, 2, std::chrono::seconds(10)));
  EXPECT_EQ(s->offsets("t", 0)->log_start, 4);
  EXPECT_EQ(s->read("t", 0, 3, 100).error(), errc::offset_out_of_range);
  auto r = s->read("t", 0, 4, 100);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->front().base_offset, 4);

  // Everything mirrored: the old segments go, the fresh one stays.
  ASSERT_TRUE(s->commit_mirror_cursors({{{"t", 0}, 16}}));
  ASSERT_TRUE(test::eventually([&] { return s->offsets("t", 0)->log_start == 12; }));
  ASSERT_TRUE(testing::wait_retention_passes(*s, 2, std::chrono::seconds(10)));
  EXPECT_EQ(s->offsets("t", 0)->log_start, 12);
  EXPECT_EQ(s->offsets("t", 0)->high_watermark, 16);
  const auto after = s->current_usage();
  EXPECT_LT(after.log_bytes, 4'500u);
  EXPECT_EQ(after.unmirrored_bytes, 0u);
  s.reset();

  auto again = open(opts());
  ASSERT_TRUE(testing::check_log_ends(*again));
  EXPECT_EQ(again->offsets("t", 0)->log_start, 12);
  EXPECT_EQ(again->offsets("t", 0)->high_watermark, 16);
  EXPECT_EQ(again->current_usage().log_bytes, after.log_bytes);
  ASSERT_EQ(again->read("t", 0, 12, 1 << 20)->size(), 4u);
}

TEST_F(storage_retention, without_a_mirror_retention_deletes_and_records_every_gap) {
  auto o = opts();
  o.unmirrored = unmirrored_retention::delete_and_record;
  auto s = open(o);
  ASSERT_TRUE(s->create_topic("t", {.retention_ms = 60'000}));
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(append_one(*s, kb("t", 0, test::wall_ms())));
  // Appended an hour later (by the store's clock): only the first 8 batches are expired.
  testing::advance_clock(*s, std::chrono::hours(1));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(append_one(*s, kb("t", 0, test::wall_ms())));
  // Nothing was ever mirrored, yet expired segments go, and every deleted offset is a gap.
  ASSERT_TRUE(test::eventually([&] { return s->offsets("t", 0)->log_start == 8; }));
  ASSERT_TRUE(testing::wait_retention_passes(*s, 2, std::chrono::seconds(10)));
  EXPECT_EQ(s->offsets("t", 0)->log_start, 8);
  EXPECT_EQ(s->offsets("t", 0)->high_watermark, 12);
  auto fresh = s->read("t", 0, 8, 1 << 20);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->back().last_offset, 11);
  auto gaps = s->gaps_after(0);
  ASSERT_FALSE(gaps.empty());
  int64_t next = 0;
  for (const auto& g : gaps) {
    EXPECT_EQ(g.topic, "t");
    EXPECT_EQ(g.reason, "retention (no mirror)");
    EXPECT_EQ(g.first_offset, next);
    next = g.last_offset + 1;
  }
  EXPECT_EQ(next, 8);
  EXPECT_EQ(s->current_usage().dropped_records, 8u);

  // Mirrored data is no gap: with a cursor at 10, deleting up to 12 records only [10, 11].
  ASSERT_TRUE(s->commit_mirror_cursors({{{"t", 0}, 10}}));
  testing::advance_clock(*s, std::chrono::hours(1));
  ASSERT_TRUE(test::eventually([&] { return s->offsets("t", 0)->log_start == 12; }));
  gaps = s->gaps_after(gaps.back().id);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].first_offset, 10);
  EXPECT_EQ(gaps[0].last_offset, 11);
  EXPECT_EQ(s->current_usage().dropped_records, 10u);
  s.reset();
  EXPECT_EQ(open(o)->current_usage().dropped_records, 10u);
}

TEST_F(storage_retention, without_a_mirror_the_ledger_keeps_the_newest_gaps) {
  // Nobody reports these gaps: the ledger must still be bounded. One pass over 1100 partitions
  // records 1100 gaps; the newest 1024 stay.
  auto o = opts();
  o.unmirrored = unmirrored_retention::delete_and_record;
  auto s = open(o);
  constexpr int partitions = 1100;
  ASSERT_TRUE(s->create_topic("wide", {.partitions = partitions, .retention_ms = 60'000}));
  std::vector<append_request> reqs;
  for (int p = 0; p < partitions; ++p) reqs.push_back(kb("wide", p, test::wall_ms()));
  for (auto& r : append_sync(*s, std::move(reqs))) ASSERT_TRUE(r);
  testing::advance_clock(*s, std::chrono::hours(1));
  ASSERT_TRUE(test::eventually([&] { return s->current_usage().dropped_records == partitions; }));
  auto gaps = s->gaps_after(0);
  ASSERT_EQ(gaps.size(), 1024u);
  EXPECT_EQ(gaps.front().id, uint64_t(partitions - 1024 + 1));
  EXPECT_TRUE(s->gaps_after(gaps.back().id).empty());
}

TEST_F(storage_retention, a_configured_mirror_holds_unmirrored_data_whatever_its_age) {
  // The default rule (hold): a mirror that is disabled or paused commits no cursor, and retention
  // waits for it like for a slow one.
  auto s = open(opts());
  ASSERT_TRUE(s->create_topic("t", {.retention_ms = 0}));
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(append_one(*s, kb("t", 0, test::wall_ms())));
  testing::advance_clock(*s, std::chrono::hours(24 * 365));
  ASSERT_TRUE(testing::wait_retention_passes(*s, 2, std::chrono::seconds(10)));
  EXPECT_EQ(s->offsets("t", 0)->log_start, 0);
  EXPECT_TRUE(s->gaps_after(0).empty());
  EXPECT_EQ(s->current_usage().dropped_records, 0u);
  ASSERT_TRUE(s->commit_mirror_cursors({{{"t", 0}, 4}}));
  ASSERT_TRUE(test::eventually([&] { return s->offsets("t", 0)->log_start == 4; }));
  ASSERT_TRUE(testing::wait_retention_passes(*s, 2, std::chrono::seconds(10)));
  EXPECT_EQ(s->offsets("t", 0)->log_start, 4);
  EXPECT_TRUE(s->gaps_after(0).empty());
}

TEST_F(storage_retention, ages_are_append_times_not_producer_timestamps) {
  auto s = open(opts());
  ASSERT_TRUE(s->create_topic("past", {.retention_ms = 60'000}));
  ASSERT_TRUE(s->create_topic("future", {.retention_ms = 60'000}));
  const int64_t y1970 = 1000;
  const int64_t y2099 = 4'070'908'800'000;
  const int64_t before = test::wall_ms();
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(append_one(*s, kb("past", 0, y1970)));
    ASSERT_TRUE(append_one(*s, kb("future", 0, y2099)));
  }
  const int64_t after = test::wall_ms();
  ASSERT_TRUE(s->commit_mirror_cursors({{{"past", 0}, 8}, {{"future", 0}, 8}}));
  // Mirrored, and 1970 by their timestamps, but appended just now: kept.
  ASSERT_TRUE(testing::wait_retention_passes(*s, 2, std::chrono::seconds(10)));
  EXPECT_EQ(s->offsets("past", 0)->log_start, 0);
  EXPECT_EQ(s->offsets("future", 0)->log_start, 0);
  // Readers get the append time, not the producer's clock.
  auto r = s->read("past", 0, 0, 1 << 20);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 8u);
  for (const auto& b : *r) {
    EXPECT_EQ(b.max_timestamp, y1970);
    EXPECT_GE(b.append_time_ms, before);
    EXPECT_LE(b.append_time_ms, after);
  }
  // Once their append time is older than retention, both go: 2099 timestamps or not.
  testing::advance_clock(*s, std::chrono::minutes(2));
  ASSERT_TRUE(test::eventually([&] {
    return s->offsets("past", 0)->log_start == 8 && s->offsets("future", 0)->log_start == 8;
  }));
  s.reset();
  auto again = open(opts());
  EXPECT_EQ(again->offsets("future", 0)->log_start, 8);
}

TEST_F(storage_retention, retention_bytes_keeps_at_least_the_limit) {
  auto s = open(opts());
  ASSERT_TRUE(s->create_topic("t", {.retention_ms = -1, .retention_bytes = 5000}));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(append_one(*s, kb("t", 0, test::wall_ms())));
  ASSERT_TRUE(s->commit_mirror_cursors({{{"t", 0}, 20}}));
  // 5 segments of 4 batches (~4.3 KB each); keeping >= 5000 bytes keeps two.
  ASSERT_TRUE(test::eventually([&] { return s->offsets("t", 0)->log_start == 12; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(s->offsets("t", 0)->log_start, 12);
  EXPECT_GE(s->current_usage().log_bytes, 5000u);
}

TEST_F(storage_retention, a_fully_expired_partition_keeps_its_offsets) {
  auto s = open(opts());
  ASSERT_TRUE(s->create_topic("t", {.retention_ms = 1000}));
  const int64_t old_ts = test::wall_ms() - 3'600'000;
  const int64_t pid = *s->allocate_producer_id();
  for (int i = 0; i < 3; ++i) {
    auto b = idem(pid, 0, i);
    b.timestamp = old_ts;
    ASSERT_TRUE(append_one(*s, make_request("t", 0, b)));
  }
  ASSERT_TRUE(s->commit_mirror_cursors({{{"t", 0}, 3}}));
  testing::advance_clock(*s, std::chrono::seconds(2));
  ASSERT_TRUE(test::eventually([&] { return s->offsets("t", 0)->log_start == 3; }));
  EXPECT_TRUE(s->read("t", 0, 3, 100)->empty());
  s.reset();
  s = open(opts());
  ASSERT_TRUE(testing::check_log_ends(*s));
  EXPECT_EQ(s->offsets("t", 0)->log_start, 3);
  EXPECT_EQ(s->offsets("t", 0)->high_watermark, 3);
  // The producer's state went with its batches (Kafka would accept any sequence here; we ask
  // the client to restart at 0, see producer_state.h).
  EXPECT_EQ(append_one(*s, make_request("t", 0, idem(pid, 0, 3))).error(),
            errc::unknown_producer_id);
  auto restarted = append_one(*s, make_request("t", 0, idem(pid, 1, 0)));
  ASSERT_TRUE(restarted);
  EXPECT_EQ(restarted->base_offset, 3);
}

TEST_F(storage_retention, quota_reject_fails_appends_until_the_mirror_frees_space) {
  auto o = opts();
  o.max_disk_bytes = 40'000;
  o.on_quota = quota_policy::reject;
  auto s = open(o);
  ASSERT_TRUE(s->create_topic("t", {.retention_ms = -1}));
  int stored = 0;
  std::error_code last;
  for (int i = 0; i < 100; ++i) {
    auto r = append_one(*s, kb("t", 0, test::wall_ms()));
    if (!r) {
      last = r.error();
      break;
    }
    ++stored;
  }
  EXPECT_EQ(last, errc::disk_full);
  EXPECT_EQ(stored, 40'000 / 1077);  // 61 + 1000 + 16-byte key per batch
  EXPECT_LE(s->current_usage().log_bytes, 40'000u);
  EXPECT_EQ(append_one(*s, kb("t", 0, test::wall_ms())).error(), errc::disk_full);
  EXPECT_EQ(s->current_usage().dropped_records, 0u);
  EXPECT_TRUE(s->gaps_after(0).empty());
  EXPECT_EQ(s->offsets("t", 0)->log_start, 0);

  // Mirrored data makes room (oldest first), nothing unmirrored is dropped.
  ASSERT_TRUE(s->commit_mirror_cursors({{{"t", 0}, 8}}));
  auto r = append_one(*s, kb("t", 0, test::wall_ms()));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->base_offset, stored);
  EXPECT_EQ(s->offsets("t", 0)->log_start, 4);
  EXPECT_TRUE(s->gaps_after(0).empty());
}

TEST_F(storage_retention, quota_drop_oldest_drops_lowest_priority_and_records_gaps) {
  auto o = opts();
  o.max_disk_bytes = 40'000;
  o.on_quota = quota_policy::drop_oldest;
  {
    auto s = open(o);
    ASSERT_TRUE(s->create_topic("low", {.priority = 0, .retention_ms = -1}));
    ASSERT_TRUE(s->create_topic("high", {.priority = 9, .retention_ms = -1}));
    for (int i = 0; i < 16; ++i) ASSERT_TRUE(append_one(*s, kb("high", 0, test::wall_ms())));
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(append_one(*s, kb("low", 0, test::wall_ms())));
    ASSERT_TRUE(s->commit_mirror_cursors({{{"low", 0}, 2}}));
    EXPECT_EQ(s->current_usage().dropped_records, 0u);
    // Over the quota now: the low-priority topic's oldest segments go first.
    for (int i = 0; i < 8; ++i) {
      auto r = append_one(*s, kb("high", 0, test::wall_ms()));
      ASSERT_TRUE(r) << r.error().message();
    }
    EXPECT_LE(s->current_usage().log_bytes, 40'000u);
    EXPECT_EQ(s->offsets("high", 0)->log_start, 0);
    const auto low = *s->offsets("low", 0);
    EXPECT_GT(low.log_start, 0);
    EXPECT_EQ(low.log_start % 4, 0);

    auto gaps = s->gaps_after(0);
    ASSERT_FALSE(gaps.empty());
    EXPECT_EQ(gaps.front().topic, "low");
    EXPECT_EQ(gaps.front().partition, 0);
    EXPECT_EQ(gaps.front().first_offset, 2);  // offsets 0 and 1 were mirrored: not a gap
    EXPECT_EQ(gaps.back().last_offset, low.log_start - 1);
    EXPECT_GT(gaps.front().timestamp_ms, 0);
    EXPECT_FALSE(gaps.front().reason.empty());
    uint64_t dropped = 0;
    for (size_t i = 0; i < gaps.size(); ++i) {
      if (i > 0) {
        EXPECT_GT(gaps[i].id, gaps[i - 1].id);
      }
      dropped += static_cast<uint64_t>(gaps[i].last_offset - gaps[i].first_offset + 1);
    }
    EXPECT_EQ(s->current_usage().dropped_records, dropped);
    EXPECT_EQ(s->last_reported_gap(), 0u);
    ASSERT_TRUE(s->mark_gaps_reported(gaps.front().id));
    EXPECT_EQ(s->last_reported_gap(), gaps.front().id);
    EXPECT_EQ(s->gaps_after(gaps.front().id).size(), gaps.size() - 1);
  }
  auto s = open(o);
  ASSERT_TRUE(testing::check_log_ends(*s));
  auto gaps = s->gaps_after(0);
  ASSERT_FALSE(gaps.empty());
  EXPECT_EQ(s->last_reported_gap(), gaps.front().id);
  EXPECT_GT(s->current_usage().dropped_records, 0u);
  // Marks beyond the newest gap clamp to it.
  ASSERT_TRUE(s->mark_gaps_reported(1'000'000));
  EXPECT_EQ(s->last_reported_gap(), gaps.back().id);
}

TEST_F(storage_retention, drop_oldest_under_interval_keeps_log_start_below_the_watermark) {
  auto o = opts();
  o.max_disk_bytes = 40'000;
  o.on_quota = quota_policy::drop_oldest;
  o.fsync = fsync_policy::interval;
  o.fsync_interval = std::chrono::milliseconds(10'000);  // no timer sync during the test
  auto s = open(o);
  ASSERT_TRUE(s->create_topic("t", {}));
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(append_one(*s, kb("t", 0, test::wall_ms())));
    const auto off = *s->offsets("t", 0);
    EXPECT_LE(off.log_start, off.high_watermark);
  }
  // The drops synced the WAL: everything before the last drop is visible.
  const auto off = *s->offsets("t", 0);
  EXPECT_GT(off.log_start, 0);
  EXPECT_GT(off.high_watermark, off.log_start);
  EXPECT_FALSE(s->gaps_after(0).empty());
  s->close();
  EXPECT_EQ(s->offsets("t", 0)->high_watermark, 60);  // close syncs and publishes the rest
}

TEST_F(storage_retention, protected_groups_hold_retention_and_the_reject_quota) {
  auto o = opts();
  o.retention_protected_groups = {"dash"};
  o.max_disk_bytes = 40'000;
  o.on_quota = quota_policy::reject;
  auto s = open(o);
  ASSERT_TRUE(s->create_topic("t", {.retention_ms = 0}));
  const int64_t old_ts = test::wall_ms() - 3'600'000;
  for (int i = 0; i < 36; ++i) ASSERT_TRUE(append_one(*s, kb("t", 0, old_ts)));
  ASSERT_TRUE(s->commit_mirror_cursors({{{"t", 0}, 36}}));
  // Mirrored and expired, but "dash" has committed nothing: all of it stays, and the quota
  // may not delete it either.
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_EQ(s->offsets("t", 0)->log_start, 0);
  ASSERT_TRUE(append_one(*s, kb("t", 0, old_ts)));
  EXPECT_EQ(append_one(*s, kb("t", 0, old_ts)).error(), errc::disk_full);
  // Other groups do not matter; dash's commit at 10 frees the segments wholly below it.
  ASSERT_TRUE(s->commit_group_offsets("other", {{{"t", 0}, {37, ""}}}));
  ASSERT_TRUE(s->commit_group_offsets("dash", {{{"t", 0}, {10, ""}}}));
  ASSERT_TRUE(test::eventually([&] { return s->offsets("t", 0)->log_start == 8; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(s->offsets("t", 0)->log_start, 8);
  EXPECT_TRUE(append_one(*s, kb("t", 0, old_ts)));
}

TEST_F(storage_retention, a_batch_larger_than_the_quota_fails_without_dropping) {
  auto o = opts();
  o.max_disk_bytes = 20'000;
  o.on_quota = quota_policy::drop_oldest;
  auto s = open(o);
  ASSERT_TRUE(s->create_topic("t", {}));
  ASSERT_TRUE(append_one(*s, kb("t", 0, test::wall_ms())));
  EXPECT_EQ(append_one(*s, make_request("t", 0, payload(std::string(30'000, 'b')))).error(),
            errc::disk_full);
  EXPECT_EQ(s->offsets("t", 0)->log_start, 0);
  EXPECT_TRUE(s->gaps_after(0).empty());
}

TEST_F(storage_retention, an_altered_config_applies_from_the_next_pass) {
  auto s = open(opts());
  ASSERT_TRUE(s->create_topic("t", {.retention_ms = -1}));
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(append_one(*s, kb("t", 0, test::wall_ms())));
  testing::advance_clock(*s, std::chrono::hours(1));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(append_one(*s, kb("t", 0, test::wall_ms())));
  ASSERT_TRUE(s->commit_mirror_cursors({{{"t", 0}, 12}}));
  ASSERT_TRUE(testing::wait_retention_passes(*s, 2, std::chrono::seconds(10)));
  EXPECT_EQ(s->offsets("t", 0)->log_start, 0) << "retention.ms -1 keeps everything";

  // compact only: no deletion by age, whatever retention.ms says.
  topic_config compact{.retention_ms = 60'000};
  compact.cleanup_delete = false;
  compact.cleanup_compact = true;
  ASSERT_TRUE(s->alter_topic("t", compact));
  ASSERT_TRUE(testing::wait_retention_passes(*s, 2, std::chrono::seconds(10)));
  EXPECT_EQ(s->offsets("t", 0)->log_start, 0);

  // delete again: the hour-old segments go.
  ASSERT_TRUE(s->alter_topic("t", {.retention_ms = 60'000}));
  ASSERT_TRUE(test::eventually([&] { return s->offsets("t", 0)->log_start == 8; }));
}

// DeleteRecords: the log start moves at once, whole segments below it go (never the active one),
// never above the mirror cursor under `hold`, and retention later deletes the rest cleanly.
TEST_F(storage_retention, delete_records_moves_the_log_start_and_respects_the_cursor) {
  auto s = open(opts());
  ASSERT_TRUE(s->create_topic("t", {.retention_ms = 60'000}));
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(append_one(*s, kb("t", 0, 1000 + i)));
  EXPECT_EQ(s->max_timestamp("t", 0).value(), 1011);
  const auto before = s->offsets("t", 0)->bytes;
  EXPECT_GT(before, 12'000u);
  // hold (the default): nothing mirrored yet, nothing may go.
  EXPECT_EQ(s->delete_records("t", 0, 5).error(), errc::held_for_mirror);
  ASSERT_TRUE(s->commit_mirror_cursors({{{"t", 0}, 10}}));
  EXPECT_EQ(s->delete_records("t", 0, 11).error(), errc::held_for_mirror);
  EXPECT_EQ(s->delete_records("t", 0, 13).error(), errc::offset_out_of_range);
  EXPECT_EQ(s->delete_records("t", 0, 6).value(), 6);
  EXPECT_EQ(s->offsets("t", 0)->log_start, 6);
  EXPECT_EQ(s->read("t", 0, 5, 100).error(), errc::offset_out_of_range);
  auto r = s->read("t", 0, 6, 100);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->front().base_offset, 6);
  EXPECT_LT(s->offsets("t", 0)->bytes, before) << "the segment [0, 4) went";
  EXPECT_EQ(s->delete_records("t", 0, 2).value(), 6) << "below the start: nothing changes";
  s.reset();

  s = open(opts());
  EXPECT_EQ(s->offsets("t", 0)->log_start, 6);
  // Retention takes the partial segment [4, 8) whole, from its base.
  testing::advance_clock(*s, std::chrono::hours(1));
  ASSERT_TRUE(test::eventually([&] { return s->offsets("t", 0)->log_start == 8; }));
  EXPECT_EQ(s->read("t", 0, 8, 100)->front().base_offset, 8);
}

}  // namespace
}  // namespace eb::storage

namespace eb::storage {
namespace {

using namespace test_fixture;

// Live reconfiguration: a topic's priority and retention change in place, survive a reopen, and
// retention's next pass uses them; the partition count stays.
TEST_F(storage_retention, alter_topic_changes_priority_and_retention_durably) {
  {
    auto store = open();
    ASSERT_TRUE(store->create_topic("t", {.partitions = 2, .priority = 1, .retention_ms = -1}));
    auto done = store->alter_topic(
        "t", {.partitions = 9, .priority = 7, .retention_ms = 3600'000, .retention_bytes = 4096});
    ASSERT_TRUE(done) << done.error().message();
    auto info = store->find_topic("t");
    ASSERT_TRUE(info);
    EXPECT_EQ(info->config.partitions, 2);
    EXPECT_EQ(info->config.priority, 7);
    EXPECT_EQ(info->config.retention_ms, 3600'000);
    EXPECT_EQ(info->config.retention_bytes, 4096);
    EXPECT_EQ(store->alter_topic("nope", {}).error(), make_error_code(errc::unknown_topic));
    EXPECT_EQ(store->alter_topic("t", {.retention_ms = -5}).error(),
              make_error_code(errc::invalid_topic_config));
    store->close();
  }
  auto store = open();
  auto info = store->find_topic("t");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->config.partitions, 2);
  EXPECT_EQ(info->config.priority, 7);
  EXPECT_EQ(info->config.retention_ms, 3600'000);
}

}  // namespace
}  // namespace eb::storage

// log_store appends, reads, persistence across a reopen, mirror cursors and the gap ledger, on a
// real RocksDB in a temporary directory.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <atomic>
#include <climits>
#include <latch>
#include <mutex>
#include <set>

#include "storage/storage.h"
#include "storage/test_hooks.h"
#include "tests/storage/batch_util.h"
#include "tests/storage/log_store_fixture.h"
#include "tests/storage/test_util.h"
#include "tests/support/bounded_wait.h"

namespace eb::storage {
namespace {

using namespace test_fixture;

TEST_F(storage_log_store, appends_get_consecutive_offsets_and_rewritten_base_offsets) {
  auto s = open();
  ASSERT_TRUE(s->create_topic("t", {.partitions = 2}));
  std::vector<append_request> reqs;
  reqs.push_back(make_request("t", 0, payload("a", 3)));
  reqs.push_back(make_request("t", 1, payload("b", 1)));
  reqs.push_back(make_request("t", 0, payload("c", 2)));
  reqs.push_back(make_request("nope", 0, payload("d")));
  reqs.push_back(make_request("t", 7, payload("e")));
  auto acks = append_sync(*s, std::move(reqs));
  ASSERT_EQ(acks.size(), 5u);
  ASSERT_TRUE(acks[0]);
  EXPECT_EQ(acks[0]->base_offset, 0);
  EXPECT_FALSE(acks[0]->duplicate);
  ASSERT_TRUE(acks[1]);
  EXPECT_EQ(acks[1]->base_offset, 0);
  ASSERT_TRUE(acks[2]);
  EXPECT_EQ(acks[2]->base_offset, 3);
  EXPECT_EQ(acks[3].error(), errc::unknown_topic);
  EXPECT_EQ(acks[4].error(), errc::unknown_partition);

  auto next = append_one(*s, make_request("t", 0, payload("f", 4)));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->base_offset, 5);
  EXPECT_EQ(s->offsets("t", 0)->high_watermark, 9);
  EXPECT_EQ(s->offsets("t", 1)->high_watermark, 1);

  auto all = s->read("t", 0, 0, 1 << 20);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  const std::vector<std::pair<int64_t, int64_t>> ranges = {{0, 2}, {3, 4}, {5, 8}};
  const std::vector<std::string> payloads = {"a", "c", "f"};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*all)[i].base_offset, ranges[i].first);
    EXPECT_EQ((*all)[i].last_offset, ranges[i].second);
    EXPECT_EQ(test::base_offset_of((*all)[i].bytes), ranges[i].first);
    EXPECT_EQ(test::payload_of((*all)[i].bytes), payloads[i]);
    EXPECT_EQ((*all)[i].max_timestamp, batch_spec{}.timestamp);
  }
}

TEST_F(storage_log_store, malformed_requests_fail_alone) {
  auto s = open();
  ASSERT_TRUE(s->create_topic("t", {}));
  std::vector<append_request> reqs;
  auto short_batch = make_request("t", 0, payload("a"));
  short_batch.batch.resize(40);
  reqs.push_back(std::move(short_batch));
  auto wrong_count = make_request("t", 0, payload("b", 2));
  wrong_count.record_count = 3;
  reqs.push_back(std::move(wrong_count));
  reqs.push_back(make_request("t", 0, payload("ok")));
  auto acks = append_sync(*s, std::move(reqs));
  EXPECT_EQ(acks[0].error(), std::errc::invalid_argument);
  EXPECT_EQ(acks[1].error(), std::errc::invalid_argument);
  ASSERT_TRUE(acks[2]);
  EXPECT_EQ(acks[2]->base_offset, 0);
  EXPECT_TRUE(append_sync(*s, {}).empty());
}

TEST_F(storage_log_store, read_finds_the_batch_holding_an_offset_and_respects_bounds) {
  auto s = open();
  ASSERT_TRUE(s->create_topic("t", {}));
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(append_one(*s, make_request("t", 0, payload(std::string(100, 'a' + i), 5))));
  }
  // Offset 23 lies in the batch [20, 24].
  auto r = s->read("t", 0, 23, 1);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);  // at least one batch even when it exceeds max_bytes
  EXPECT_EQ(r->front().base_offset, 20);
  EXPECT_EQ(r->front().last_offset, 24);

  const size_t one = r->front().bytes.size();
  r = s->read("t", 0, 25, 3 * one);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].base_offset, 25);
  EXPECT_EQ((*r)[2].base_offset, 35);

  r = s->read("t", 0, 50, 1 << 20);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());
  EXPECT_EQ(s->read("t", 0, 51, 100).error(), errc::offset_out_of_range);
  EXPECT_EQ(s->read("t", 0, -1, 100).error(), errc::offset_out_of_range);
  EXPECT_EQ(s->read("t", 1, 0, 100).error(), errc::unknown_partition);
  EXPECT_EQ(s->read("x", 0, 0, 100).error(), errc::unknown_topic);
}

TEST_F(storage_log_store, offset_for_timestamp_finds_the_first_batch_reaching_it) {
  auto o = opts();
  o.segment_bytes = 4096;  // several segments: the search uses them as a time index
  auto s = open(o);
  ASSERT_TRUE(s->create_topic("t", {}));
  for (int i = 0; i < 40; ++i) {
    batch_spec b = payload(std::string(500, 'z'), 2);
    b.timestamp = 1000 + i * 10;  // batch i holds offsets [2i, 2i+1]
    ASSERT_TRUE(append_one(*s, make_request("t", 0, b)));
  }
  EXPECT_EQ(*s->offset_for_timestamp("t", 0, 0), 0);
  EXPECT_EQ(*s->offset_for_timestamp("t", 0, 1000), 0);
  EXPECT_EQ(*s->offset_for_timestamp("t", 0, 1001), 2);
  EXPECT_EQ(*s->offset_for_timestamp("t", 0, 1250), 50);
  EXPECT_EQ(*s->offset_for_timestamp("t", 0, 1390), 78);
  EXPECT_EQ(*s->offset_for_timestamp("t", 0, 1391), 80);  // none: the high watermark
  EXPECT_EQ(s->offset_for_timestamp("t", 5, 0).error(), errc::unknown_partition);
}

TEST_F(storage_log_store, everything_persists_across_reopen) {
  int64_t pid = 0;
  {
    auto s = open();
    ASSERT_TRUE(s->create_topic("t", {.partitions = 2, .priority = 5, .retention_ms = 1234}));
    ASSERT_TRUE(s->create_topic("u", {}));
    pid = *s->allocate_producer_id();
    ASSERT_TRUE(append_one(*s, make_request("t", 1, idem(pid, 0, 0, 4))));
    ASSERT_TRUE(append_one(*s, make_request("t", 1, payload("plain", 2))));
    ASSERT_TRUE(append_one(*s, make_request("u", 0, payload("u0"))));
    ASSERT_TRUE(s->commit_mirror_cursors({{{"t", 1}, 4}, {{"u", 0}, 1}}));
    ASSERT_TRUE(s->commit_group_offsets(
        "g1", {{{"t", 0}, {17, "meta"}}, {{"t", 1}, {3, ""}}, {{"gone", 0}, {9, "x"}}}));
    ASSERT_TRUE(s->commit_group_offsets("g", {{{"t", 0}, {1, ""}}}));
    s->close();
    s->close();  // idempotent
    EXPECT_EQ(append_one(*s, make_request("t", 0, payload("late"))).error(), errc::shutting_down);
    EXPECT_EQ(s->create_topic("late", {}).error(), errc::shutting_down);
  }
  auto s = open();
  ASSERT_TRUE(testing::check_log_ends(*s));
  auto t = s->find_topic("t");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->config.partitions, 2);
  EXPECT_EQ(t->config.priority, 5);
  EXPECT_EQ(t->config.retention_ms, 1234);
  EXPECT_EQ(s->offsets("t", 1)->high_watermark, 6);
  EXPECT_EQ(s->offsets("t", 0)->high_watermark, 0);
  EXPECT_EQ(s->offsets("u", 0)->high_watermark, 1);
  auto batches = s->read("t", 1, 0, 1 << 20);
  ASSERT_TRUE(batches);
  ASSERT_EQ(batches->size(), 2u);
  EXPECT_EQ(test::payload_of((*batches)[1].bytes), "plain");
  // Producer state came back: the retry is still a duplicate, the next sequence follows.
  auto retry = append_one(*s, make_request("t", 1, idem(pid, 0, 0, 4)));
  ASSERT_TRUE(retry);
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->base_offset, 0);
  auto next = append_one(*s, make_request("t", 1, idem(pid, 0, 4)));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->base_offset, 6);
  EXPECT_EQ(s->mirror_cursor("t", 1), 4);
  EXPECT_EQ(s->mirror_cursor("u", 0), 1);
  EXPECT_FALSE(s->mirror_cursor("t", 0));
  auto g1 = s->group_offsets("g1");
  ASSERT_EQ(g1.size(), 3u);
  EXPECT_EQ((g1[{"t", 0}].offset), 17);
  EXPECT_EQ((g1[{"t", 0}].metadata), "meta");
  EXPECT_EQ((g1[{"gone", 0}].offset), 9);
  EXPECT_EQ(s->group_offsets("g").size(), 1u);  // a prefix of another group's name
  EXPECT_TRUE(s->group_offsets("none").empty());
  // New topics do not reuse ids.
  auto v = s->create_topic("v", {});
  ASSERT_TRUE(v);
  EXPECT_GT(v->id, std::max(t->id, s->find_topic("u")->id));
}

TEST_F(storage_log_store, mirror_cursors_are_validated) {
  auto s = open();
  ASSERT_TRUE(s->create_topic("t", {}));
  ASSERT_TRUE(append_one(*s, make_request("t", 0, payload("a", 3))));
  EXPECT_EQ(s->commit_mirror_cursors({{{"t", 0}, 4}}).error(), errc::offset_out_of_range);
  EXPECT_EQ(s->commit_mirror_cursors({{{"t", 1}, 0}}).error(), errc::unknown_partition);
  EXPECT_EQ(s->commit_mirror_cursors({{{"x", 0}, 0}}).error(), errc::unknown_topic);
  EXPECT_FALSE(s->mirror_cursor("t", 0));
  ASSERT_TRUE(s->commit_mirror_cursors({{{"t", 0}, 3}}));
  EXPECT_EQ(s->mirror_cursor("t", 0), 3);
  ASSERT_TRUE(s->commit_mirror_cursors({{{"t", 0}, 1}}));  // a rewind is allowed
  EXPECT_EQ(s->mirror_cursor("t", 0), 1);
}

// The mirror's own gaps (a range it skips under on_refusal `skip`): ids continue the ledger's,
// the time is filled in, they are listed and marked like quota gaps and survive a reopen.
TEST_F(storage_log_store, add_gap_extends_the_ledger_durably) {
  {
    auto s = open();
    auto first = s->add_gap({.topic = "t",
                             .partition = 2,
                             .first_offset = 5,
                             .last_offset = 9,
                             .reason = "undecodable batch at offset 5"});
    ASSERT_TRUE(first);
    auto second = s->add_gap({.topic = "u",
                              .partition = 0,
                              .first_offset = 7,
                              .last_offset = 7,
                              .reason = "refused",
                              .timestamp_ms = 1234});
    ASSERT_TRUE(second);
    EXPECT_GT(*second, *first);
    ASSERT_TRUE(s->mark_gaps_reported(*first));
    s->close();
  }
  auto s = open();
  auto gaps = s->gaps_after(0);
  ASSERT_EQ(gaps.size(), 2u);
  EXPECT_EQ(gaps[0].topic, "t");
  EXPECT_EQ(gaps[0].partition, 2);
  EXPECT_EQ(gaps[0].first_offset, 5);
  EXPECT_EQ(gaps[0].last_offset, 9);
  EXPECT_EQ(gaps[0].reason, "undecodable batch at offset 5");
  EXPECT_GT(gaps[0].timestamp_ms, 0);
  EXPECT_EQ(gaps[1].timestamp_ms, 1234);
  EXPECT_EQ(s->last_reported_gap(), gaps[0].id);
  EXPECT_EQ(s->gaps_after(gaps[0].id).size(), 1u);
  auto third = s->add_gap({.topic = "t", .first_offset = 1, .last_offset = 1, .reason = "r"});
  ASSERT_TRUE(third);
  EXPECT_GT(*third, gaps[1].id);  // ids never repeat across a reopen
}
}  // namespace
}  // namespace eb::storage

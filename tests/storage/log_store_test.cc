// Unit tests of every log_store operation, on a real RocksDB in a temporary directory.
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

TEST(storage_options, defaults_are_valid_and_every_problem_is_reported) {
  EXPECT_TRUE(validate(options{}).empty());
  options o;
  o.data_dir = "";
  o.fsync = fsync_policy::interval;
  o.fsync_interval = std::chrono::milliseconds(0);
  o.max_write_buffers = 1;
  o.max_pending_appends = 0;
  o.segment_bytes = 100;
  auto problems = validate(o);
  ASSERT_EQ(problems.size(), 5u);
  for (const auto& p : problems) EXPECT_EQ(p.rfind("storage.", 0), 0u) << p;
  EXPECT_NE(problems[0].find("storage.data_dir: "), std::string::npos);
}

TEST(storage_errc, has_a_category_and_messages) {
  std::error_code ec = errc::disk_full;
  EXPECT_EQ(ec.category().name(), std::string("storage"));
  EXPECT_EQ(ec.message(), "disk quota reached or disk full");
  EXPECT_TRUE(ec == errc::disk_full);
  EXPECT_FALSE(ec == errc::io_error);
}

TEST_F(storage_log_store, invalid_options_fail_open) {
  auto o = opts();
  o.max_write_buffers = 0;
  auto s = log_store::open(o);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error(), std::errc::invalid_argument);
}

TEST_F(storage_log_store, topics_are_created_found_and_validated) {
  auto s = open();
  auto a = s->create_topic("alpha", {.partitions = 3, .priority = 2});
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->name, "alpha");
  EXPECT_EQ(a->config.partitions, 3);
  auto b = s->create_topic("beta.x_y-1", {});
  ASSERT_TRUE(b);
  EXPECT_NE(a->id, b->id);
  EXPECT_EQ(s->create_topic("alpha", {}).error(), errc::topic_exists);
  EXPECT_EQ(s->create_topic("", {}).error(), errc::invalid_topic_config);
  EXPECT_EQ(s->create_topic("bad name", {}).error(), errc::invalid_topic_config);
  EXPECT_EQ(s->create_topic("..", {}).error(), errc::invalid_topic_config);
  EXPECT_EQ(s->create_topic(std::string(250, 'a'), {}).error(), errc::invalid_topic_config);
  EXPECT_EQ(s->create_topic("zero", {.partitions = 0}).error(), errc::invalid_topic_config);
  EXPECT_EQ(s->create_topic("r", {.retention_ms = -2}).error(), errc::invalid_topic_config);
  auto found = s->find_topic("alpha");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, a->id);
  EXPECT_EQ(found->config.priority, 2);
  EXPECT_FALSE(s->find_topic("nope"));
  EXPECT_EQ(s->topics().size(), 2u);
  auto off = s->offsets("alpha", 2);
  ASSERT_TRUE(off);
  EXPECT_EQ(off->log_start, 0);
  EXPECT_EQ(off->high_watermark, 0);
  EXPECT_EQ(s->offsets("alpha", 3).error(), errc::unknown_partition);
  EXPECT_EQ(s->offsets("nope", 0).error(), errc::unknown_topic);
}

TEST_F(storage_log_store, concurrent_creates_of_one_name_yield_one_topic) {
  auto s = open();
  std::atomic<int> created{0}, exists{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto r = s->create_topic("race", {});
      if (r) {
        ++created;
      } else if (r.error() == errc::topic_exists) {
        ++exists;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(exists.load(), 7);
}

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

TEST_F(storage_log_store, idempotent_retry_gets_the_original_offset_and_is_not_stored_again) {
  auto s = open();
  ASSERT_TRUE(s->create_topic("t", {}));
  auto pid = s->allocate_producer_id();
  ASSERT_TRUE(pid);
  auto first = append_one(*s, make_request("t", 0, idem(*pid, 0, 0, 3)));
  auto second = append_one(*s, make_request("t", 0, idem(*pid, 0, 3, 2)));
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->base_offset, 0);
  EXPECT_EQ(second->base_offset, 3);

  auto retry = append_one(*s, make_request("t", 0, idem(*pid, 0, 0, 3)));
  ASSERT_TRUE(retry);
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->base_offset, 0);
  EXPECT_EQ(s->offsets("t", 0)->high_watermark, 5);

  // A retry inside the same group as its original is a duplicate too.
  std::vector<append_request> reqs;
  reqs.push_back(make_request("t", 0, idem(*pid, 0, 5, 1)));
  reqs.push_back(make_request("t", 0, idem(*pid, 0, 5, 1)));
  auto acks = append_sync(*s, std::move(reqs));
  ASSERT_TRUE(acks[0] && acks[1]);
  EXPECT_FALSE(acks[0]->duplicate);
  EXPECT_TRUE(acks[1]->duplicate);
  EXPECT_EQ(acks[1]->base_offset, acks[0]->base_offset);
  EXPECT_EQ(s->read("t", 0, 0, 1 << 20)->size(), 3u);
}

TEST_F(storage_log_store, idempotence_rejects_gaps_old_epochs_and_unknown_producers) {
  auto s = open();
  ASSERT_TRUE(s->create_topic("t", {.partitions = 2}));
  const int64_t pid = *s->allocate_producer_id();
  ASSERT_TRUE(append_one(*s, make_request("t", 0, idem(pid, 3, 0, 2))));
  EXPECT_EQ(append_one(*s, make_request("t", 0, idem(pid, 3, 5))).error(),
            errc::out_of_order_sequence);
  EXPECT_EQ(append_one(*s, make_request("t", 0, idem(pid, 2, 2))).error(),
            errc::invalid_producer_epoch);
  // A new epoch must start at 0.
  EXPECT_EQ(append_one(*s, make_request("t", 0, idem(pid, 4, 2))).error(),
            errc::out_of_order_sequence);
  ASSERT_TRUE(append_one(*s, make_request("t", 0, idem(pid, 4, 0))));
  // The old epoch is now fenced.
  EXPECT_EQ(append_one(*s, make_request("t", 0, idem(pid, 3, 2))).error(),
            errc::invalid_producer_epoch);
  // State is per partition: partition 1 has none.
  EXPECT_EQ(append_one(*s, make_request("t", 1, idem(pid, 4, 1))).error(),
            errc::unknown_producer_id);
  ASSERT_TRUE(append_one(*s, make_request("t", 1, idem(pid, 4, 0))));
  EXPECT_EQ(s->offsets("t", 0)->high_watermark, 3);
  EXPECT_EQ(s->offsets("t", 1)->high_watermark, 1);
}

TEST_F(storage_log_store, only_the_last_five_batches_are_remembered) {
  auto s = open();
  ASSERT_TRUE(s->create_topic("t", {}));
  const int64_t pid = *s->allocate_producer_id();
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(append_one(*s, make_request("t", 0, idem(pid, 0, i))));
  for (int i = 1; i < 6; ++i) {
    auto r = append_one(*s, make_request("t", 0, idem(pid, 0, i)));
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->duplicate);
    EXPECT_EQ(r->base_offset, i);
  }
  EXPECT_EQ(append_one(*s, make_request("t", 0, idem(pid, 0, 0))).error(),
            errc::out_of_order_sequence);
}

TEST_F(storage_log_store, sequences_wrap_at_int32_max) {
  auto s = open();
  ASSERT_TRUE(s->create_topic("t", {}));
  const int64_t pid = *s->allocate_producer_id();
  // Reach the top of the sequence space legitimately: 0..1, then one huge batch.
  ASSERT_TRUE(append_one(*s, make_request("t", 0, idem(pid, 0, 0, 2))));
  ASSERT_TRUE(append_one(*s, make_request("t", 0, idem(pid, 0, 2, INT32_MAX - 4))));
  // Sequences INT32_MAX - 2, INT32_MAX - 1, INT32_MAX, 0: this batch spans the wrap.
  auto spanning = append_one(*s, make_request("t", 0, idem(pid, 0, INT32_MAX - 2, 4)));
  ASSERT_TRUE(spanning) << spanning.error().message();
  EXPECT_EQ(append_one(*s, make_request("t", 0, idem(pid, 0, INT32_MAX, 1))).error(),
            errc::out_of_order_sequence);
  auto next = append_one(*s, make_request("t", 0, idem(pid, 0, 1, 1)));
  ASSERT_TRUE(next) << next.error().message();
  EXPECT_FALSE(next->duplicate);
  auto retry = append_one(*s, make_request("t", 0, idem(pid, 0, INT32_MAX - 2, 4)));
  ASSERT_TRUE(retry);
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->base_offset, spanning->base_offset);
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

TEST_F(storage_log_store, producer_ids_never_repeat_across_reopen) {
  std::set<int64_t> seen;
  for (int round = 0; round < 3; ++round) {
    auto s = open();
    for (int i = 0; i < 5; ++i) {
      auto id = s->allocate_producer_id();
      ASSERT_TRUE(id);
      EXPECT_GE(*id, 0);
      EXPECT_TRUE(seen.insert(*id).second) << "id " << *id << " repeated";
    }
  }
  // Many ids in one run cross reservation blocks.
  auto s = open();
  std::vector<std::thread> threads;
  std::mutex mu;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 600; ++i) {
        auto id = s->allocate_producer_id();
        ASSERT_TRUE(id);
        std::lock_guard lk(mu);
        EXPECT_TRUE(seen.insert(*id).second);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(seen.size(), 15u + 2400u);
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

TEST_F(storage_log_store, listeners_hear_each_advance_until_unsubscribed) {
  auto s = open();
  ASSERT_TRUE(s->create_topic("t", {.partitions = 2}));
  std::mutex mu;
  std::vector<std::tuple<std::string, int32_t, int64_t>> heard;
  auto token = s->subscribe([&](const std::string& t, int32_t p, int64_t hw) {
    std::lock_guard lk(mu);
    heard.emplace_back(t, p, hw);
  });
  std::vector<append_request> reqs;
  reqs.push_back(make_request("t", 0, payload("a", 2)));
  reqs.push_back(make_request("t", 1, payload("b", 1)));
  ASSERT_TRUE(append_sync(*s, std::move(reqs))[0]);
  // Listeners run after the completion callbacks.
  ASSERT_TRUE(test::eventually([&] {
    std::lock_guard lk(mu);
    return heard.size() == 2;
  }));
  {
    std::lock_guard lk(mu);
    std::set<std::tuple<std::string, int32_t, int64_t>> got(heard.begin(), heard.end());
    EXPECT_TRUE(got.contains({"t", 0, 2}));
    EXPECT_TRUE(got.contains({"t", 1, 1}));
  }
  s->unsubscribe(token);
  ASSERT_TRUE(append_one(*s, make_request("t", 0, payload("c"))));
  std::lock_guard lk(mu);
  EXPECT_EQ(heard.size(), 2u);
}

TEST_F(storage_log_store, a_listener_may_unsubscribe_itself_and_blocking_calls_are_refused) {
  auto s = open();
  ASSERT_TRUE(s->create_topic("t", {}));
  std::atomic<int> calls{0};
  std::atomic<uint64_t> token{0};
  std::error_code from_listener;
  token = s->subscribe([&](const std::string&, int32_t, int64_t) {
    ++calls;
    s->unsubscribe(token.load());
    from_listener = s->allocate_producer_id().error();
  });
  ASSERT_TRUE(append_one(*s, make_request("t", 0, payload("a"))));
  ASSERT_TRUE(append_one(*s, make_request("t", 0, payload("b"))));
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(from_listener, std::errc::resource_deadlock_would_occur);
}

TEST_F(storage_log_store, a_full_queue_answers_queue_full) {
  auto o = opts();
  o.max_pending_appends = 4;
  auto s = open(o);
  ASSERT_TRUE(s->create_topic("t", {}));
  // Hold the writer inside a completion callback so the queue cannot drain.
  std::latch entered(1), release(1);
  std::promise<void> first_done;
  s->append({make_request("t", 0, payload("hold"))}, [&](std::vector<result<append_ack>> r) {
    EXPECT_TRUE(r[0]);
    entered.count_down();
    release.wait();
    first_done.set_value();
  });
  entered.wait();
  std::vector<std::future<std::vector<result<append_ack>>>> queued;
  std::vector<std::promise<std::vector<result<append_ack>>>> promises(4);
  for (int i = 0; i < 4; ++i) {
    queued.push_back(promises[i].get_future());
    s->append({make_request("t", 0, payload("q"))},
              [&p = promises[i]](std::vector<result<append_ack>> r) { p.set_value(std::move(r)); });
  }
  // The fifth waiting request exceeds the bound: answered inline.
  bool inline_answer = false;
  s->append({make_request("t", 0, payload("over"))}, [&](std::vector<result<append_ack>> r) {
    inline_answer = true;
    EXPECT_EQ(r[0].error(), errc::queue_full);
  });
  EXPECT_TRUE(inline_answer);
  release.count_down();
  eb::test::get_within(first_done.get_future(), "the first append to complete");
  for (auto& f : queued) EXPECT_TRUE(eb::test::get_within(std::move(f), "a queued append")[0]);
  EXPECT_EQ(s->offsets("t", 0)->high_watermark, 5);
}

TEST_F(storage_log_store, a_queue_full_of_bytes_answers_queue_full) {
  auto o = opts();
  o.max_pending_bytes = 64 << 10;
  auto s = open(o);
  ASSERT_TRUE(s->create_topic("t", {}));
  std::latch entered(1), release(1);
  s->append({make_request("t", 0, payload("hold"))}, [&](std::vector<result<append_ack>>) {
    entered.count_down();
    release.wait();
  });
  entered.wait();
  std::vector<std::promise<std::vector<result<append_ack>>>> promises(3);
  auto send = [&](size_t i, size_t bytes) {
    s->append({make_request("t", 0, payload(std::string(bytes, 'q')))},
              [&p = promises[i]](std::vector<result<append_ack>> r) { p.set_value(std::move(r)); });
    return promises[i].get_future();
  };
  auto big = send(0, 40 << 10);       // an empty queue takes it
  auto too_much = send(1, 30 << 10);  // 70 KiB waiting would exceed 64 KiB
  ASSERT_EQ(too_much.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_EQ(too_much.get()[0].error(), errc::queue_full);
  auto fits = send(2, 20 << 10);
  release.count_down();
  EXPECT_TRUE(big.get()[0]);
  EXPECT_TRUE(fits.get()[0]);
}

TEST_F(storage_log_store, interval_policy_acks_at_once_and_publishes_after_the_sync) {
  auto o = opts();
  o.fsync = fsync_policy::interval;
  o.fsync_interval = std::chrono::milliseconds(300);
  auto s = open(o);
  ASSERT_TRUE(s->create_topic("t", {}));
  std::atomic<int64_t> heard{-1};
  s->subscribe([&](const std::string&, int32_t, int64_t hw) { heard = hw; });
  const auto start = std::chrono::steady_clock::now();
  auto ack = append_one(*s, make_request("t", 0, payload("a", 2)));
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->base_offset, 0);
  // Readers do not see it before the WAL sync (unless this machine stalled for the interval).
  if (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(250)) {
    EXPECT_EQ(s->offsets("t", 0)->high_watermark, 0);
    EXPECT_TRUE(s->read("t", 0, 0, 100)->empty());
  }
  ASSERT_TRUE(test::eventually([&] { return s->offsets("t", 0)->high_watermark == 2; }));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(250));
  EXPECT_TRUE(test::eventually([&] { return heard.load() == 2; }));
  EXPECT_EQ(s->read("t", 0, 0, 100)->size(), 1u);
}

TEST_F(storage_log_store, never_policy_publishes_at_once_and_close_syncs) {
  auto o = opts();
  o.fsync = fsync_policy::never;
  {
    auto s = open(o);
    ASSERT_TRUE(s->create_topic("t", {}));
    ASSERT_TRUE(append_one(*s, make_request("t", 0, payload("a", 2))));
    EXPECT_EQ(s->offsets("t", 0)->high_watermark, 2);
  }
  auto s = open(o);
  EXPECT_EQ(s->offsets("t", 0)->high_watermark, 2);
}

TEST_F(storage_log_store, concurrent_appenders_get_unique_gapless_offsets) {
  auto s = open();
  ASSERT_TRUE(s->create_topic("t", {.partitions = 2}));
  constexpr int threads = 8, per_thread = 50;
  std::mutex mu;
  std::map<int32_t, std::map<int64_t, std::string>> by_offset;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        const int32_t part = (t + i) % 2;
        const std::string id = std::to_string(t) + ":" + std::to_string(i);
        auto r = append_one(*s, make_request("t", part, payload(id, 1 + i % 3)));
        ASSERT_TRUE(r);
        std::lock_guard lk(mu);
        EXPECT_TRUE(by_offset[part].emplace(r->base_offset, id).second);
      }
    });
  }
  for (auto& t : ts) t.join();
  for (int32_t part = 0; part < 2; ++part) {
    auto batches = s->read("t", part, 0, 64 << 20);
    ASSERT_TRUE(batches);
    int64_t expect = 0;
    for (const auto& b : *batches) {
      EXPECT_EQ(b.base_offset, expect);
      EXPECT_EQ(by_offset[part][b.base_offset], test::payload_of(b.bytes));
      expect = b.last_offset + 1;
    }
    EXPECT_EQ(batches->size(), by_offset[part].size());
    EXPECT_EQ(s->offsets("t", part)->high_watermark, expect);
  }
}

// Topic configs: altered in one durable write, kept across a reopen, settings stored as given.
TEST_F(storage_log_store, topic_config_is_altered_durably_and_survives_a_reopen) {
  {
    auto s = open();
    ASSERT_TRUE(s->create_topic("t", {.partitions = 2, .priority = 1}));
    topic_config cfg{
        .partitions = 99, .priority = 7, .retention_ms = 1000, .retention_bytes = 4096};
    cfg.cleanup_compact = true;
    cfg.cleanup_delete = false;
    cfg.settings = {{"cleanup.policy", "compact"}, {"edgebridge.priority", "7"}};
    auto altered = s->alter_topic("t", cfg);
    ASSERT_TRUE(altered) << altered.error().message();
    EXPECT_EQ(altered->config.partitions, 2) << "the partition count is not altered";
    auto found = s->find_topic("t");
    ASSERT_TRUE(found);
    EXPECT_EQ(found->config.priority, 7);
    EXPECT_EQ(found->config.settings.at("cleanup.policy"), "compact");
    EXPECT_EQ(s->alter_topic("nope", cfg).error(), errc::unknown_topic);
    cfg.retention_ms = -5;
    EXPECT_EQ(s->alter_topic("t", cfg).error(), errc::invalid_topic_config);
    cfg.retention_ms = 1000;
    cfg.settings[""] = "x";
    EXPECT_EQ(s->alter_topic("t", cfg).error(), errc::invalid_topic_config);
  }
  auto s = open();
  auto found = s->find_topic("t");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->config.partitions, 2);
  EXPECT_EQ(found->config.priority, 7);
  EXPECT_EQ(found->config.retention_ms, 1000);
  EXPECT_EQ(found->config.retention_bytes, 4096);
  EXPECT_TRUE(found->config.cleanup_compact);
  EXPECT_FALSE(found->config.cleanup_delete);
  EXPECT_EQ(found->config.settings,
            (std::map<std::string, std::string>{{"cleanup.policy", "compact"},
                                                {"edgebridge.priority", "7"}}));
}

TEST_F(storage_log_store, defaults_are_kept_for_a_topic_created_without_settings) {
  {
    auto s = open();
    ASSERT_TRUE(s->create_topic("plain", {}));
  }
  auto s = open();
  auto found = s->find_topic("plain");
  ASSERT_TRUE(found);
  EXPECT_TRUE(found->config.cleanup_delete);
  EXPECT_FALSE(found->config.cleanup_compact);
  EXPECT_TRUE(found->config.settings.empty());
}

TEST_F(storage_log_store, group_names_and_group_deletion) {
  auto s = open();
  ASSERT_TRUE(s->create_topic("t", {.partitions = 2}));
  ASSERT_TRUE(s->commit_group_offsets("b", {{{"t", 0}, {5, ""}}, {{"t", 1}, {6, ""}}}));
  ASSERT_TRUE(s->commit_group_offsets("a", {{{"t", 0}, {1, "m"}}}));
  ASSERT_TRUE(s->commit_group_offsets("c", {{{"t", 1}, {2, ""}}}));
  EXPECT_EQ(s->group_names(100), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(s->group_names(2), (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(s->delete_group_offsets("b"));
  EXPECT_TRUE(s->group_offsets("b").empty());
  EXPECT_EQ(s->group_offsets("a").size(), 1u);
  EXPECT_EQ(s->group_names(100), (std::vector<std::string>{"a", "c"}));
  ASSERT_TRUE(s->delete_group_offsets("nope"));
}

// Topic ids (KIP-516): a random UUID per topic, made at creation, kept by config changes and
// reopens; a topic stored before ids existed gets one on open, written back (stable after).
TEST_F(storage_log_store, topics_get_stable_ids) {
  std::array<uint8_t, 16> first{}, second{};
  {
    auto s = open();
    auto a = s->create_topic("a", {.partitions = 1});
    auto b = s->create_topic("b", {.partitions = 1});
    ASSERT_TRUE(a && b);
    EXPECT_NE(a->uuid, (std::array<uint8_t, 16>{}));
    EXPECT_NE(a->uuid, b->uuid);
    EXPECT_EQ((a->uuid[6] & 0xf0), 0x40) << "a version 4 UUID";
    first = a->uuid;
    second = b->uuid;
    ASSERT_TRUE(s->add_partitions("a", 3));
    auto altered = s->alter_topic("a", {.partitions = 3, .priority = 2});
    ASSERT_TRUE(altered);
    EXPECT_EQ(altered->uuid, first);
  }
  {
    // Rewrite b's record in the layout from before topic ids (the 16 bytes cut off).
    rocksdb::Options o;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
        {rocksdb::kDefaultColumnFamilyName, {}}, {"log", {}}, {"meta", {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, opts().data_dir.string(), cfs, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    std::string v;
    ASSERT_TRUE(db->Get({}, handles[2], std::string("tb"), &v).ok());
    ASSERT_GT(v.size(), 16u);
    v.resize(v.size() - 16);
    ASSERT_TRUE(db->Put({}, handles[2], std::string("tb"), v).ok());
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  }
  std::array<uint8_t, 16> upgraded{};
  {
    auto s = open();
    EXPECT_EQ(s->find_topic("a")->uuid, first);
    upgraded = s->find_topic("b")->uuid;
    EXPECT_NE(upgraded, (std::array<uint8_t, 16>{}));
    EXPECT_NE(upgraded, second) << "a new id for the topic without one";
    EXPECT_EQ(s->find_topic("a")->config.partitions, 3);
  }
  auto s = open();
  EXPECT_EQ(s->find_topic("b")->uuid, upgraded) << "the id given on open was stored";
}

}  // namespace
}  // namespace eb::storage

// log_store's writer: advance listeners, its bounded queue, the fsync policies and concurrent
// appenders; on a real RocksDB in a temporary directory.
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
}  // namespace
}  // namespace eb::storage

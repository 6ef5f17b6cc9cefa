// log_store's idempotent producer state: retries, sequence checks, the five remembered batches,
// producer ids across a reopen; on a real RocksDB in a temporary directory.
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
}  // namespace
}  // namespace eb::storage

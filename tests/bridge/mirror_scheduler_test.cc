// The mirror's scheduler and bandwidth token bucket on plain data: no broker, no storage, no
// librdkafka. Time is passed in.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "bridge/mirror/link_meter.h"
#include "bridge/mirror/scheduler.h"
#include "bridge/mirror/token_bucket.h"

namespace eb::bridge::mirror_detail {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t MiB = 1u << 20;

// Partitions with data waiting and nothing in their way.
class MirrorScheduler : public ::testing::Test {
 protected:
  part& add(int32_t priority, int64_t oldest_ms) {
    auto p = std::make_unique<part>();
    p->topic = "t" + std::to_string(_parts.size());
    p->tgt = &_target;
    p->resolved = true;
    p->next = 0;
    p->confirmed = 0;
    p->hw = 1000;
    p->priority = priority;
    p->oldest_ms = oldest_ms;
    _parts.push_back(std::move(p));
    return *_parts.back();
  }

  part* pick() { return _sched.pick(_parts, _now); }

  static std::vector<storage::stored_batch> chunk_of(uint64_t bytes) {
    storage::stored_batch b;
    b.bytes.assign(bytes, 'x');
    std::vector<storage::stored_batch> v;
    v.push_back(std::move(b));
    return v;
  }

  mirror_options _opts;
  target _target{"cloud", _opts};
  scheduler _sched{4 * MiB};
  std::vector<std::unique_ptr<part>> _parts;
  steady::time_point _now = steady::time_point{} + 1h;

  void SetUp() override {
    _target.state = target_state::ready;
    _sched.set_pipeline(2 * MiB, 20'000);
  }
};

TEST_F(MirrorScheduler, PicksHigherPriorityFirstThenTheOldestBacklog) {
  part& old_low = add(0, 100);
  part& young_high = add(5, 900);
  part& old_high = add(5, 500);
  EXPECT_EQ(pick(), &old_high);
  old_high.next = old_high.hw;  // caught up
  EXPECT_EQ(pick(), &young_high);
  young_high.retry_at = _now + 1s;  // waits to retry
  EXPECT_EQ(pick(), &old_low);
  young_high.retry_at = _now - 1s;
  EXPECT_EQ(pick(), &young_high);
}

TEST_F(MirrorScheduler, NeverPicksAPartitionThatWaitsForSomethingElse) {
  part& unresolved = add(9, 1);
  unresolved.resolved = false;
  part& failed = add(9, 1);
  failed.failed = true;
  part& gaps = add(9, 1);
  gaps.is_gaps = true;
  target missing{"missing", _opts};
  missing.state = target_state::missing;
  part& no_target = add(9, 1);
  no_target.tgt = &missing;
  EXPECT_EQ(pick(), nullptr);
  part& ok = add(0, 1000);
  EXPECT_EQ(pick(), &ok);
}

TEST_F(MirrorScheduler, ReadAheadBudgetIsSharedByThePartitionsBeingDrained) {
  part& a = add(0, 1);
  part& b = add(0, 2);
  part& c = add(0, 3);
  // Alone, a partition reads up to 8 MiB at once.
  EXPECT_EQ(_sched.read_size(), scheduler::read_chunk_bytes);
  _sched.hold(a, chunk_of(8 * MiB));
  EXPECT_EQ(_sched.read_size(), 8 * MiB);
  _sched.hold(b, chunk_of(8 * MiB));
  EXPECT_EQ(_sched.readahead_bytes(), 16 * MiB);
  // What is left of the budget, but never less than min_read_bytes.
  EXPECT_EQ(_sched.read_size(), scheduler::min_read_bytes);
  // c has nothing read ahead and no room for a read: it waits, a and b go on.
  EXPECT_FALSE(_sched.ready_to_produce(c, _now));
  EXPECT_TRUE(_sched.ready_to_produce(a, _now));
  EXPECT_EQ(pick(), &a);
  // A partition that stops gives its read-ahead back when the next pick passes it.
  a.retry_at = _now + 1s;
  EXPECT_EQ(pick(), &b);
  EXPECT_EQ(_sched.readahead_bytes(), 8 * MiB);
  EXPECT_TRUE(a.ahead.empty());
  EXPECT_TRUE(_sched.ready_to_produce(c, _now));
  _sched.release(b);
  EXPECT_EQ(_sched.readahead_bytes(), 0u);
  b.next = b.hw;
  EXPECT_EQ(pick(), &c);
}

TEST_F(MirrorScheduler, RecordsInFlightAreBoundedButOneAlwaysGoes) {
  part& a = add(0, 1);
  part& b = add(0, 2);
  // A record larger than the whole bound still goes when nothing is in flight.
  EXPECT_TRUE(_sched.admits(10 * MiB));
  for (int i = 0; i < 3; ++i) _sched.launch(a, {i, MiB, MiB - 300});
  _sched.launch(b, {0, MiB - 100, 1000});
  EXPECT_EQ(_sched.inflight_bytes(), 4 * MiB - 100);
  EXPECT_EQ(_sched.inflight_records(), 4u);
  EXPECT_TRUE(_sched.admits(100));
  EXPECT_FALSE(_sched.admits(101));
  auto r = _sched.settle(a);  // delivery reports come oldest first
  EXPECT_EQ(r.offset, 0);
  EXPECT_EQ(a.inflight.size(), 2u);
  EXPECT_EQ(a.inflight_payload, 2 * (MiB - 300));
  EXPECT_TRUE(_sched.admits(MiB + 100));
  EXPECT_FALSE(_sched.admits(MiB + 101));
  std::vector<part*> all{&a, &b};
  _sched.forget_inflight(all);
  EXPECT_EQ(_sched.inflight_bytes(), 0u);
  EXPECT_EQ(_sched.inflight_records(), 0u);
  EXPECT_TRUE(a.inflight.empty());
  EXPECT_EQ(b.inflight_payload, 0u);
}

TEST_F(MirrorScheduler, EachPartitionHoldsAtMostItsPipelineAndTheOthersUseTheLink) {
  constexpr uint64_t batch_bytes = 1'000'000, batch_records = 10'000;
  _sched.set_pipeline(2 * batch_bytes, 2 * batch_records);
  part& a = add(0, 1);
  part& b = add(0, 2);
  // Two batches' worth of payload from a: its pipeline is full, so b goes although a is older.
  _sched.launch(a, {0, batch_bytes, batch_bytes});
  EXPECT_FALSE(_sched.pipeline_full(a));
  EXPECT_EQ(pick(), &a);
  _sched.launch(a, {1, batch_bytes, batch_bytes});
  EXPECT_TRUE(_sched.pipeline_full(a));
  EXPECT_EQ(pick(), &b);
  // The first batch confirmed: a has room for one more and is picked again.
  (void)_sched.settle(a);
  EXPECT_FALSE(_sched.pipeline_full(a));
  EXPECT_EQ(pick(), &a);
  // Many small records fill the pipeline by count.
  for (int64_t i = 0; i < static_cast<int64_t>(2 * batch_records); ++i) {
    _sched.launch(b, {i, 300, 10});
  }
  EXPECT_TRUE(_sched.pipeline_full(b));
  _sched.launch(a, {2, batch_bytes, batch_bytes});
  EXPECT_EQ(pick(), nullptr);
}

// A cloud topic with a small max.message.bytes: a partition has at most the target's batch
// budget handed to librdkafka (so no batch exceeds the limit), yet one record always goes. While
// a broker refusal is narrowed down, one record per request.
TEST_F(MirrorScheduler, SmallCloudLimitsAndRefusalsNarrowThePipeline) {
  _sched.set_pipeline(2 * MiB, 20'000);
  part& a = add(0, 1);
  target t("t", bridge::mirror_options{});
  t.state = target_state::ready;
  t.batch_budget = 1000;
  a.tgt = &t;
  a.waiting_wire = 600;
  EXPECT_FALSE(_sched.pipeline_full(a));  // nothing in flight: one record always goes
  _sched.launch(a, {0, 700, 500, 600});
  EXPECT_EQ(a.inflight_wire, 600u);
  EXPECT_TRUE(_sched.pipeline_full(a));  // 600 + 600 > 1000
  a.waiting_wire = 400;
  EXPECT_FALSE(_sched.pipeline_full(a));  // 600 + 400 fits
  (void)_sched.settle(a);
  EXPECT_EQ(a.inflight_wire, 0u);
  t.batch_budget = 0;
  a.careful_until = 5;
  a.next = 1;
  _sched.launch(a, {0, 100, 10, 20});
  EXPECT_TRUE(_sched.pipeline_full(a));
  a.next = 6;  // past the range being narrowed down
  EXPECT_FALSE(_sched.pipeline_full(a));
}

TEST_F(MirrorScheduler, WithoutAProducerEveryPipelineIsFull) {
  scheduler fresh{4 * MiB};
  part& a = add(0, 1);
  EXPECT_TRUE(fresh.pipeline_full(a));
  EXPECT_EQ(fresh.pick(_parts, _now), nullptr);
}

using tb_clock = token_bucket::clock;

TEST(MirrorTokenBucket, ZeroRateIsUnlimited) {
  auto t0 = tb_clock::time_point{} + 1h;
  token_bucket bucket(0, t0);
  EXPECT_FALSE(bucket.limited());
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(bucket.take(1u << 30, t0));
}

TEST(MirrorTokenBucket, FillsAtTheRateAndSaysWhenTheDebtIsPaid) {
  auto t0 = tb_clock::time_point{} + 1h;
  token_bucket bucket(1'000'000, t0);  // 1 MB/s
  EXPECT_TRUE(bucket.limited());
  EXPECT_FALSE(bucket.take(1, t0));  // starts empty
  EXPECT_EQ(bucket.ready_at(), t0);
  auto t1 = t0 + 100ms;                   // 100,000 tokens
  EXPECT_TRUE(bucket.take(150'000, t1));  // a record may overdraw
  EXPECT_NEAR(bucket.tokens(), -50'000, 1);
  EXPECT_FALSE(bucket.take(1, t1));
  // The debt of 50,000 bytes takes 50 ms at 1 MB/s.
  EXPECT_NEAR(std::chrono::duration<double>(bucket.ready_at() - t1).count(), 0.050, 1e-6);
  EXPECT_FALSE(bucket.take(1, t1 + 49ms));
  EXPECT_TRUE(bucket.take(1, t1 + 51ms));
}

TEST(MirrorTokenBucket, BurstIsCappedAtAQuarterSecondOrSixtyFourKiB) {
  auto t0 = tb_clock::time_point{} + 1h;
  token_bucket fast(1'000'000, t0);
  EXPECT_DOUBLE_EQ(fast.capacity(), 250'000);
  EXPECT_TRUE(fast.take(250'000, t0 + 10s));  // ten idle seconds still fill only the burst
  EXPECT_NEAR(fast.tokens(), 0, 1e-6);
  EXPECT_FALSE(fast.take(1, t0 + 10s));
  token_bucket slow(1000, t0);
  EXPECT_DOUBLE_EQ(slow.capacity(), 65536);
  EXPECT_TRUE(slow.take(65536, t0 + 1h));
  EXPECT_FALSE(slow.take(1, t0 + 1h));
}

TEST(MirrorTokenBucket, LongRunRateIsTheConfiguredRate) {
  auto t0 = tb_clock::time_point{} + 1h;
  constexpr uint64_t rate = 2'000'000, record = 1000;
  token_bucket bucket(rate, t0);
  auto now = t0;
  uint64_t sent = 0;
  const auto end = t0 + 10s;
  for (int i = 0; i < 1'000'000 && now < end; ++i) {
    if (bucket.take(record, now)) {
      sent += record;
    } else {
      ASSERT_GT(bucket.ready_at(), now - 1ns);
      now = std::max(bucket.ready_at(), now + 1us);
    }
  }
  ASSERT_GE(now, end);
  // 10 s at the rate, give or take one record and the time step.
  EXPECT_NEAR(static_cast<double>(sent), 10.0 * rate, 2.0 * record + rate * 1e-6);
}

// The cap counts what crosses the link: before librdkafka has reported what it sent, a record
// is charged its wire size before compression; then the sent/delivered ratio of the producer.
TEST(MirrorLinkMeter, ChargesTheWireSizeUntilTheProducerReportsWhatItSent) {
  link_meter m;
  EXPECT_EQ(m.charge(1000), 1000u);
  m.observe(123'456);  // nothing delivered yet: no ratio to learn
  EXPECT_EQ(m.charge(1000), 1000u);
  m.delivered(1'000'000);
  m.observe(250'000);  // compressed 4:1, framing included
  EXPECT_DOUBLE_EQ(m.ratio(), 0.25);
  EXPECT_EQ(m.charge(1000), 250u);
  // Uncompressible data and request framing: more than the records' wire size.
  m.delivered(1'000'000);
  m.observe(2'100'000);
  EXPECT_DOUBLE_EQ(m.ratio(), 1.05);
  // A new producer counts from 0; the ratio learnt stays until enough is delivered again.
  m.restart();
  m.observe(10);
  EXPECT_DOUBLE_EQ(m.ratio(), 1.05);
  // Bounded either way.
  m.delivered(link_meter::min_sample);
  m.observe(1);
  EXPECT_DOUBLE_EQ(m.ratio(), 0.01);
  EXPECT_EQ(m.charge(1), 1u);
}

TEST(MirrorLinkMeter, ReadsTheProducersTopLevelTxBytes) {
  // Shaped like librdkafka's statistics: the brokers' own "txbytes" and a nested "tx_bytes"
  // must not be taken for the total.
  std::string json =
      R"({"name":"p#producer-1","type":"producer","ts":1,"note":"\"tx_bytes\":7",)"
      R"("brokers":{"b1":{"txbytes":99,"x":{"tx_bytes":5}}},"tx":12,"tx_bytes":987654321,)"
      R"("rx":3})";
  EXPECT_EQ(link_meter::parse_tx_bytes(json), 987654321u);
  EXPECT_EQ(link_meter::parse_tx_bytes(R"({"brokers":{"b":{"tx_bytes":5}}})"), std::nullopt);
  EXPECT_EQ(link_meter::parse_tx_bytes(R"({"tx_bytes":"x"})"), std::nullopt);
  EXPECT_EQ(link_meter::parse_tx_bytes("{\"tx_bytes\": 42}"), 42u);
}

TEST(MirrorTokenBucket, NewRateKeepsTheDebtAndTheBurstBound) {
  auto t0 = tb_clock::time_point{} + 1h;
  token_bucket bucket(1'000'000, t0);
  EXPECT_TRUE(bucket.take(200'000, t0 + 100ms));  // 100,000 earned: 100,000 in debt
  bucket.set_rate(2'000'000, t0 + 100ms);
  EXPECT_DOUBLE_EQ(bucket.capacity(), 500'000);
  EXPECT_NEAR(bucket.tokens(), -100'000, 1);
  EXPECT_FALSE(bucket.take(1, t0 + 100ms));
  // The debt is paid at the new rate: 50 ms at 2 MB/s.
  EXPECT_FALSE(bucket.take(1, t0 + 149ms));
  EXPECT_TRUE(bucket.take(1, t0 + 151ms));
  // Down to a slow rate: what was earned is cut to the new burst.
  bucket.set_rate(1000, t0 + 10s);
  EXPECT_DOUBLE_EQ(bucket.capacity(), 65536);
  EXPECT_LE(bucket.tokens(), 65536);
  // Unlimited, then limited again: starts empty.
  bucket.set_rate(0, t0 + 11s);
  EXPECT_FALSE(bucket.limited());
  EXPECT_TRUE(bucket.take(1u << 30, t0 + 11s));
  bucket.set_rate(1'000'000, t0 + 12s);
  EXPECT_FALSE(bucket.take(1, t0 + 12s));
}

}  // namespace
}  // namespace eb::bridge::mirror_detail

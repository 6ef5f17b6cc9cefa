// Log compaction (cleanup.policy compact): storage's pass with bridge's record codec
// (bridge/compaction_codec.h over net/compaction.h), on a real RocksDB in a temporary directory.
// Batches are real RecordBatch v2 (net::encode_batch); what is read back must decode with a
// correct CRC and keep its offsets.
#include "net/compaction.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bridge/compaction_codec.h"
#include "bridge/topic_configs.h"
#include "net/record_batch.h"
#include "storage/storage.h"
#include "storage/test_hooks.h"
#include "tests/storage/test_util.h"

namespace eb::bridge {
namespace {

using rec = std::pair<std::optional<std::string>, std::optional<std::string>>;
using storage::testing::wait_retention_passes;

class compaction : public ::testing::Test {
 protected:
  storage::options opts() const {
    storage::options o;
    o.data_dir = _dir.path() / "data";
    o.block_cache_bytes = 1 << 20;
    o.write_buffer_bytes = 1 << 20;
    o.segment_bytes = 4096;  // about four of the 1 KiB batches below
    o.retention_check_interval = std::chrono::milliseconds(30);
    o.codec = make_compaction_codec();
    return o;
  }
  std::unique_ptr<storage::log_store> open() {
    auto s = storage::log_store::open(opts());
    EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().message());
    return s ? std::move(*s) : nullptr;
  }
  static void append(storage::log_store& s, const std::string& topic, std::vector<rec> recs) {
    net::batch_builder_input in;
    in.base_timestamp = 1'700'000'000'000;
    for (auto& [k, v] : recs) in.records.push_back({0, k, v, {}});
    storage::append_request r;
    r.topic = topic;
    r.batch = net::encode_batch(in);
    r.record_count = static_cast<int32_t>(recs.size());
    r.max_timestamp = in.base_timestamp;
    auto ack = storage::test::append_one(s, std::move(r));
    ASSERT_TRUE(ack) << ack.error().message();
  }
  static std::string value(int i) { return "v" + std::to_string(i) + std::string(500, '.'); }
  struct seen {
    std::optional<std::string> key;
    std::optional<std::string> value;
  };
  // Every record from offset 0, by offset; every batch must decode (CRC included) and hold its
  // records within its own offsets.
  static std::map<int64_t, seen> read_all(storage::log_store& s, const std::string& topic) {
    std::map<int64_t, seen> out;
    int64_t next = s.offsets(topic, 0)->log_start;
    const int64_t hw = s.offsets(topic, 0)->high_watermark;
    while (next < hw) {
      auto batches = s.read(topic, 0, next, 1 << 20);
      EXPECT_TRUE(batches && !batches->empty());
      if (!batches || batches->empty()) break;
      for (auto& b : *batches) {
        const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(b.bytes.data()),
                                             b.bytes.size());
        auto d = net::decode_compacted_batch(bytes);
        EXPECT_TRUE(d) << "batch at " << b.base_offset << ": " << d.error().message();
        if (!d) return out;
        EXPECT_EQ(d->header.base_offset, b.base_offset);
        EXPECT_EQ(d->header.last_offset(), b.last_offset);
        for (auto& r : d->records) {
          const int64_t o = d->offset_of(r);
          EXPECT_GE(o, b.base_offset);
          EXPECT_LE(o, b.last_offset);
          if (o < next) continue;
          out[o] = {r.key ? std::optional<std::string>(*r.key) : std::nullopt,
                    r.value ? std::optional<std::string>(*r.value) : std::nullopt};
        }
        next = b.last_offset + 1;
      }
    }
    return out;
  }
  static std::vector<int64_t> offsets_of(const std::map<int64_t, seen>& m) {
    std::vector<int64_t> v;
    for (auto& [o, _] : m) v.push_back(o);
    return v;
  }
  // 16 batches of two records (offsets 2i, 2i+1): key k{i%3}, then key "u" every time.
  void fill(storage::log_store& s, const std::string& topic) {
    for (int i = 0; i < 16; ++i) {
      append(s, topic, {{"k" + std::to_string(i % 3), value(i)}, {"u", value(100 + i)}});
    }
  }

  storage::test::temp_dir _dir;
};

std::optional<std::string> entry_value(const std::vector<described_config>& all,
                                       std::string_view name) {
  for (auto& c : all) {
    if (c.name == name) return c.value;
  }
  return "<missing " + std::string(name) + ">";
}

std::vector<int64_t> range(int64_t from, int64_t to) {
  std::vector<int64_t> v;
  for (int64_t o = from; o < to; ++o) v.push_back(o);
  return v;
}

TEST_F(compaction, keeps_the_newest_record_per_key_with_offsets_and_crc) {
  auto s = open();
  ASSERT_TRUE(s->create_topic("c", {.cleanup_delete = false, .cleanup_compact = true}));
  ASSERT_TRUE(s->create_topic("d", {}));
  fill(*s, "c");
  fill(*s, "d");
  const auto before = s->current_usage().log_bytes;
  ASSERT_TRUE(s->commit_mirror_cursors({{{"c", 0}, 32}, {{"d", 0}, 32}}));
  // The active segment starts at 24 (four batches per segment): [0, 24) is compacted. There the
  // newest k0 is at 18, k1 at 20, k2 at 22, u at 23.
  std::vector<int64_t> expected = {18, 20, 22, 23};
  for (auto o : range(24, 32)) expected.push_back(o);
  ASSERT_TRUE(storage::test::eventually([&] { return offsets_of(read_all(*s, "c")) == expected; }))
      << ::testing::PrintToString(offsets_of(read_all(*s, "c")));
  auto got = read_all(*s, "c");
  EXPECT_EQ(got[18].key, "k0");
  EXPECT_EQ(got[18].value, value(9));
  EXPECT_EQ(got[23].value, value(100 + 11));
  EXPECT_EQ(got[31].value, value(100 + 15));
  EXPECT_EQ(s->offsets("c", 0)->log_start, 0);
  EXPECT_EQ(s->offsets("c", 0)->high_watermark, 32);
  // A read from a compacted-away offset starts at the next batch left.
  auto r = s->read("c", 0, 0, 1 << 20);
  ASSERT_TRUE(r && !r->empty());
  EXPECT_EQ(r->front().base_offset, 18);
  EXPECT_LT(s->current_usage().log_bytes, before);
  // A topic with the default policy is not compacted.
  ASSERT_TRUE(wait_retention_passes(*s, 2, std::chrono::seconds(10)));
  EXPECT_EQ(offsets_of(read_all(*s, "d")), range(0, 32));

  // The policy survives a restart, and the compacted log reads the same.
  s.reset();
  s = open();
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->find_topic("c")->config.cleanup_compact);
  EXPECT_FALSE(s->find_topic("c")->config.cleanup_delete);
  EXPECT_FALSE(s->find_topic("d")->config.cleanup_compact);
  EXPECT_EQ(offsets_of(read_all(*s, "c")), expected);
  // More appends: the next pass compacts the older survivors against the new records.
  fill(*s, "c");  // offsets 32..63, active segment from 56
  ASSERT_TRUE(s->commit_mirror_cursors({{{"c", 0}, 64}}));
  expected = {50, 52, 54, 55};
  for (auto o : range(56, 64)) expected.push_back(o);
  ASSERT_TRUE(storage::test::eventually([&] { return offsets_of(read_all(*s, "c")) == expected; }))
      << ::testing::PrintToString(offsets_of(read_all(*s, "c")));
}

TEST_F(compaction, keeps_unmirrored_records) {
  auto s = open();
  ASSERT_TRUE(s->create_topic("c", {.cleanup_delete = false, .cleanup_compact = true}));
  fill(*s, "c");
  // No cursor: nothing mirrored, nothing compacted.
  ASSERT_TRUE(wait_retention_passes(*s, 3, std::chrono::seconds(10)));
  EXPECT_EQ(offsets_of(read_all(*s, "c")), range(0, 32));
  // Mirrored below 10: only [0, 10) is compacted (newest there: k2 at 4, k0 at 6, k1 at 8,
  // u at 9), even though newer records of every key exist above the cursor.
  ASSERT_TRUE(s->commit_mirror_cursors({{{"c", 0}, 10}}));
  std::vector<int64_t> expected = {4, 6, 8, 9};
  for (auto o : range(10, 32)) expected.push_back(o);
  ASSERT_TRUE(storage::test::eventually([&] { return offsets_of(read_all(*s, "c")) == expected; }))
      << ::testing::PrintToString(offsets_of(read_all(*s, "c")));
  ASSERT_TRUE(wait_retention_passes(*s, 2, std::chrono::seconds(10)));
  EXPECT_EQ(offsets_of(read_all(*s, "c")), expected);
}

TEST_F(compaction, tombstones_stay_for_delete_retention_then_go) {
  auto s = open();
  ASSERT_TRUE(s->create_topic(
      "c", {.cleanup_delete = false, .cleanup_compact = true, .delete_retention_ms = 60'000}));
  append(*s, "c", {{"a", value(0)}, {"b", value(1)}});
  append(*s, "c", {{"a", std::nullopt}});  // offset 2: a's tombstone
  for (int i = 0; i < 8; ++i) append(*s, "c", {{"p" + std::to_string(i), value(i)}});
  ASSERT_TRUE(s->commit_mirror_cursors({{{"c", 0}, 11}}));
  // a's value goes at once; its tombstone stays (a consumer must see the deletion).
  ASSERT_TRUE(storage::test::eventually([&] { return !read_all(*s, "c").contains(0); }));
  ASSERT_TRUE(wait_retention_passes(*s, 2, std::chrono::seconds(10)));
  auto got = read_all(*s, "c");
  ASSERT_TRUE(got.contains(2));
  EXPECT_EQ(got[2].key, "a");
  EXPECT_FALSE(got[2].value.has_value());
  EXPECT_TRUE(got.contains(1));
  // Past delete.retention.ms (by the store's clock) the tombstone goes too.
  storage::testing::advance_clock(*s, std::chrono::minutes(2));
  ASSERT_TRUE(storage::test::eventually([&] { return !read_all(*s, "c").contains(2); }));
  got = read_all(*s, "c");
  EXPECT_TRUE(got.contains(1));
  EXPECT_EQ(got.rbegin()->first, 10);
}

TEST_F(compaction, compact_only_topics_skip_retention_and_compact_delete_has_both) {
  auto s = open();
  ASSERT_TRUE(s->create_topic(
      "c", {.retention_ms = 1000, .cleanup_delete = false, .cleanup_compact = true}));
  ASSERT_TRUE(s->create_topic(
      "cd", {.retention_ms = 1000, .cleanup_delete = true, .cleanup_compact = true}));
  fill(*s, "c");
  fill(*s, "cd");
  ASSERT_TRUE(s->commit_mirror_cursors({{{"c", 0}, 32}, {{"cd", 0}, 32}}));
  storage::testing::advance_clock(*s, std::chrono::minutes(1));
  // compact,delete: retention removes the expired, mirrored segments (all of them here).
  ASSERT_TRUE(storage::test::eventually([&] { return s->offsets("cd", 0)->log_start == 32; }));
  ASSERT_TRUE(wait_retention_passes(*s, 2, std::chrono::seconds(10)));
  // compact: nothing is deleted by age, the newest records per key stay.
  EXPECT_EQ(s->offsets("c", 0)->log_start, 0);
  auto got = read_all(*s, "c");
  EXPECT_TRUE(got.contains(18) && got.contains(20) && got.contains(22) && got.contains(23));
}

TEST_F(compaction, a_pass_reads_at_most_its_budget_and_later_passes_finish) {
  auto o = opts();
  o.compaction_max_pass_bytes = 64 << 10;  // about 55 of the 1.1 KiB batches below
  auto opened = storage::log_store::open(o);
  ASSERT_TRUE(opened);
  auto s = std::move(*opened);
  ASSERT_TRUE(s->create_topic("c", {.cleanup_delete = false, .cleanup_compact = true}));
  for (int i = 0; i < 100; ++i) {
    append(*s, "c", {{"k" + std::to_string(i % 3), value(i)}, {"u", value(100 + i)}});
  }
  ASSERT_TRUE(s->commit_mirror_cursors({{{"c", 0}, 200}}));
  // The active segment starts at 192; below it the newest k0, k1, k2 and u are 186..191.
  std::vector<int64_t> expected = {186, 188, 190, 191};
  for (auto off : range(192, 200)) expected.push_back(off);
  ASSERT_TRUE(storage::test::eventually([&] { return offsets_of(read_all(*s, "c")) == expected; }))
      << ::testing::PrintToString(offsets_of(read_all(*s, "c")));
}

// Where a topic's policy comes from: the config file's override, unless its topic configs
// (CreateTopics, alter-configs) say otherwise; delete.retention.ms likewise.
TEST(compaction_policy, config_file_overrides_and_topic_configs_set_it) {
  topics_options opts;
  topic_override ov{.storage = opts.defaults};
  ov.storage.cleanup_delete = false;
  ov.storage.cleanup_compact = true;
  ov.storage.delete_retention_ms = 5000;
  opts.overrides["state"] = ov;
  auto file = effective_topic_config(opts, "state", 1, {});
  EXPECT_TRUE(file.cleanup_compact);
  EXPECT_FALSE(file.cleanup_delete);
  EXPECT_EQ(file.delete_retention_ms, 5000);
  storage::topic_info info{.name = "state", .config = file};
  EXPECT_EQ(entry_value(describe_topic_configs(opts, info), "cleanup.policy"), "compact");
  EXPECT_EQ(entry_value(describe_topic_configs(opts, info), "delete.retention.ms"), "5000");

  auto asked = effective_topic_config(
      opts, "changelog", 1, {{"cleanup.policy", "compact"}, {"delete.retention.ms", "7"}});
  EXPECT_TRUE(asked.cleanup_compact);
  EXPECT_FALSE(asked.cleanup_delete);
  EXPECT_EQ(asked.delete_retention_ms, 7);
  auto plain = effective_topic_config(opts, "other", 1, {});
  EXPECT_TRUE(plain.cleanup_delete);
  EXPECT_FALSE(plain.cleanup_compact);
  EXPECT_EQ(plain.delete_retention_ms, 86'400'000);
}

TEST(compaction_codec, filter_keeps_offsets_timestamps_and_a_valid_crc) {
  for (auto codec : {net::compression::none, net::compression::gzip, net::compression::lz4,
                     net::compression::zstd, net::compression::snappy}) {
    net::batch_builder_input in;
    in.base_offset = 100;
    in.codec = codec;
    in.base_timestamp = 1'700'000'000'000;
    in.producer_id = 7;
    in.producer_epoch = 1;
    in.base_sequence = 40;
    for (int i = 0; i < 5; ++i) {
      in.records.push_back(
          {i * 10, "k" + std::to_string(i % 2), "v" + std::to_string(i), {{"h", "x"}}});
    }
    const auto batch = net::encode_batch(in);
    auto keys = net::batch_keys(batch);
    ASSERT_TRUE(keys);
    ASSERT_EQ(keys->size(), 5u);
    EXPECT_EQ((*keys)[4].offset, 104);
    const std::vector<int64_t> keep = {101, 104};
    auto out = net::filter_batch(batch, keep);
    ASSERT_TRUE(out) << out.error().message();
    const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(out->data()),
                                         out->size());
    auto d = net::decode_compacted_batch(bytes);
    ASSERT_TRUE(d) << d.error().message();
    EXPECT_EQ(d->header.base_offset, 100);
    EXPECT_EQ(d->header.last_offset_delta, 4);
    EXPECT_EQ(d->header.record_count, 2);
    EXPECT_EQ(d->header.codec(), codec);
    EXPECT_EQ(d->header.producer_id, 7);
    EXPECT_EQ(d->header.base_sequence, 40);
    ASSERT_EQ(d->records.size(), 2u);
    EXPECT_EQ(d->offset_of(d->records[0]), 101);
    EXPECT_EQ(d->offset_of(d->records[1]), 104);
    EXPECT_EQ(d->timestamp_of(d->records[1]), in.base_timestamp + 40);
    EXPECT_EQ(*d->records[1].value, "v4");
    ASSERT_EQ(d->records[1].headers.size(), 1u);
    // The produce path's rules are untouched: a compacted batch is not a valid produce batch.
    EXPECT_FALSE(net::validate_batch(bytes));
    // A compacted batch compacts again.
    const std::vector<int64_t> keep2 = {104};
    auto again = net::filter_batch(*out, keep2);
    ASSERT_TRUE(again);
    auto d2 = net::decode_compacted_batch(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(again->data()), again->size()));
    ASSERT_TRUE(d2);
    EXPECT_EQ(d2->header.record_count, 1);
    EXPECT_EQ(d2->offset_of(d2->records[0]), 104);
    // A corrupt batch is refused, not rewritten.
    std::string bad = batch;
    bad[bad.size() - 1] ^= 1;
    EXPECT_FALSE(net::filter_batch(bad, keep));
  }
}

}  // namespace
}  // namespace eb::bridge

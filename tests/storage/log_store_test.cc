// log_store's options, errors, topics (creation, configs, ids) and group names, on a real RocksDB
// in a temporary directory.
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

// The optional retention guard for local consumers: retention (storage) never deletes what a
// protected consumer group has not committed past; config's topics.retention_protected_groups
// turns it on.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <thread>
#include <variant>

#include "config/config.h"
#include "net/record_batch.h"
#include "storage/storage.h"
#include "tests/support/bounded_wait.h"

namespace {

using namespace std::chrono_literals;
namespace storage = eb::storage;

class RetentionGuardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    _dir = std::filesystem::temp_directory_path() /
           ("eb-retention-guard-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(_dir);
  }
  void TearDown() override {
    if (_store) _store->close();
    _store.reset();
    std::filesystem::remove_all(_dir);
  }

  // A store whose retention runs every 20 ms, with one segment per batch (5 KB batches, 4 KiB
  // segments) and a topic whose
  // mirrored data expires at once.
  void open(std::set<std::string> protected_groups) {
    storage::options opts;
    opts.data_dir = _dir;
    opts.segment_bytes = 4096;
    opts.retention_check_interval = 20ms;
    opts.retention_protected_groups = std::move(protected_groups);
    auto s = storage::log_store::open(opts);
    ASSERT_TRUE(s) << s.error().message();
    _store = std::move(*s);
    storage::topic_config cfg;
    cfg.retention_ms = 0;
    ASSERT_TRUE(_store->create_topic("t", cfg));
    for (int i = 0; i < 10; ++i) append(10);
    ASSERT_EQ(_store->offsets("t", 0)->high_watermark, 100);
    // Everything is mirrored: without protection, retention may delete it all.
    ASSERT_TRUE(_store->commit_mirror_cursors({{{"t", 0}, 100}}));
  }

  void append(int records) {
    eb::net::batch_builder_input b;
    b.base_timestamp = 1'000;  // long expired
    for (int i = 0; i < records; ++i) b.records.push_back({.value = std::string(500, 'v')});
    storage::append_request req;
    req.topic = "t";
    req.partition = 0;
    req.batch = eb::net::encode_batch(b);
    req.record_count = records;
    req.max_timestamp = 1'000;
    std::promise<void> done;
    _store->append({std::move(req)}, [&](std::vector<eb::result<storage::append_ack>> acks) {
      EXPECT_TRUE(acks.at(0));
      done.set_value();
    });
    eb::test::get_within(done.get_future(), "an append to complete");
  }

  // The log start once it has stopped moving (retention passes are 20 ms apart).
  int64_t settled_log_start(int64_t at_least = 0) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    int64_t last = -1;
    int stable = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      const int64_t now = _store->offsets("t", 0)->log_start;
      stable = (now == last && now >= at_least) ? stable + 1 : 0;
      if (stable >= 10) break;
      last = now;
      std::this_thread::sleep_for(20ms);
    }
    return last;
  }

  void commit(const std::string& group, int64_t offset) {
    ASSERT_TRUE(_store->commit_group_offsets(group, {{{"t", 0}, {offset, ""}}}));
  }

  std::filesystem::path _dir;
  std::unique_ptr<storage::log_store> _store;
};

TEST_F(RetentionGuardTest, WithoutProtectionMirroredDataExpires) {
  open({});
  commit("edge-app", 5);  // a group's commits do not matter unless it is protected
  EXPECT_EQ(settled_log_start(100), 100);
}

TEST_F(RetentionGuardTest, AProtectedGroupKeepsWhatItHasNotCommittedPast) {
  open({"edge-app", "other-app"});
  // Neither group committed anything: everything stays.
  EXPECT_EQ(settled_log_start(), 0);
  commit("edge-app", 35);
  commit("other-app", 80);
  // The slowest protected group decides; whole segments (batches of 10) below its commit go.
  const int64_t start = settled_log_start(1);
  EXPECT_GT(start, 0);
  EXPECT_LE(start, 35);
  // Fetching at the commit still works: the batch holding offset 35 is kept.
  auto read = _store->read("t", 0, 35, 1 << 20);
  ASSERT_TRUE(read);
  ASSERT_FALSE(read->empty());
  EXPECT_LE(read->front().base_offset, 35);
  commit("edge-app", 100);
  const int64_t later = settled_log_start(start + 1);
  EXPECT_GT(later, 35);
  EXPECT_LE(later, 80) << "other-app has not committed past 80";
  commit("other-app", 100);
  EXPECT_EQ(settled_log_start(100), 100);
}

TEST(RetentionGuardConfig, TopicsRetentionProtectedGroups) {
  auto parsed = eb::config::parse(
      "storage: {data_dir: /tmp/eb-unused}\n"
      "topics: {retention_protected_groups: [dashboard, alarms-app]}\n");
  ASSERT_TRUE(std::holds_alternative<eb::config::bridge_config>(parsed));
  auto& cfg = std::get<eb::config::bridge_config>(parsed);
  EXPECT_EQ(cfg.storage.retention_protected_groups,
            (std::set<std::string>{"dashboard", "alarms-app"}));
  auto defaults = eb::config::parse("storage: {data_dir: /tmp/eb-unused}\n");
  ASSERT_TRUE(std::holds_alternative<eb::config::bridge_config>(defaults));
  EXPECT_TRUE(
      std::get<eb::config::bridge_config>(defaults).storage.retention_protected_groups.empty());
  auto bad = eb::config::parse("topics: {retention_protected_groups: dashboard}\n");
  EXPECT_TRUE(std::holds_alternative<eb::config::problems>(bad));
}

}  // namespace

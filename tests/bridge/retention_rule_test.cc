// The process maps the mirror config onto storage's rule for unmirrored data: a configured mirror
// holds retention even while disabled; with no mirror at all retention deletes and records gaps.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>

#include "bridge/app.h"
#include "config/config.h"
#include "storage/storage.h"
#include "storage/test_hooks.h"
#include "tests/storage/batch_util.h"
#include "tests/support/bounded_wait.h"

namespace {

using namespace std::chrono_literals;

class RetentionRuleTest : public ::testing::Test {
 protected:
  void TearDown() override {
    _app.reset();
    std::filesystem::remove_all(_dir);
  }

  // Starts the process with `bootstrap` and `enabled`, stores 8 batches of a topic with
  // retention.ms 0, and waits for two retention passes after they were stored.
  void run(const std::string& bootstrap, bool enabled) {
    _dir = std::filesystem::temp_directory_path() /
           ("eb-retention-rule-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    eb::config::bridge_config cfg;
    cfg.storage.data_dir = _dir;
    cfg.storage.segment_bytes = 4096;
    cfg.storage.retention_check_interval = 20ms;
    cfg.server.host = "127.0.0.1";
    cfg.server.port = 0;
    cfg.http.port = 0;  // tests run side by side
    cfg.mirror.bootstrap = bootstrap;
    cfg.mirror.enabled = enabled;
    auto app = eb::bridge::app::start(cfg);
    ASSERT_TRUE(app) << app.error().message();
    _app = std::move(*app);
    auto& store = _app->store();
    ASSERT_TRUE(store.create_topic("t", {.retention_ms = 0}));
    for (int i = 0; i < 8; ++i) {
      eb::storage::test::batch_spec b;
      b.payload = std::string(1000, 'r');
      std::vector<eb::storage::append_request> reqs;
      reqs.push_back(eb::storage::test::make_request("t", 0, b));
      std::promise<bool> done;
      store.append(std::move(reqs), [&](std::vector<eb::result<eb::storage::append_ack>> acks) {
        done.set_value(static_cast<bool>(acks.at(0)));
      });
      ASSERT_TRUE(eb::test::get_within(done.get_future(), "an append to complete"));
    }
    eb::storage::testing::advance_clock(store, 1s);  // every batch is past retention.ms 0
    ASSERT_TRUE(eb::storage::testing::wait_retention_passes(store, 2, 10s));
  }

  std::filesystem::path _dir;
  std::unique_ptr<eb::bridge::app> _app;
};

TEST_F(RetentionRuleTest, ADisabledMirrorHoldsUnmirroredData) {
  ASSERT_NO_FATAL_FAILURE(run("127.0.0.1:9", false));
  EXPECT_EQ(_app->store().offsets("t", 0)->log_start, 0);
  EXPECT_TRUE(_app->store().gaps_after(0).empty());
  EXPECT_EQ(_app->store().current_usage().dropped_records, 0u);
}

TEST_F(RetentionRuleTest, WithoutAMirrorRetentionDeletesAndRecordsTheGap) {
  ASSERT_NO_FATAL_FAILURE(run("", true));
  auto& store = _app->store();
  EXPECT_GT(store.offsets("t", 0)->log_start, 0);
  auto gaps = store.gaps_after(0);
  ASSERT_FALSE(gaps.empty());
  EXPECT_EQ(gaps.front().reason, "retention (no mirror)");
  EXPECT_EQ(gaps.front().first_offset, 0);
  EXPECT_EQ(gaps.back().last_offset, store.offsets("t", 0)->log_start - 1);
  EXPECT_EQ(store.current_usage().dropped_records,
            static_cast<uint64_t>(store.offsets("t", 0)->log_start));
}

}  // namespace

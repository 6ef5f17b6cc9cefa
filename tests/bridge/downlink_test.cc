// The downlink's live topic list (downlink::set_topics, what remote configuration calls) and its
// ownership marks, against the real broker: bad rules are refused whole, a new rule starts
// copying, a removed one stops, and the marks survive a restart.
#include "bridge/downlink/downlink.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <array>

#include "tests/bridge/mirror_support.h"
#include "tests/support/cloud_kafka.h"

namespace eb::test {
namespace {

using namespace std::chrono_literals;

// Produces `n` records to partition i % partitions of a cloud topic and waits for them.
void cloud_produce(const std::string& bootstrap, const std::string& topic, int partitions, int n) {
  std::array<char, 512> err{};
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  ASSERT_EQ(rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err.data(), err.size()),
            RD_KAFKA_CONF_OK);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err.data(), err.size());
  ASSERT_NE(rk, nullptr) << err.data();
  for (int i = 0; i < n; ++i) {
    std::string v = "v" + std::to_string(i);
    ASSERT_EQ(
        rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(i % partitions),
                          RD_KAFKA_V_VALUE(v.data(), v.size()),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
        RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  EXPECT_EQ(rd_kafka_flush(rk, 60'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(rk);
}

int64_t stored(const storage::log_store& store, const std::string& topic) {
  auto info = store.find_topic(topic);
  if (!info) return -1;
  int64_t n = 0;
  for (int32_t p = 0; p < info->config.partitions; ++p)
    n += store.offsets(topic, p)->high_watermark;
  return n;
}

bool copies(const bridge::downlink& d, const std::string& cloud_topic) {
  for (auto& p : d.status().partitions) {
    if (p.cloud_topic == cloud_topic) return true;
  }
  return false;
}

TEST(Downlink, SetTopicsChecksRulesAndAppliesThemLive) {
  const std::string cloud = cloud_bootstrap();
  const std::string site = "dls" + unique_suffix();
  create_cloud_topic(cloud, site + ".a", 2);
  create_cloud_topic(cloud, site + ".b", 1);
  cloud_produce(cloud, site + ".a", 2, 50);
  cloud_produce(cloud, site + ".b", 1, 50);

  temp_dir dir("downlink");
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  bridge::downlink_options o;
  o.bootstrap = cloud;
  o.site_id = site;
  o.metadata_refresh = 200ms;
  {
    bridge::downlink d(o, *store, nullptr);
    ASSERT_TRUE(d.start());

    // Refused whole: a pattern feeding one local topic, and an illegal name.
    auto problems = d.set_topics({{"{site}.a", "a"}, {"{site}.*", "all"}, {"x", "bad/name"}});
    ASSERT_EQ(problems.size(), 2u);
    EXPECT_NE(problems[0].find("downlink.topics[1]"), std::string::npos) << problems[0];
    EXPECT_NE(problems[1].find("downlink.topics[2]"), std::string::npos) << problems[1];
    EXPECT_TRUE(d.status().rules.empty());

    // Added: copied, with the cloud's partition count.
    EXPECT_TRUE(d.set_topics({{"{site}.a", "a"}}).empty());
    ASSERT_TRUE(wait_until([&] { return stored(*store, "a") == 50; }, 60s));
    EXPECT_EQ(store->find_topic("a")->config.partitions, 2);
    EXPECT_EQ(store->find_topic("b"), std::nullopt);

    // A second rule joins; then the first is removed and stops.
    EXPECT_TRUE(d.set_topics({{"{site}.a", "a"}, {"{site}.b", "local-{topic}"}}).empty());
    ASSERT_TRUE(wait_until([&] { return stored(*store, "local-" + site + ".b") == 50; }, 60s));
    EXPECT_TRUE(d.set_topics({{"{site}.b", "local-{topic}"}}).empty());
    ASSERT_TRUE(wait_until([&] { return !copies(d, site + ".a"); }, 30s));
    cloud_produce(cloud, site + ".a", 2, 20);
    cloud_produce(cloud, site + ".b", 1, 20);
    ASSERT_TRUE(wait_until([&] { return stored(*store, "local-" + site + ".b") == 70; }, 60s));
    EXPECT_EQ(stored(*store, "a"), 50);
    EXPECT_EQ(d.status().rules.size(), 1u);

    EXPECT_TRUE(d.owns("a"));
    EXPECT_TRUE(d.owns("local-" + site + ".b"));
    EXPECT_FALSE(d.owns("other"));
    d.stop();
  }
  // The marks are in storage: a topic once the downlink's stays excluded from the mirror.
  EXPECT_EQ(bridge::downlink_owned_topics(*store),
            (std::set<std::string>{"a", "local-" + site + ".b"}));
  bridge::downlink again(o, *store, nullptr);
  EXPECT_TRUE(again.owns("a"));

  // Back to topic a: it resumes at its stored cursor and copies only the 20 new records.
  ASSERT_TRUE(again.start());
  EXPECT_TRUE(again.set_topics({{"{site}.a", "a"}}).empty());
  ASSERT_TRUE(wait_until([&] { return stored(*store, "a") == 70; }, 60s));
  ASSERT_TRUE(wait_until(
      [&] {
        auto s = again.status();
        return s.partitions.size() == 2 && s.partitions[0].lag == 0 && s.partitions[1].lag == 0;
      },
      30s));
  EXPECT_EQ(stored(*store, "a"), 70);

  // A local topic the downlink did not create (device data) is never written: blocked, with why.
  ASSERT_TRUE(store->create_topic("devices", storage::topic_config{.partitions = 1}));
  EXPECT_TRUE(again.set_topics({{"{site}.b", "devices"}}).empty());
  ASSERT_TRUE(wait_until(
      [&] {
        auto s = again.status();
        return s.partitions.size() == 1 && s.partitions[0].state == "blocked";
      },
      30s));
  EXPECT_NE(again.status().partitions[0].error.find("was not created by the downlink"),
            std::string::npos);
  EXPECT_EQ(stored(*store, "devices"), 0);
  EXPECT_FALSE(again.owns("devices"));
}

}  // namespace
}  // namespace eb::test

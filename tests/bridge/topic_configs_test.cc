// The Kafka topic config mapping (bridge/topic_configs.h): validation messages, the precedence of
// admin-API settings over the config file, and what DescribeConfigs reports.
#include "bridge/topic_configs.h"

#include <gtest/gtest.h>

namespace eb::bridge {
namespace {

const described_config& entry(const std::vector<described_config>& all, std::string_view name) {
  for (auto& c : all) {
    if (c.name == name) return c;
  }
  static described_config none;
  ADD_FAILURE() << "no entry " << name;
  return none;
}

TEST(topic_configs, values_are_checked_by_type_and_range) {
  EXPECT_FALSE(check_topic_config("retention.ms", "-1", false));
  EXPECT_FALSE(check_topic_config("retention.ms", "86400000", false));
  EXPECT_FALSE(check_topic_config("retention.bytes", "1048576", false));
  EXPECT_FALSE(check_topic_config("cleanup.policy", "compact,delete", false));
  EXPECT_FALSE(check_topic_config("cleanup.policy", "compact", false));
  EXPECT_FALSE(check_topic_config("edgebridge.priority", "-1000", false));
  EXPECT_FALSE(check_topic_config("edgebridge.mirror.on.refusal", "skip", false));
  EXPECT_FALSE(check_topic_config("segment.bytes", "52428800", false));
  EXPECT_FALSE(check_topic_config("message.timestamp.type", "CreateTime", false));
  EXPECT_FALSE(check_topic_config("min.cleanable.dirty.ratio", "0.1", false));

  auto why = check_topic_config("retention.ms", "-2", false);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("retention.ms"), std::string::npos) << *why;
  EXPECT_NE(why->find("[-1,"), std::string::npos) << *why;
  EXPECT_TRUE(check_topic_config("retention.ms", "soon", false));
  EXPECT_TRUE(check_topic_config("retention.ms", "", false));
  EXPECT_TRUE(check_topic_config("retention.ms", "99999999999999999999", false));
  EXPECT_TRUE(check_topic_config("cleanup.policy", "compress", false));
  EXPECT_TRUE(check_topic_config("cleanup.policy", "", false));
  EXPECT_TRUE(check_topic_config("edgebridge.priority", "1001", false));
  EXPECT_TRUE(check_topic_config("max.message.bytes", "3000000000", false));
  EXPECT_TRUE(check_topic_config("edgebridge.mirror.on.refusal", "drop", false));
  EXPECT_TRUE(check_topic_config("preallocate", "yes", false));
  auto unknown = check_topic_config("retention.msec", "1", false);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(*unknown, "Unknown topic config name: retention.msec");
}

TEST(topic_configs, mirror_mapping_is_set_at_creation_only) {
  EXPECT_FALSE(check_topic_config("edgebridge.mirror.enabled", "false", true));
  EXPECT_FALSE(check_topic_config("edgebridge.mirror.target", "cloud.t", true));
  EXPECT_TRUE(check_topic_config("edgebridge.mirror.target", "bad name", true));
  auto why = check_topic_config("edgebridge.mirror.enabled", "false", false);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("when the topic is created"), std::string::npos);
}

TEST(topic_configs, settings_win_over_the_config_file) {
  topics_options opts;
  opts.defaults.retention_ms = 1000;
  opts.defaults.priority = 1;
  topic_override ov{.storage = opts.defaults};
  ov.storage.retention_ms = 5000;
  opts.overrides["t"] = ov;

  auto file_only = effective_topic_config(opts, "t", 3, {});
  EXPECT_EQ(file_only.partitions, 3);
  EXPECT_EQ(file_only.retention_ms, 5000);
  EXPECT_EQ(file_only.priority, 1);
  EXPECT_TRUE(file_only.cleanup_delete);
  EXPECT_FALSE(file_only.cleanup_compact);

  auto cfg = effective_topic_config(opts, "t", 3,
                                    {{"retention.ms", "7"},
                                     {"edgebridge.priority", "9"},
                                     {"retention.bytes", "100"},
                                     {"cleanup.policy", "compact"}});
  EXPECT_EQ(cfg.retention_ms, 7);
  EXPECT_EQ(cfg.retention_bytes, 100);
  EXPECT_EQ(cfg.priority, 9);
  EXPECT_FALSE(cfg.cleanup_delete);
  EXPECT_TRUE(cfg.cleanup_compact);
  EXPECT_EQ(cfg.settings.size(), 4u);

  auto both = effective_topic_config(opts, "other", 1, {{"cleanup.policy", "delete, compact"}});
  EXPECT_EQ(both.retention_ms, 1000) << "topics.defaults";
  EXPECT_TRUE(both.cleanup_delete);
  EXPECT_TRUE(both.cleanup_compact);
}

TEST(topic_configs, max_message_bytes_never_exceeds_the_bridge_limit) {
  topics_options opts;
  opts.max_message_bytes = 100'000;
  storage::topic_config cfg;
  EXPECT_EQ(topic_max_message_bytes(opts, cfg), 100'000u);
  cfg.settings["max.message.bytes"] = "5000";
  EXPECT_EQ(topic_max_message_bytes(opts, cfg), 5000u);
  cfg.settings["max.message.bytes"] = "5000000";
  EXPECT_EQ(topic_max_message_bytes(opts, cfg), 100'000u);
}

TEST(topic_configs, describe_reports_sources_and_synonyms_as_kafka_does) {
  topics_options opts;
  opts.defaults.retention_ms = 1000;
  topic_override ov{.storage = opts.defaults};
  ov.storage.retention_bytes = 4096;
  ov.mirror = false;
  opts.overrides["t"] = ov;
  storage::topic_info info{.name = "t"};
  info.config = effective_topic_config(opts, "t", 2,
                                       {{"retention.ms", "60000"}, {"segment.bytes", "52428800"}});
  auto all = describe_topic_configs(opts, info);
  ASSERT_TRUE(
      std::is_sorted(all.begin(), all.end(), [](auto& a, auto& b) { return a.name < b.name; }));

  auto& ms = entry(all, "retention.ms");
  EXPECT_EQ(ms.value, "60000");
  EXPECT_EQ(ms.source, config_source::dynamic_topic);
  EXPECT_FALSE(ms.read_only);
  EXPECT_EQ(ms.type, config_type::int64);
  ASSERT_EQ(ms.synonyms.size(), 2u);
  EXPECT_EQ(ms.synonyms[1].name, "topics.defaults.retention");
  EXPECT_EQ(ms.synonyms[1].value, "1000");
  EXPECT_EQ(ms.synonyms[1].source, config_source::default_config);

  auto& bytes = entry(all, "retention.bytes");
  EXPECT_EQ(bytes.value, "4096");
  EXPECT_EQ(bytes.source, config_source::static_broker);
  EXPECT_EQ(bytes.synonyms[0].name, "topics.overrides.t.retention_bytes");

  auto& mirror = entry(all, "edgebridge.mirror.enabled");
  EXPECT_EQ(mirror.value, "false");
  EXPECT_TRUE(mirror.read_only);

  auto& seg = entry(all, "segment.bytes");
  EXPECT_EQ(seg.value, "52428800");
  EXPECT_EQ(seg.source, config_source::dynamic_topic);
  auto& ts = entry(all, "message.timestamp.type");
  EXPECT_EQ(ts.value, "CreateTime");
  EXPECT_EQ(ts.source, config_source::default_config);
  EXPECT_EQ(entry(all, "cleanup.policy").value, "delete");
  EXPECT_EQ(entry(all, "cleanup.policy").type, config_type::list);
}

TEST(topic_configs, broker_configs_are_read_only) {
  topics_options opts;
  auto all = describe_broker_configs(
      opts,
      {.node_id = 1, .advertised_host = "127.0.0.1", .advertised_port = 9092, .data_dir = "/d"});
  for (auto& c : all) EXPECT_TRUE(c.read_only) << c.name;
  EXPECT_EQ(entry(all, "advertised.listeners").value, "PLAINTEXT://127.0.0.1:9092");
  EXPECT_EQ(entry(all, "log.dirs").value, "/d");
}

}  // namespace
}  // namespace eb::bridge

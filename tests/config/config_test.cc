#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace {

using ::testing::HasSubstr;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    _dir = std::filesystem::temp_directory_path() /
           ("eb-config-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(_dir);
  }
  void TearDown() override {
    std::filesystem::permissions(_dir, std::filesystem::perms::owner_all);
    std::filesystem::remove_all(_dir);
  }
  // The YAML with a data dir of the test's own, so validation does not touch the working dir.
  std::string with_data_dir(const std::string& yaml) const {
    const std::string data_dir = "data_dir: " + (_dir / "data").string();
    if (auto pos = yaml.find("storage: {"); pos != std::string::npos) {
      return std::string(yaml).insert(pos + 10, data_dir + ", ");
    }
    return "storage: {" + data_dir + "}\n" + yaml;
  }
  eb::config::problems problems_of(const std::string& yaml) const {
    auto r = eb::config::parse(with_data_dir(yaml));
    if (auto* p = std::get_if<eb::config::problems>(&r)) return *p;
    return {};
  }
  eb::config::bridge_config config_of(const std::string& yaml) const {
    auto r = eb::config::parse(with_data_dir(yaml));
    if (auto* p = std::get_if<eb::config::problems>(&r)) {
      ADD_FAILURE() << "unexpected problems: " << ::testing::PrintToString(*p);
      return {};
    }
    return std::get<eb::config::bridge_config>(r);
  }

  std::filesystem::path _dir;
};

TEST_F(ConfigTest, EmptyFileGivesDefaults) {
  auto c = config_of("");
  EXPECT_EQ(c.server.port, 9092);
  EXPECT_EQ(c.storage.fsync, eb::storage::fsync_policy::always);
  EXPECT_EQ(c.storage.on_quota, eb::storage::quota_policy::reject);
  EXPECT_TRUE(c.topics.auto_create);
  EXPECT_EQ(c.topics.defaults.partitions, 1);
  EXPECT_EQ(c.site_id, "edge");
  EXPECT_EQ(c.mirror.site_id, "edge");
  EXPECT_EQ(c.mirror.on_refusal, eb::bridge::refusal_policy::pause);
  EXPECT_TRUE(c.mirror.topic_on_refusal.empty());
}

TEST_F(ConfigTest, EmbeddedDefaultParses) {
  auto r = eb::config::parse(eb::config::default_yaml());
  ASSERT_TRUE(std::holds_alternative<eb::config::bridge_config>(r));
}

TEST_F(ConfigTest, ReadsEveryKind) {
  auto c = config_of(R"(
site_id: plant-7
log_level: debug
listener: {host: 0.0.0.0, port: 19092, advertised_host: gw.local, advertised_port: 29092}
server: {io_threads: 2, max_request_bytes: 10MiB, idle_timeout: 5m, max_connections: 50,
         max_connections_per_ip: 8, max_queued_request_bytes: 64MiB, request_timeout: 10s,
         fetch_max_bytes: 2MiB}
topics:
  auto_create: false
  defaults: {partitions: 3, retention: 2d, retention_bytes: 1GiB}
  overrides:
    alarms: {priority: 10, target: cloud.alarms, on_refusal: pause}
    debug-noise: {mirror: false, retention: 1h}
mirror:
  bootstrap: cloud:9092
  on_refusal: skip
  properties: {security.protocol: SASL_SSL, sasl.mechanism: PLAIN}
  compression: lz4
  max_inflight_bytes: 4MiB
  linger: 200ms
)");
  EXPECT_EQ(c.site_id, "plant-7");
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.server.host, "0.0.0.0");
  EXPECT_EQ(c.server.port, 19092);
  EXPECT_EQ(c.advertised_host, "gw.local");
  EXPECT_EQ(c.advertised_port, 29092);
  EXPECT_EQ(c.server.io_threads, 2);
  EXPECT_EQ(c.server.max_request_bytes, 10u << 20);
  EXPECT_EQ(c.server.idle_timeout, std::chrono::minutes(5));
  EXPECT_EQ(c.server.max_connections_per_ip, 8u);
  EXPECT_EQ(c.server.max_queued_request_bytes, 64u << 20);
  EXPECT_EQ(c.server.request_timeout, std::chrono::seconds(10));
  EXPECT_EQ(c.handlers.fetch_max_bytes, 2 << 20);
  EXPECT_FALSE(c.topics.auto_create);
  EXPECT_EQ(c.topics.defaults.partitions, 3);
  EXPECT_EQ(c.topics.defaults.retention_ms, 2 * 86400'000LL);
  EXPECT_EQ(c.topics.defaults.retention_bytes, 1LL << 30);
  // Overrides start from the defaults.
  EXPECT_EQ(c.topics.config_for("alarms").priority, 10);
  EXPECT_EQ(c.topics.config_for("alarms").partitions, 3);
  EXPECT_EQ(c.topics.config_for("debug-noise").retention_ms, 3600'000);
  EXPECT_EQ(c.topics.config_for("other").priority, 0);
  EXPECT_EQ(c.mirror.bootstrap, "cloud:9092");
  EXPECT_EQ(c.mirror.properties.at("security.protocol"), "SASL_SSL");
  EXPECT_EQ(c.mirror.compression, "lz4");
  EXPECT_EQ(c.mirror.max_inflight_bytes, 4u << 20);
  EXPECT_EQ(c.mirror.linger, std::chrono::milliseconds(200));
  EXPECT_EQ(c.mirror.site_id, "plant-7");
  EXPECT_TRUE(c.mirror.excluded_topics.count("debug-noise"));
  EXPECT_EQ(c.mirror.topic_overrides.at("alarms"), "cloud.alarms");
  // The per-topic policy overrides the mirror's default; topics without one take the default.
  EXPECT_EQ(c.mirror.on_refusal, eb::bridge::refusal_policy::skip);
  EXPECT_EQ(c.mirror.refusal_for("alarms"), eb::bridge::refusal_policy::pause);
  EXPECT_EQ(c.mirror.refusal_for("debug-noise"), eb::bridge::refusal_policy::skip);
  EXPECT_FALSE(c.mirror.topic_on_refusal.count("debug-noise"));
}

TEST_F(ConfigTest, GroupsSectionBoundsSessionTimeouts) {
  auto c = config_of("groups: {min_session_timeout: 2s, max_session_timeout: 1m, max_groups: 5}\n");
  EXPECT_EQ(c.groups.min_session_timeout, std::chrono::seconds(2));
  EXPECT_EQ(c.groups.max_session_timeout, std::chrono::minutes(1));
  EXPECT_EQ(c.groups.max_groups, 5u);
  EXPECT_THAT(problems_of("groups: {min_session_timeout: 1m, max_session_timeout: 10s}\n"),
              ::testing::Contains(HasSubstr("groups.max_session_timeout: must be at least")));
  EXPECT_THAT(problems_of("groups: {max_group_size: 0}\n"),
              ::testing::Contains(HasSubstr("groups.max_group_size")));
}

TEST_F(ConfigTest, TopicOverridesSetTheCleanupPolicy) {
  auto c = config_of(
      "topics:\n  defaults: {delete_retention: 2h}\n  overrides:\n"
      "    state: {cleanup_policy: compact}\n    both: {cleanup_policy: 'compact,delete'}\n");
  EXPECT_TRUE(c.topics.defaults.cleanup_delete);
  EXPECT_FALSE(c.topics.defaults.cleanup_compact);
  EXPECT_FALSE(c.topics.overrides.at("state").storage.cleanup_delete);
  EXPECT_TRUE(c.topics.overrides.at("state").storage.cleanup_compact);
  EXPECT_EQ(c.topics.overrides.at("state").storage.delete_retention_ms, 2 * 3600 * 1000);
  EXPECT_TRUE(c.topics.overrides.at("both").storage.cleanup_delete);
  EXPECT_TRUE(c.topics.overrides.at("both").storage.cleanup_compact);
  EXPECT_EQ(
      config_of("storage: {compaction_max_pass_bytes: 4MiB}").storage.compaction_max_pass_bytes,
      4u << 20);
  EXPECT_THAT(
      problems_of("storage: {compaction_max_pass_bytes: 1KiB}"),
      ::testing::Contains(HasSubstr("storage.compaction_max_pass_bytes: must be at least")));
  EXPECT_THAT(problems_of("topics: {overrides: {a: {cleanup_policy: shred}}}"),
              ::testing::Contains(
                  HasSubstr("topics.overrides.a.cleanup_policy: expected one of delete, compact")));
}

TEST_F(ConfigTest, RejectsUnknownKeysAtEveryLevel) {
  auto p = problems_of("colour: blue\nstorage_: {}\nlistener: {prot: 1}\n");
  EXPECT_THAT(p, ::testing::Contains(HasSubstr("colour: unknown key")));
  EXPECT_THAT(p, ::testing::Contains(HasSubstr("storage_: unknown key")));
  EXPECT_THAT(p, ::testing::Contains(HasSubstr("listener.prot: unknown key")));
}

TEST_F(ConfigTest, RejectsWrongTypes) {
  EXPECT_THAT(problems_of("listener: {port: abc}"),
              ::testing::ElementsAre(HasSubstr("listener.port: expected an integer")));
  EXPECT_THAT(problems_of("topics: {auto_create: maybe}"),
              ::testing::ElementsAre(HasSubstr("topics.auto_create: expected true or false")));
  EXPECT_THAT(problems_of("listener: [1, 2]"),
              ::testing::ElementsAre(HasSubstr("listener: must be a mapping")));
  EXPECT_THAT(problems_of("listener: {host: [a]}"),
              ::testing::ElementsAre(HasSubstr("listener.host: must be a single value")));
  EXPECT_THAT(problems_of("mirror: {properties: [a]}"),
              ::testing::ElementsAre(HasSubstr("mirror.properties: must be a mapping")));
}

TEST_F(ConfigTest, RejectsBadPorts) {
  EXPECT_THAT(problems_of("listener: {port: 70000}"),
              ::testing::ElementsAre(HasSubstr("listener.port: must be between 0 and 65535")));
  EXPECT_THAT(problems_of("listener: {port: -1}"),
              ::testing::ElementsAre(HasSubstr("listener.port: must be between")));
  EXPECT_THAT(problems_of("listener: {port: 0}"),
              ::testing::ElementsAre(HasSubstr("listener.port: must be between 1 and 65535")));
}

TEST_F(ConfigTest, RejectsBadEnumsSizesAndDurations) {
  EXPECT_THAT(
      problems_of("storage: {fsync: sometimes}"),
      ::testing::Contains(HasSubstr("storage.fsync: expected one of always, interval, never")));
  EXPECT_THAT(problems_of("mirror: {on_refusal: drop}"),
              ::testing::Contains(HasSubstr("mirror.on_refusal: expected one of pause, skip")));
  EXPECT_THAT(
      problems_of("topics: {overrides: {a: {on_refusal: ignore}}}"),
      ::testing::Contains(HasSubstr("topics.overrides.a.on_refusal: expected one of pause, skip")));
  EXPECT_THAT(problems_of("storage: {quota_policy: drop}"),
              ::testing::Contains(HasSubstr("storage.quota_policy: expected one of reject")));
  EXPECT_THAT(problems_of("storage: {max_disk_bytes: 12 parsecs}"),
              ::testing::Contains(HasSubstr("storage.max_disk_bytes: expected a size")));
  // Durations carry units: a bare number is ambiguous.
  EXPECT_THAT(
      problems_of("server: {idle_timeout: 600}"),
      ::testing::ElementsAre(HasSubstr("server.idle_timeout: expected a duration with a unit")));
  EXPECT_THAT(problems_of("log_level: loud"),
              ::testing::ElementsAre(HasSubstr("log_level: expected one of trace")));
  EXPECT_THAT(problems_of("topics: {defaults: {partitions: 0}}"),
              ::testing::ElementsAre(HasSubstr("topics.defaults.partitions: must be between 1")));
}

TEST_F(ConfigTest, RejectsBadSiteId) {
  EXPECT_THAT(problems_of("site_id: 'a b'"),
              ::testing::Contains(HasSubstr("site_id: must be 1-64 characters")));
}

TEST_F(ConfigTest, ReportsEveryProblemAtOnce) {
  auto p = problems_of("listener: {port: x}\nstorage: {fsync: no}\nbogus: 1\n");
  EXPECT_EQ(p.size(), 3u) << ::testing::PrintToString(p);
}

TEST_F(ConfigTest, RejectsDuplicateKeysNamingThem) {
  // yaml-cpp alone would keep fsync: always and drop the second one.
  auto p = problems_of(
      "storage: {fsync: always, fsync: never}\n"
      "topics:\n  overrides:\n    a: {priority: 1, priority: 2}\n    b: {priority: 1}\n"
      "site_id: x\nsite_id: y\n");
  EXPECT_THAT(p, ::testing::UnorderedElementsAre(
                     HasSubstr("storage.fsync: duplicate key (line 1)"),
                     HasSubstr("topics.overrides.a.priority: duplicate key (line 4)"),
                     HasSubstr("site_id: duplicate key (line 7)")));
  // The same key in different mappings is fine.
  EXPECT_THAT(problems_of("topics:\n  overrides:\n    a: {priority: 1}\n    b: {priority: 1}\n"),
              ::testing::IsEmpty());
}

TEST_F(ConfigTest, RejectsSyntaxErrorsWithPosition) {
  auto r = eb::config::parse("listener: {port: 1\n");
  auto* p = std::get_if<eb::config::problems>(&r);
  ASSERT_NE(p, nullptr);
  EXPECT_THAT(*p, ::testing::ElementsAre(HasSubstr("YAML syntax error at line")));
  r = eb::config::parse("- just\n- a list\n");
  ASSERT_TRUE(std::holds_alternative<eb::config::problems>(r));
}

TEST_F(ConfigTest, RejectsMissingFile) {
  auto r = eb::config::load(_dir / "missing.yaml");
  auto* p = std::get_if<eb::config::problems>(&r);
  ASSERT_NE(p, nullptr);
  EXPECT_THAT(*p, ::testing::ElementsAre(HasSubstr("cannot be read")));
}

TEST_F(ConfigTest, LoadsAFile) {
  std::ofstream(_dir / "ok.yaml") << with_data_dir("listener: {port: 12345}\n");
  auto r = eb::config::load(_dir / "ok.yaml");
  ASSERT_TRUE(std::holds_alternative<eb::config::bridge_config>(r));
  EXPECT_EQ(std::get<eb::config::bridge_config>(r).server.port, 12345);
}

TEST_F(ConfigTest, RejectsUnwritableDataDir) {
  if (geteuid() == 0) {
    // root writes anywhere; a path under a regular file can never be created.
    std::ofstream(_dir / "file") << "x";
    auto r = eb::config::parse("storage: {data_dir: " + (_dir / "file" / "data").string() + "}");
    auto* p = std::get_if<eb::config::problems>(&r);
    ASSERT_NE(p, nullptr);
    EXPECT_THAT(*p, ::testing::ElementsAre(HasSubstr("storage.data_dir: cannot create")));
    return;
  }
  std::filesystem::create_directories(_dir / "ro");
  chmod((_dir / "ro").c_str(), 0500);
  auto r = eb::config::parse("storage: {data_dir: " + (_dir / "ro").string() + "}");
  auto* p = std::get_if<eb::config::problems>(&r);
  ASSERT_NE(p, nullptr);
  EXPECT_THAT(*p, ::testing::ElementsAre(HasSubstr("is not writable")));
}

TEST_F(ConfigTest, ExampleFileIsValidAndComplete) {
  auto example = std::filesystem::path(EB_SOURCE_DIR_FOR_TESTS) / "config/edgebridge.example.yaml";
  std::ifstream in(example);
  ASSERT_TRUE(in) << example;
  std::stringstream text;
  text << in.rdbuf();
  // The example points its data dir at ./data; parse it with ours.
  std::string yaml = text.str();
  auto pos = yaml.find("data_dir: ./data");
  ASSERT_NE(pos, std::string::npos);
  yaml.replace(pos, std::string("data_dir: ./data").size(),
               "data_dir: " + (_dir / "data").string());
  auto r = eb::config::parse(yaml);
  auto* p = std::get_if<eb::config::problems>(&r);
  EXPECT_EQ(p, nullptr) << ::testing::PrintToString(*p);
}

}  // namespace

namespace {

TEST_F(ConfigTest, HttpSectionAndLogFormat) {
  auto d = config_of("");
  EXPECT_TRUE(d.http.enabled);
  EXPECT_EQ(d.http.host, "127.0.0.1");
  EXPECT_EQ(d.http.port, 9644);
  EXPECT_EQ(d.log_format, "text");
  auto c = config_of(
      "log_format: json\nhttp: {enabled: false, host: 0.0.0.0, port: 9700, max_connections: 8, "
      "max_header_bytes: 4096, header_timeout: 2s}\n");
  EXPECT_FALSE(c.http.enabled);
  EXPECT_EQ(c.http.host, "0.0.0.0");
  EXPECT_EQ(c.http.port, 9700);
  EXPECT_EQ(c.http.max_connections, 8u);
  EXPECT_EQ(c.http.max_header_bytes, 4096u);
  EXPECT_EQ(c.http.header_timeout, std::chrono::seconds(2));
  EXPECT_EQ(c.log_format, "json");
  EXPECT_THAT(problems_of("log_format: xml\n"), ::testing::Contains(HasSubstr("log_format")));
  EXPECT_THAT(problems_of("http: {port: 70000}\n"), ::testing::Contains(HasSubstr("http.port")));
  EXPECT_THAT(problems_of("http: {colour: 1}\n"),
              ::testing::Contains(HasSubstr("http.colour: unknown key")));
  EXPECT_THAT(problems_of("listener: {host: 127.0.0.1, port: 9700}\nhttp: {port: 9700}\n"),
              ::testing::Contains(HasSubstr("http.port: must differ")));
}

}  // namespace

namespace {

TEST_F(ConfigTest, DownlinkSection) {
  // Absent: off. Present: the mirror's cloud and its TLS/SASL keys, the site and the quota.
  EXPECT_FALSE(config_of("mirror: {bootstrap: 'cloud:9092'}\n").downlink.enabled);
  auto c = config_of(
      "site_id: plant7\n"
      "storage: {max_disk_bytes: 1GiB}\n"
      "mirror: {bootstrap: 'cloud:9092',\n"
      "         properties: {security.protocol: ssl, socket.timeout.ms: '7000'}}\n"
      "downlink:\n"
      "  topics:\n"
      "    - {cloud: '{site}.commands', local: commands}\n"
      "    - {cloud: '^{site}\\.ml\\.(.*)$', local: 'ml-{match}'}\n"
      "  start_at: latest\n"
      "  max_queued_bytes: 2MiB\n"
      "  quota_pause_percent: 85\n");
  const auto& d = c.downlink;
  EXPECT_TRUE(d.active());
  EXPECT_EQ(d.bootstrap, "cloud:9092");
  EXPECT_EQ(d.properties, (std::map<std::string, std::string>{{"security.protocol", "ssl"}}));
  EXPECT_EQ(d.site_id, "plant7");
  EXPECT_EQ(d.disk_quota_bytes, 1ull << 30);
  ASSERT_EQ(d.topics.size(), 2u);
  EXPECT_EQ(d.topics[0], (eb::bridge::downlink_rule{"{site}.commands", "commands"}));
  EXPECT_EQ(d.start_at, eb::bridge::downlink_start::latest);
  EXPECT_EQ(d.max_queued_bytes, 2u << 20);
  EXPECT_EQ(d.quota_pause_percent, 85);
  EXPECT_FALSE(config_of("downlink: {enabled: false}\n").downlink.enabled);

  EXPECT_THAT(problems_of("downlink: {topics: [{cloud: 'a.*', local: all}]}\n"),
              ::testing::Contains(HasSubstr("downlink.topics[0]: local: a pattern rule")));
  EXPECT_THAT(problems_of("downlink: {topics: [{cloud: '^a(', local: '{match}'}]}\n"),
              ::testing::Contains(HasSubstr("downlink.topics[0]: cloud: bad pattern")));
  EXPECT_THAT(problems_of("downlink: {topics: [{cloud: a}]}\n"),
              ::testing::Contains(HasSubstr("downlink.topics[0].local: required")));
  EXPECT_THAT(problems_of("downlink: {topics: [{cloud: a, local: b, extra: 1}]}\n"),
              ::testing::Contains(HasSubstr("downlink.topics[0].extra: unknown key")));
  EXPECT_THAT(problems_of("downlink: {properties: {group.id: x}}\n"),
              ::testing::Contains(HasSubstr("downlink.properties.group.id")));
  EXPECT_THAT(problems_of("downlink: {quota_pause_percent: 50, quota_resume_percent: 60}\n"),
              ::testing::Contains(HasSubstr("downlink.quota_resume_percent")));
}

}  // namespace

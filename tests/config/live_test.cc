// Live reconfiguration, the config side: layering a remote document over the file, the document
// format, and which keys are live (config/live.h).
#include "config/live.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

class LiveConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    _dir = std::filesystem::temp_directory_path() /
           ("eb-live-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    _file = "storage: {data_dir: " + (_dir / "data").string() +
            "}\n"
            "mirror: {bootstrap: 127.0.0.1:1, compression: lz4}\n"
            "topics:\n"
            "  defaults: {priority: 1}\n"
            "  overrides: {alarms: {priority: 5}}\n";
  }
  void TearDown() override { std::filesystem::remove_all(_dir); }
  eb::config::bridge_config layered(const std::string& overlay) {
    auto r = eb::config::parse_layers(_file, overlay);
    if (auto* p = std::get_if<eb::config::problems>(&r)) {
      ADD_FAILURE() << (*p)[0];
      return {};
    }
    return std::get<eb::config::bridge_config>(r);
  }
  std::filesystem::path _dir;
  std::string _file;
};

TEST_F(LiveConfigTest, OverlayMergesMappingsKeyByKeyAndReplacesValues) {
  auto c = layered("topics: {overrides: {beta: {priority: 3}}}\nmirror: {linger: 5ms}\n");
  EXPECT_EQ(c.topics.defaults.priority, 1);
  EXPECT_EQ(c.topics.overrides.at("alarms").storage.priority, 5);
  EXPECT_EQ(c.topics.overrides.at("beta").storage.priority, 3);
  EXPECT_EQ(c.mirror.compression, "lz4");
  EXPECT_EQ(c.mirror.linger, std::chrono::milliseconds(5));
  // A list replaces the file's.
  auto d = layered("topics: {create_allow: [\"a*\"]}\n");
  EXPECT_THAT(d.topics.create_allow, ElementsAre("a*"));
  // An empty overlay is the file.
  EXPECT_EQ(layered("").topics.overrides.size(), 1u);
}

TEST_F(LiveConfigTest, OverlayProblemsAreTheFilesProblems) {
  auto r = eb::config::parse_layers(_file, "storage: {fsync: sometimes}\nbogus: 1\n");
  auto* p = std::get_if<eb::config::problems>(&r);
  ASSERT_TRUE(p);
  auto file = eb::config::parse(_file + "bogus: 1\n");
  ASSERT_TRUE(std::holds_alternative<eb::config::problems>(file));
  EXPECT_THAT(*p, UnorderedElementsAre(HasSubstr("storage.fsync: expected one of always"),
                                       "bogus: unknown key"));
  auto dup = eb::config::parse_layers(_file, "log_level: info\nlog_level: debug\n");
  ASSERT_TRUE(std::holds_alternative<eb::config::problems>(dup));
  EXPECT_THAT(std::get<eb::config::problems>(dup)[0], HasSubstr("log_level: duplicate key"));
}

TEST_F(LiveConfigTest, RemoteDocumentCarriesAPositiveVersion) {
  auto ok = eb::config::parse_remote_document("version: 12\nlog_level: debug\n");
  ASSERT_TRUE(std::holds_alternative<eb::config::remote_document>(ok));
  auto& d = std::get<eb::config::remote_document>(ok);
  EXPECT_EQ(d.version, 12);
  EXPECT_EQ(layered(d.overlay).log_level, "debug");
  EXPECT_EQ(layered(d.overlay).topics.overrides.size(), 1u);
  for (const char* bad : {"log_level: debug\n", "version: 0\n", "version: -3\n", "version: x\n",
                          "version: [1]\n", "- a\n", "version: 1\n  x: [\n"}) {
    EXPECT_TRUE(
        std::holds_alternative<eb::config::problems>(eb::config::parse_remote_document(bad)))
        << bad;
  }
  auto only = eb::config::parse_remote_document("version: 3\n");
  ASSERT_TRUE(std::holds_alternative<eb::config::remote_document>(only));
  EXPECT_EQ(std::get<eb::config::remote_document>(only).overlay, "");
}

TEST_F(LiveConfigTest, CompareSaysWhichKeysAreLive) {
  auto base = layered("");
  EXPECT_TRUE(eb::config::compare(base, base).empty());
  auto next = layered(
      "log_level: debug\n"
      "topics: {overrides: {alarms: {priority: 6}}, max_topics: 10}\n"
      "mirror: {bandwidth_bytes_per_sec: 1MiB}\n"
      "server: {max_connections: 10}\n"
      "storage: {fsync: never}\n"
      "remote: {status_interval: 5s}\n");
  auto c = eb::config::compare(base, next);
  EXPECT_THAT(c.live, UnorderedElementsAre("log_level", "topics.overrides.alarms.priority",
                                           "topics.max_topics", "mirror.bandwidth_bytes_per_sec"));
  EXPECT_THAT(c.restart, UnorderedElementsAre("server.max_connections", "storage.fsync",
                                              "remote.status_interval"));
  EXPECT_TRUE(c.log_level && c.topics && c.bandwidth);
  EXPECT_FALSE(c.mirror_rebuild);
  // A mirror key other than the cap, or a topic's mapping, restarts the mirror in-process.
  EXPECT_TRUE(eb::config::compare(base, layered("mirror: {linger: 7ms}\n")).mirror_rebuild);
  EXPECT_TRUE(eb::config::compare(base, layered("topics: {overrides: {alarms: {target: x}}}\n"))
                  .mirror_rebuild);
  EXPECT_TRUE(eb::config::compare(base, layered("topics: {overrides: {n: {mirror: false}}}\n"))
                  .mirror_rebuild);
  // A bootstrap that disappears changes storage's retention rule: restart.
  auto off = eb::config::compare(base, layered("mirror: {bootstrap: \"\"}\n"));
  // (The downlink's bootstrap defaults to the mirror's: it changes with it.)
  EXPECT_THAT(off.restart, ::testing::Contains("mirror.bootstrap"));
  EXPECT_FALSE(off.mirror_rebuild);
  // site_id names the cloud topics and provenance: restart.
  EXPECT_THAT(eb::config::compare(base, layered("site_id: other\n")).restart,
              ElementsAre("site_id"));
}

}  // namespace

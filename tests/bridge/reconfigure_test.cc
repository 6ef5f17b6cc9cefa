// Live reconfiguration in process (bridge/app.h: reconfigure, handle_remote_document,
// load_layers): topic options change while io threads produce and auto-create (run under TSan
// too: the options snapshot, storage's topic table), existing topics take their new priority
// and retention, remote documents move forward only and persist across a restart.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "bridge/app/remote_store.h"
#include "tests/bridge/bridge_fixture.h"

namespace {

using ::testing::Contains;
using ::testing::UnorderedElementsAre;

class ReconfigureTest : public BridgeTest {};

TEST_F(ReconfigureTest, TopicOptionsChangeWhileIoThreadsProduce) {
  constexpr int rounds = 40;
  std::atomic<bool> done{false};
  std::atomic<int> produced{0};
  std::vector<std::thread> producers;
  for (int t = 0; t < 2; ++t) {
    producers.emplace_back([&, t] {
      wire_client c(port());
      int i = 0;
      while (i < 20 || (!done && i < 2000)) {
        auto topic = "t" + std::to_string(t) + "-" + std::to_string(i % 5);
        c.send(produce(topic, batch(2)), 9, i);
        auto resp = c.receive<msg::produce_response>(9, i);
        if (only_partition(resp).error_code == 0) produced++;
        ++i;
      }
    });
  }
  auto next = _cfg;
  for (int r = 0; r < rounds; ++r) {
    next.topics.overrides["t0-1"].storage.priority = r;
    next.topics.overrides["t0-1"].storage.retention_ms = 1000 * (r + 1);
    next.topics.defaults.priority = -r;
    next.topics.max_message_bytes = 1 << 20 | r;
    auto out = _app->reconfigure(next);
    EXPECT_TRUE(out.failed.empty()) << out.failed[0];
    EXPECT_TRUE(out.needs_restart.empty());
  }
  done = true;
  for (auto& t : producers) t.join();
  EXPECT_GT(produced.load(), 0);
  auto t01 = store().find_topic("t0-1");
  ASSERT_TRUE(t01);
  EXPECT_EQ(t01->config.priority, rounds - 1);
  EXPECT_EQ(t01->config.retention_ms, 1000 * rounds);
  // Every other topic follows the defaults, whenever it was created.
  for (auto& info : store().topics()) {
    if (info.name != "t0-1") {
      EXPECT_EQ(info.config.priority, -(rounds - 1)) << info.name;
    }
  }
}

TEST_F(ReconfigureTest, RestartKeysAreReportedAndKeepRunning) {
  auto next = _cfg;
  next.server.max_connections = 7;
  next.log_level = "debug";
  next.groups.max_groups = 3;
  auto out = _app->reconfigure(next);
  EXPECT_THAT(out.needs_restart,
              UnorderedElementsAre("server.max_connections", "groups.max_groups"));
  EXPECT_THAT(out.applied, UnorderedElementsAre("log_level"));
  EXPECT_EQ(_app->running_config().server.max_connections, _cfg.server.max_connections);
  EXPECT_EQ(_app->running_config().log_level, "debug");
  // Reported again next time: nothing pretends they run.
  EXPECT_THAT(_app->reconfigure(next).needs_restart, Contains("server.max_connections"));
  spdlog::set_level(spdlog::level::info);
}

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

class RemoteDocumentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    _dir = std::filesystem::temp_directory_path() /
           ("eb-remote-doc-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(_dir);
    _file = _dir / "edgebridge.yaml";
    std::ofstream(_file) << "listener: {host: 127.0.0.1, port: " << free_port()
                         << "}\n"
                            "http: {port: 0}\n"
                            "storage: {data_dir: "
                         << (_dir / "data").string() << "}\n";
  }
  void TearDown() override {
    _app.reset();
    std::filesystem::remove_all(_dir);
  }
  void start() {
    eb::bridge::config_layers layers{.file = _file};
    auto cfg = eb::bridge::load_layers(layers);
    ASSERT_TRUE(std::holds_alternative<eb::config::bridge_config>(cfg))
        << std::get<eb::config::problems>(cfg)[0];
    auto app = eb::bridge::app::start(std::get<eb::config::bridge_config>(cfg), layers);
    ASSERT_TRUE(app) << app.error().message();
    _app = std::move(*app);
  }
  int32_t priority(const std::string& topic) {
    return _app->running_config().topics.config_for(topic).priority;
  }
  std::filesystem::path _dir, _file;
  std::unique_ptr<eb::bridge::app> _app;
};

TEST_F(RemoteDocumentTest, VersionsMoveForwardAndThePersistedLayerSurvivesARestart) {
  start();
  _app->handle_remote_document("version: 2\ntopics: {overrides: {a: {priority: 4}}}\n");
  EXPECT_EQ(priority("a"), 4);
  _app->handle_remote_document("version: 1\ntopics: {overrides: {a: {priority: 1}}}\n");
  _app->handle_remote_document("version: 2\ntopics: {overrides: {a: {priority: 1}}}\n");
  EXPECT_EQ(priority("a"), 4);
  // Invalid: rejected whole (the valid key in it too), and its version is used up.
  _app->handle_remote_document("version: 3\ntopics: {overrides: {a: {priority: 5}}}\nx: 1\n");
  EXPECT_EQ(priority("a"), 4);
  _app->handle_remote_document("version: 3\ntopics: {overrides: {a: {priority: 6}}}\n");
  EXPECT_EQ(priority("a"), 4);
  eb::bridge::remote_store files(_dir / "data");
  EXPECT_EQ(files.seen_version(), 3);
  EXPECT_THAT(files.document(), ::testing::HasSubstr("version: 2"));
  _app.reset();
  start();
  EXPECT_EQ(priority("a"), 4);
  _app->handle_remote_document("version: 3\ntopics: {overrides: {a: {priority: 7}}}\n");
  EXPECT_EQ(priority("a"), 4);
  _app->handle_remote_document("version: 4\ntopics: {overrides: {a: {priority: 7}}}\n");
  EXPECT_EQ(priority("a"), 7);
  // SIGHUP's path: the file again, with the remote layer over it.
  std::ofstream(_file, std::ios::app) << "topics: {overrides: {b: {priority: 2}}}\n";
  auto reloaded = _app->reload_file();
  ASSERT_TRUE(std::holds_alternative<eb::bridge::reconfigure_outcome>(reloaded));
  EXPECT_EQ(priority("a"), 7);
  EXPECT_EQ(priority("b"), 2);
  // A broken file changes nothing.
  std::ofstream(_file, std::ios::app) << "groups: {max_groups: lots}\n";
  auto broken = _app->reload_file();
  ASSERT_TRUE(std::holds_alternative<eb::config::problems>(broken));
  EXPECT_THAT(std::get<eb::config::problems>(broken),
              Contains("groups.max_groups: expected an integer, got 'lots'"));
  EXPECT_EQ(priority("b"), 2);
}

TEST_F(RemoteDocumentTest, AStoredDocumentThatNoLongerFitsTheFileLeavesTheFileAlone) {
  start();
  _app->handle_remote_document("version: 1\ntopics: {overrides: {a: {partitions: 5}}}\n");
  EXPECT_EQ(_app->running_config().topics.overrides.at("a").storage.partitions, 5);
  _app.reset();
  // The file now allows fewer partitions than the document asks for.
  std::ofstream(_file, std::ios::app) << "topics: {max_partitions: 2}\n";
  start();
  EXPECT_EQ(_app->running_config().topics.overrides.count("a"), 0u);
  EXPECT_EQ(_app->running_config().topics.max_partitions, 2);
  // The document stays stored, and its version stays seen.
  eb::bridge::remote_store files(_dir / "data");
  EXPECT_THAT(files.document(), ::testing::HasSubstr("version: 1"));
  _app->handle_remote_document("version: 1\ntopics: {overrides: {b: {priority: 3}}}\n");
  EXPECT_EQ(_app->running_config().topics.overrides.count("b"), 0u);
}

}  // namespace

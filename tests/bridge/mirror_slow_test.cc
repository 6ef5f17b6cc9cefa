// The mirror's hard cases, against real processes: the cloud broker stopped and started again
// mid-stream, the mirror process killed with SIGKILL over and over, and a backlog many times the
// in-flight bound drained with the memory staying flat. Exactly-once is checked in the cloud.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <random>
#include <thread>

#include "bridge/mirror/mirror.h"
#include "tests/bridge/mirror_support.h"
#include "tests/support/cloud_kafka.h"

extern char** environ;

namespace eb::bridge {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A child process with its stdout on a pipe.
class child {
 public:
  explicit child(std::vector<std::string> args) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&_pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) {
      throw std::runtime_error("spawn " + args[0]);
    }
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    _out = fds[0];
  }
  ~child() {
    if (_pid > 0) {
      kill(_pid, SIGKILL);
      wait();
    }
    close(_out);
  }
  child(const child&) = delete;
  child& operator=(const child&) = delete;

  // Reads stdout until a line starting with `prefix`; returns it, or "" at EOF/timeout.
  std::string wait_line(const std::string& prefix, std::chrono::milliseconds timeout) {
    auto deadline = steady::now() + timeout;
    for (;;) {
      for (size_t nl; (nl = _buffer.find('\n')) != std::string::npos;) {
        std::string line = _buffer.substr(0, nl);
        _buffer.erase(0, nl + 1);
        _lines.push_back(line);
        if (line.rfind(prefix, 0) == 0) return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
      if (left.count() <= 0) return "";
      pollfd p{_out, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      ssize_t n = read(_out, buf, sizeof buf);
      if (n <= 0) return "";
      _buffer.append(buf, static_cast<size_t>(n));
    }
  }
  void kill9() { kill(_pid, SIGKILL); }
  // Everything printed until EOF (after the process is gone).
  std::vector<std::string> rest() {
    while (!wait_line("\x01", 5s).empty()) {
    }
    return _lines;
  }
  // The exit code, or 128 + signal.
  int wait() {
    int status = 0;
    if (_pid <= 0) return _status;
    waitpid(_pid, &status, 0);
    _pid = -1;
    _status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return _status;
  }

 private:
  pid_t _pid = -1;
  int _out = -1;
  int _status = -1;
  std::string _buffer;
  std::vector<std::string> _lines;
};

// Exactly once, in order, same content: the cloud partition is the stored partition plus
// provenance. Returns the number of records compared.
size_t expect_exactly_once(const std::string& bootstrap, const storage::log_store& store,
                           const std::string& site, const std::string& topic,
                           const std::string& target, int32_t partition) {
  auto edge = test::stored_records(store, topic, partition);
  auto cloud = test::cloud_records(bootstrap, target, partition);
  // Report duplicates and holes by provenance offset before comparing content.
  std::map<int64_t, int> seen;
  for (auto& r : cloud) seen[std::stoll(test::header(r, "eb.offset").value_or("-1"))]++;
  for (auto& [offset, n] : seen) EXPECT_EQ(n, 1) << "offset " << offset << " duplicated";
  EXPECT_EQ(seen.size(), edge.size()) << target << "[" << partition << "] misses records";
  EXPECT_EQ(cloud.size(), edge.size());
  for (size_t i = 0; i < std::min(edge.size(), cloud.size()); ++i) {
    auto expected =
        test::with_provenance(edge[i], site, topic, partition, store.find_topic(topic)->id);
    auto got = cloud[i];
    got.offset = expected.offset;
    EXPECT_EQ(got, expected) << "record " << i << " of " << target << "[" << partition << "]";
    if (!(got == expected)) break;
  }
  return edge.size();
}

// The cloud broker is stopped for a while mid-stream and started again on the same port and
// data, twice: once with the mirror running throughout, once with the mirror itself restarted
// while the cloud is down. Appends never stall, the status says disconnected, the backlog drains
// while new records keep arriving, and the cloud holds every record exactly once.
TEST(MirrorSlow, CloudOutageMidStreamLosesNothingAndDuplicatesNothing) {
  test::temp_dir broker_dir("mirror-outage-broker");
  test::kafka_broker broker(broker_dir.path() / "kafka");
  test::temp_dir dir("mirror-outage");
  auto store = test::open_store(dir.path());
  ASSERT_TRUE(store);
  const std::string topic = "outage";
  ASSERT_TRUE(store->create_topic(topic, {.partitions = 2}));
  test::captured_log log;
  auto opts = test::mirror_options_for(broker.bootstrap(), "site-o");
  opts.max_inflight_bytes = 4 << 20;
  std::optional<mirror> m;
  m.emplace(opts, *store, log.logger);
  ASSERT_TRUE(m->start());

  constexpr int batches = 3000, per_batch = 50;
  std::atomic<int> written{0};
  std::atomic<int64_t> worst_append_us{0};
  std::atomic<bool> outage{false};
  std::atomic<int64_t> worst_outage_append_us{0};
  std::thread writer([&] {
    static constexpr net::compression codecs[] = {net::compression::zstd, net::compression::lz4,
                                                  net::compression::none};
    for (int b = 0; b < batches; ++b) {
      auto t0 = steady::now();
      test::append_batch(*store, topic, b % 2, codecs[b % 3], now_ms(),
                         test::make_records(7, b * per_batch, per_batch, 300));
      int64_t us =
          std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - t0).count();
      worst_append_us = std::max<int64_t>(worst_append_us, us);
      if (outage) worst_outage_append_us = std::max<int64_t>(worst_outage_append_us, us);
      written = b + 1;
      std::this_thread::sleep_for(5ms);
    }
  });
  // Records stored at this moment, per partition.
  auto ends = [&] {
    std::vector<int64_t> v;
    for (int32_t p = 0; p < 2; ++p) v.push_back(store->offsets(topic, p)->high_watermark);
    return v;
  };
  auto confirmed_past = [&](const std::vector<int64_t>& target) {
    auto s = m->status();
    if (s.partitions.size() != 2) return false;
    for (auto& p : s.partitions) {
      if (p.confirmed_offset < target[p.partition]) return false;
    }
    return true;
  };
  auto sum = [](const std::vector<int64_t>& v) { return v[0] + v[1]; };
  // Stops the broker for `down`, optionally restarting the mirror meanwhile; then measures how
  // long the cloud takes to get the first record and the whole backlog after it returns.
  auto outage_round = [&](const char* name, bool restart_mirror) {
    outage = true;
    broker.stop();
    ASSERT_TRUE(
        test::wait_until([&] { return m->status().uplink == uplink_state::disconnected; }, 30s));
    std::this_thread::sleep_for(4s);
    if (restart_mirror) {
      m->stop(500ms);  // records in flight stay unconfirmed
      m.emplace(opts, *store, log.logger);
      ASSERT_TRUE(m->start());
      ASSERT_TRUE(
          test::wait_until([&] { return m->status().uplink == uplink_state::disconnected; }, 30s));
    }
    std::this_thread::sleep_for(4s);  // records pile up in storage meanwhile
    auto during = m->status();
    EXPECT_FALSE(during.connected);
    EXPECT_LE(during.inflight_bytes, opts.max_inflight_bytes);
    outage = false;
    uint64_t delivered_before = during.delivered_records;
    auto backlog = ends();
    // What the cloud lacks, as far as the persisted cursors know (they lag by <= 100 ms).
    int64_t backlog_records = sum(backlog) - store->mirror_cursor(topic, 0).value_or(0) -
                              store->mirror_cursor(topic, 1).value_or(0);
    // Timed from the start command: kafka.sh returns only once it sees Metadata answered, often
    // after the mirror has already reconnected and drained.
    auto back = steady::now();
    broker.start();
    double script_s = std::chrono::duration<double>(steady::now() - back).count();
    ASSERT_TRUE(
        test::wait_until([&] { return m->status().delivered_records > delivered_before; }, 60s));
    double first_s = std::chrono::duration<double>(steady::now() - back).count();
    ASSERT_TRUE(test::wait_until([&] { return confirmed_past(backlog); }, 120s));
    double drain_s = std::chrono::duration<double>(steady::now() - back).count();
    std::cout << name << ": broker start command at 0 s (kafka.sh returned at " << script_s
              << " s); first record confirmed at " << first_s << " s, the backlog of about "
              << backlog_records << " records (stored before the restart) at " << drain_s
              << " s, appends continuing\n";
    EXPECT_EQ(m->status().uplink, uplink_state::connected);
    // A mirror restarted during the outage connects for its first time; the running one again.
    if (!restart_mirror) {
      EXPECT_GE(m->status().reconnects, 1u) << "the uplink came back";
    }
  };

  ASSERT_TRUE(test::wait_until([&] { return written > batches / 10; }, 60s));
  ASSERT_TRUE(test::wait_until([&] { return m->status().delivered_records > 0; }, 30s));
  outage_round("outage 1 (mirror running)", false);
  ASSERT_TRUE(test::wait_until([&] { return written > batches / 2; }, 60s));
  outage_round("outage 2 (mirror restarted while the cloud was down)", true);
  writer.join();
  ASSERT_TRUE(test::wait_until([&] { return test::mirror_caught_up(*m, *store); }, 180s));
  m->stop(5s);

  std::cout << "worst append " << worst_append_us / 1000.0 << " ms, during the outages "
            << worst_outage_append_us / 1000.0 << " ms\n";
  EXPECT_LT(worst_outage_append_us.load(), 1'000'000) << "appends stalled during an outage";
  EXPECT_TRUE(log.contains("cloud unreachable"));
  EXPECT_TRUE(log.contains("connected to the cloud"));
  size_t total = 0;
  for (int32_t p = 0; p < 2; ++p) {
    total += expect_exactly_once(broker.bootstrap(), *store, "site-o", topic, "site-o." + topic, p);
  }
  EXPECT_EQ(total, size_t{batches} * per_batch);
}

// SIGKILL while mirroring (and appending), 12 rounds; the cloud holds every stored record once.
TEST(MirrorSlow, KillNineWhileMirroringIsExactlyOnce) {
  const std::string bootstrap = test::cloud_bootstrap();
  test::temp_dir dir("mirror-kill");
  const std::string site = "site-k" + test::unique_suffix();
  const std::string topic = "killed";
  std::mt19937 rng(12345);
  auto runner = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{MIRROR_RUNNER,  "--dir",       dir.path().string(),
                                  "--bootstrap",  bootstrap,     "--site",
                                  site,           "--topic",     topic,
                                  "--partitions", "3",           "--max-inflight",
                                  "1048576",      "--timeout-s", "300"};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<child>(args);
  };
  // A 2 MB/s uplink cap keeps each round's records in flight for a few seconds, so every kill
  // lands mid-stream (with records handed to the producer and unconfirmed).
  int kills = 0, kills_in_flight = 0;
  for (int round = 1; round <= 12; ++round) {
    auto c = runner({"--append", "20000", "--round", std::to_string(round), "--value-bytes", "150",
                     "--batch-records", "200", "--bandwidth", "2000000", "--progress"});
    ASSERT_EQ(c->wait_line("started", 60s), "started") << "round " << round;
    // The mirror produces once the cloud's tail has settled (two reads 1.5 s apart, see
    // resume.h): the kill lands after the runner reports records in flight with a backlog left
    // (an event, whatever the machine's load), a random moment later.
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto line = c->wait_line("progress ", 5s);
      unsigned long long d = 0, f = 0;
      long long b = 0;
      if (std::sscanf(line.c_str(), "progress %llu %lld %llu", &d, &b, &f) == 3 && f > 0 && b > 0) {
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 300));
    c->kill9();
    EXPECT_EQ(c->wait(), 128 + SIGKILL);
    ++kills;
    std::string last_progress;
    for (auto& l : c->rest()) {
      if (l.rfind("progress ", 0) == 0) last_progress = l;
    }
    unsigned long long delivered = 0, inflight = 0;
    long long backlog = 0;
    if (std::sscanf(last_progress.c_str(), "progress %llu %lld %llu", &delivered, &backlog,
                    &inflight) == 3 &&
        inflight > 0 && backlog > 0) {
      ++kills_in_flight;
    }
    std::cout << "round " << round << " killed at: " << last_progress << "\n";
  }
  EXPECT_GE(kills_in_flight, 6) << "most kills should land with records in flight";
  auto last = runner({"--exit-when-drained", "--report"});
  ASSERT_EQ(last->wait_line("started", 60s), "started");
  std::string report = last->wait_line("{", 300s);
  EXPECT_EQ(last->wait(), 0) << report;
  std::cout << "after " << kills << " kills: " << report << "\n";

  auto store = test::open_store(dir.path());
  ASSERT_TRUE(store);
  size_t total = 0;
  for (int32_t p = 0; p < 3; ++p) {
    total += expect_exactly_once(bootstrap, *store, site, topic, site + "." + topic, p);
  }
  EXPECT_GT(total, 0u);
  std::cout << "cloud holds " << total << " records, each once\n";
}

// A backlog ~20x the in-flight bound drains at link speed with the process RSS staying flat.
TEST(MirrorSlow, BacklogDrainsWithBoundedMemory) {
  const std::string bootstrap = test::cloud_bootstrap();
  test::temp_dir dir("mirror-backlog");
  const std::string site = "site-b" + test::unique_suffix();
  constexpr uint64_t inflight = 4 << 20;
  // ~90 MB of records (about 20 times the in-flight bound), stored before the mirror starts.
  std::vector<std::string> args{MIRROR_RUNNER,
                                "--dir",
                                dir.path().string(),
                                "--bootstrap",
                                bootstrap,
                                "--site",
                                site,
                                "--topic",
                                "backlog",
                                "--partitions",
                                "4",
                                "--append",
                                "400000",
                                "--value-bytes",
                                "200",
                                "--batch-records",
                                "1000"};
  for (const char* flag : {"--append-first", "--exit-when-drained", "--report", "--progress"}) {
    args.emplace_back(flag);
  }
  args.insert(args.end(), {"--max-inflight", std::to_string(inflight), "--timeout-s", "600"});
  child c(args);
  std::string report = c.wait_line("{", 600s);
  ASSERT_EQ(c.wait(), 0) << report;
  // The status kept moving during the drain: a long drain must not starve it, nor the cursor
  // commits that run on the same thread.
  int midway = 0;
  for (auto& l : c.rest()) {
    unsigned long long delivered = 0, in_flight = 0;
    long long backlog = 0;
    if (std::sscanf(l.c_str(), "progress %llu %lld %llu", &delivered, &backlog, &in_flight) == 3) {
      midway += delivered > 0 && delivered < 400000;
    }
  }
  EXPECT_GE(midway, 3);
  std::cout << "backlog drain: " << report << "\n";
  auto field = [&](const std::string& name) {
    auto at = report.find("\"" + name + "\":");
    EXPECT_NE(at, std::string::npos) << name;
    return std::stod(report.substr(at + name.size() + 3));
  };
  EXPECT_EQ(field("records"), 400000);
  double growth_kb = field("peak_rss_kb") - field("baseline_rss_kb");
  // In flight (4 MiB) plus librdkafka's batches and compression buffers, one stored chunk and
  // one decoded batch: flat, whatever the backlog (~90 MB here).
  EXPECT_LT(growth_kb * 1024, 48.0 * (1 << 20)) << report;
  auto store = test::open_store(dir.path());
  ASSERT_TRUE(store);
  for (int32_t p = 0; p < 4; ++p) {
    EXPECT_EQ(store->mirror_cursor("backlog", p), store->offsets("backlog", p)->high_watermark);
  }
}

}  // namespace
}  // namespace eb::bridge

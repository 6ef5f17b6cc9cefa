// Crash tests: a helper process (crash_writer) appends from 8 threads and prints each
// acknowledged append; we kill -9 it at a random moment, reopen the store and check that
// every acknowledged record is there, in order, with no gap and no offset used twice.
//
// Under `lossy` the helper's WAL lives on a file system that keeps unsynced bytes in process
// memory, so kill -9 loses them exactly as an OS crash or power cut loses the page cache:
//  - fsync always:   nothing acknowledged may be lost.
//  - fsync interval: only appends acknowledged within the loss window before the crash may be
//    lost. The window is fsync_interval + one group commit + one WAL sync (the timer fires at
//    most fsync_interval after the first unsynced write, and a group in progress delays it);
//    we allow fsync_interval + 1 s for scheduling on a loaded machine, and print what we saw.
//    Readers never see a lost record: the recovered high watermark is never below one that a
//    reader observed before the crash.
// Without `lossy` a process crash loses nothing under any policy (the WAL is in the OS).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <random>
#include <sstream>

#include "storage/storage.h"
#include "storage/test_hooks.h"
#include "tests/storage/crash_common.h"
#include "tests/storage/test_util.h"

namespace eb::storage {
namespace {

using tp = std::pair<std::string, int32_t>;

struct acked {
  tp part;
  int64_t offset = 0;
  int32_t records = 0;
  int64_t pid = -1;
  int32_t seq = -1;
  std::string payload;  // the first 40 bytes
  int64_t mono_ns = 0;
};

struct round_output {
  std::vector<acked> acks;
  std::map<tp, int64_t> max_seen_hw;
  int64_t kill_ns = 0;
};

round_output run_round(const std::string& dir, const std::string& policy, bool lossy,
                       const std::string& run_id, std::chrono::milliseconds run_for) {
  round_output out;
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe");
  const pid_t child = fork();
  if (child < 0) throw std::runtime_error("fork");
  if (child == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execl(EB_CRASH_WRITER, EB_CRASH_WRITER, dir.c_str(), policy.c_str(), run_id.c_str(),
          lossy ? "lossy" : nullptr, nullptr);
    _exit(127);
  }
  close(fds[1]);
  std::string buf;
  bool ready = false;
  auto pump = [&](int timeout_ms) {
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return true;
    char chunk[65536];
    const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
    if (n <= 0) return false;
    buf.append(chunk, static_cast<size_t>(n));
    if (!ready && buf.find("READY\n") != std::string::npos) ready = true;
    return true;
  };
  const auto ready_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!ready && std::chrono::steady_clock::now() < ready_deadline) {
    if (!pump(100)) break;
  }
  if (!ready) {
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    close(fds[0]);
    throw std::runtime_error("crash_writer did not start");
  }
  const auto until = std::chrono::steady_clock::now() + run_for;
  while (std::chrono::steady_clock::now() < until) pump(5);
  out.kill_ns = test::mono_ns();
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  while (pump(1000)) {
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP) && !(p.revents & POLLIN)) break;
  }
  close(fds[0]);

  std::istringstream in(buf);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string kind;
    f >> kind;
    if (kind == "A") {
      acked a;
      f >> a.part.first >> a.part.second >> a.offset >> a.records >> a.pid >> a.seq >> a.payload >>
          a.mono_ns;
      if (f) out.acks.push_back(std::move(a));
    } else if (kind == "H") {
      tp part;
      int64_t hw = 0, ns = 0;
      f >> part.first >> part.second >> hw >> ns;
      if (f) out.max_seen_hw[part] = std::max(out.max_seen_hw[part], hw);
    }
  }
  return out;
}

struct stored {
  int32_t records = 0;
  std::string payload;
};

class storage_crash : public ::testing::Test {
 protected:
  // Runs `rounds` kill -9 rounds and checks the store after each.
  void run(const std::string& policy, bool lossy, int rounds) {
    std::mt19937 rng(std::random_device{}());
    const auto seed = rng();
    rng.seed(seed);
    std::cout << "policy " << policy << (lossy ? " lossy" : "") << " seed " << seed << "\n";
    const std::string dir = (_dir.path() / "data").string();
    // Every acknowledged record that has survived so far, by partition and offset.
    std::map<tp, std::map<int64_t, acked>> expected;
    const int64_t bound_ns =
        std::chrono::nanoseconds(test::crash_fsync_interval + std::chrono::seconds(1)).count();
    size_t total_acks = 0, lost = 0;
    int64_t oldest_lost_ns = 0;
    for (int round = 0; round < rounds; ++round) {
      const auto run_for =
          std::chrono::milliseconds(std::uniform_int_distribution<int>(30, 400)(rng));
      auto out = run_round(dir, policy, lossy, std::to_string(round), run_for);
      total_acks += out.acks.size();

      auto opened = log_store::open(options{.data_dir = dir});
      ASSERT_TRUE(opened) << opened.error().message();
      auto& store = **opened;
      // The next offsets recovered from meta agree with the last batch of every partition.
      ASSERT_TRUE(testing::check_log_ends(store)) << "round " << round;
      std::map<tp, std::map<int64_t, stored>> log;
      for (const auto& part : test::crash_partitions) {
        auto offs = store.offsets(part.first, part.second);
        ASSERT_TRUE(offs);
        EXPECT_EQ(offs->log_start, 0);
        // Readers never saw what the crash took away.
        EXPECT_GE(offs->high_watermark, out.max_seen_hw[part])
            << part.first << "-" << part.second << " round " << round;
        int64_t next = 0;
        while (next < offs->high_watermark) {
          auto batches = store.read(part.first, part.second, next, 4 << 20);
          ASSERT_TRUE(batches) << batches.error().message();
          ASSERT_FALSE(batches->empty());
          for (const auto& b : *batches) {
            // Contiguous: no gap, no overlap, so no offset is used twice.
            ASSERT_EQ(b.base_offset, next) << part.first << "-" << part.second;
            ASSERT_EQ(test::base_offset_of(b.bytes), b.base_offset);
            log[part][b.base_offset] = {static_cast<int32_t>(b.last_offset - b.base_offset + 1),
                                        test::payload_of(b.bytes).substr(0, 40)};
            next = b.last_offset + 1;
          }
        }
        EXPECT_EQ(next, offs->high_watermark);
      }
      // Earlier survivors are still there.
      for (const auto& [part, by_offset] : expected) {
        for (const auto& [offset, a] : by_offset) {
          auto it = log[part].find(offset);
          ASSERT_TRUE(it != log[part].end() && it->second.payload == a.payload)
              << "a record that survived an earlier round is gone: " << a.payload;
        }
      }
      // This round's acknowledgements.
      std::map<std::pair<std::string, tp>, int64_t> last_offset_per_thread;
      const acked* last_idempotent = nullptr;
      for (const auto& a : out.acks) {
        auto it = log[a.part].find(a.offset);
        const bool present = it != log[a.part].end() && it->second.payload == a.payload &&
                             it->second.records == a.records;
        const bool must_survive =
            !lossy || policy == "always" || a.mono_ns < out.kill_ns - bound_ns;
        if (!present) {
          ASSERT_FALSE(must_survive)
              << "lost acknowledged " << a.payload << " at " << a.part.first << "-" << a.part.second
              << "@" << a.offset << ", acked " << (out.kill_ns - a.mono_ns) / 1'000'000
              << " ms before the kill";
          ++lost;
          oldest_lost_ns = std::max(oldest_lost_ns, out.kill_ns - a.mono_ns);
          continue;
        }
        // In order: each thread's appends to a partition got increasing offsets.
        const std::string thread =
            a.payload.substr(0, a.payload.find('-', a.payload.find('-') + 1));
        auto [pos, fresh] = last_offset_per_thread.try_emplace({thread, a.part}, a.offset);
        if (!fresh) {
          EXPECT_GT(a.offset, pos->second) << a.payload;
          pos->second = a.offset;
        }
        ASSERT_TRUE(expected[a.part].emplace(a.offset, a).second)
            << "offset acknowledged twice: " << a.part.first << "-" << a.part.second << "@"
            << a.offset;
        if (a.pid >= 0) last_idempotent = &a;
      }
      // The producer state committed with the batch: a retry of the last idempotent batch is
      // recognised as a duplicate of the original offset.
      if (last_idempotent != nullptr) {
        const auto& a = *last_idempotent;
        const int i = std::stoi(a.payload.substr(a.payload.rfind('-') + 1));
        auto retry =
            test::make_request(a.part.first, a.part.second,
                               test::crash_batch(std::to_string(round), 0, i, a.pid, a.seq));
        auto r = test::append_one(store, std::move(retry));
        ASSERT_TRUE(r) << r.error().message();
        EXPECT_TRUE(r->duplicate);
        EXPECT_EQ(r->base_offset, a.offset);
      }
    }
    std::cout << "rounds " << rounds << ", acknowledged appends " << total_acks << ", lost "
              << lost;
    if (lost > 0) std::cout << ", oldest lost ack " << oldest_lost_ns / 1'000'000 << " ms";
    std::cout << "\n";
    EXPECT_GT(total_acks, static_cast<size_t>(rounds));
  }

  test::temp_dir _dir;
};

TEST_F(storage_crash, fsync_always_survives_kill_9) { run("always", false, 20); }

TEST_F(storage_crash, fsync_always_survives_losing_the_page_cache) { run("always", true, 10); }

TEST_F(storage_crash, fsync_interval_loses_at_most_the_interval_on_os_crash) {
  run("interval", true, 10);
}

TEST_F(storage_crash, fsync_interval_survives_kill_9) { run("interval", false, 5); }

}  // namespace
}  // namespace eb::storage

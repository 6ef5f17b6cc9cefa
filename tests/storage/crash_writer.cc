// Crash-test helper: opens a store and appends from several threads until killed, printing every
// acknowledged append to stdout (one write(2) per line, so nothing sits in a stdio buffer):
//   A <topic> <partition> <offset> <records> <producer id> <sequence> <payload> <mono ns>
//   H <topic> <partition> <high watermark> <mono ns>     (what a reader could see)
// Usage: crash_writer DIR always|interval|never RUN_ID [lossy]
// `lossy` puts the WAL on a file system that keeps unsynced data in process memory, so that
// kill -9 loses it the way an OS crash loses the page cache.
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/storage.h"
#include "storage/test_hooks.h"
#include "tests/storage/batch_util.h"
#include "tests/storage/crash_common.h"

namespace {

using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

class lossy_file : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  using FSWritableFileOwnerWrapper::FSWritableFileOwnerWrapper;

  IOStatus Append(const Slice& data, const IOOptions&, IODebugContext*) override {
    std::lock_guard lk(_mu);
    _unsynced.append(data.data(), data.size());
    return IOStatus::OK();
  }
  IOStatus Append(const Slice& data, const IOOptions& o, const rocksdb::DataVerificationInfo&,
                  IODebugContext* d) override {
    return Append(data, o, d);
  }
  // "Written to the OS" but not durable: it stays here until a sync.
  IOStatus Flush(const IOOptions&, IODebugContext*) override { return IOStatus::OK(); }
  IOStatus RangeSync(uint64_t, uint64_t, const IOOptions&, IODebugContext*) override {
    return IOStatus::OK();
  }
  IOStatus Sync(const IOOptions& o, IODebugContext* d) override {
    std::lock_guard lk(_mu);
    auto s = drain(o, d);
    return s.ok() ? target()->Sync(o, d) : s;
  }
  IOStatus Fsync(const IOOptions& o, IODebugContext* d) override {
    std::lock_guard lk(_mu);
    auto s = drain(o, d);
    return s.ok() ? target()->Fsync(o, d) : s;
  }
  IOStatus Close(const IOOptions& o, IODebugContext* d) override {
    std::lock_guard lk(_mu);
    auto s = drain(o, d);
    return s.ok() ? target()->Close(o, d) : s;
  }
  IOStatus Truncate(uint64_t size, const IOOptions& o, IODebugContext* d) override {
    std::lock_guard lk(_mu);
    auto s = drain(o, d);
    return s.ok() ? target()->Truncate(size, o, d) : s;
  }
  uint64_t GetFileSize(const IOOptions& o, IODebugContext* d) override {
    std::lock_guard lk(_mu);
    return target()->GetFileSize(o, d) + _unsynced.size();
  }

 private:
  IOStatus drain(const IOOptions& o, IODebugContext* d) {
    if (_unsynced.empty()) return IOStatus::OK();
    auto s = target()->Append(_unsynced, o, d);
    if (s.ok()) s = target()->Flush(o, d);
    _unsynced.clear();
    return s;
  }
  std::mutex _mu;
  std::string _unsynced;
};

class lossy_fs : public rocksdb::FileSystemWrapper {
 public:
  using FileSystemWrapper::FileSystemWrapper;
  const char* Name() const override { return "lossy_wal_fs"; }
  IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                           std::unique_ptr<rocksdb::FSWritableFile>* r,
                           IODebugContext* d) override {
    auto s = target()->NewWritableFile(f, o, r, d);
    if (s.ok() && is_wal(f)) *r = std::make_unique<lossy_file>(std::move(*r));
    return s;
  }
  IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                              std::unique_ptr<rocksdb::FSWritableFile>* r,
                              IODebugContext* d) override {
    auto s = target()->ReopenWritableFile(f, o, r, d);
    if (s.ok() && is_wal(f)) *r = std::make_unique<lossy_file>(std::move(*r));
    return s;
  }

 private:
  static bool is_wal(const std::string& f) {
    return f.size() > 4 && f.compare(f.size() - 4, 4, ".log") == 0;
  }
};

void emit(const std::string& line) {
  // One write per line: lines written before the kill are all in the pipe.
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(1, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace eb::storage;
  if (argc < 4) {
    std::fprintf(stderr, "usage: crash_writer DIR always|interval|never RUN_ID [lossy]\n");
    return 2;
  }
  options opts;
  opts.data_dir = argv[1];
  const std::string policy = argv[2];
  opts.fsync = policy == "always"     ? fsync_policy::always
               : policy == "interval" ? fsync_policy::interval
                                      : fsync_policy::never;
  opts.fsync_interval = test::crash_fsync_interval;
  opts.write_buffer_bytes = 1 << 20;  // frequent flushes and WAL switches: more to break
  opts.block_cache_bytes = 1 << 20;
  const std::string run_id = argv[3];
  const bool lossy = argc > 4 && std::string(argv[4]) == "lossy";

  std::unique_ptr<rocksdb::Env> env;
  if (lossy)
    env = rocksdb::NewCompositeEnv(std::make_shared<lossy_fs>(rocksdb::FileSystem::Default()));
  auto opened = lossy ? testing::open_with_env(opts, env.get()) : log_store::open(opts);
  if (!opened) {
    std::fprintf(stderr, "crash_writer: open: %s\n", opened.error().message().c_str());
    return 1;
  }
  auto& store = **opened;
  for (const auto& t : test::crash_topics) {
    auto r = store.create_topic(t.name, {.partitions = t.partitions, .retention_ms = -1});
    if (!r && r.error() != errc::topic_exists) {
      std::fprintf(stderr, "crash_writer: create_topic: %s\n", r.error().message().c_str());
      return 1;
    }
  }
  emit("READY\n");

  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < test::crash_threads; ++t) {
    threads.emplace_back([&, t] {
      // Thread 0 is an idempotent producer; the others are plain.
      int64_t pid = -1;
      if (t == 0) {
        auto id = store.allocate_producer_id();
        if (!id) return;
        pid = *id;
      }
      std::array<int32_t, 3> next_seq{};  // sequences are per partition
      for (int i = 0; i < 1'000'000 && !stop; ++i) {
        const size_t which = static_cast<size_t>(t + i) % 3;
        const auto& tp = test::crash_partitions[which];
        int32_t& seq = next_seq[which];
        const auto spec = test::crash_batch(run_id, t, i, pid, seq);
        std::promise<eb::result<append_ack>> p;
        auto f = p.get_future();
        store.append({test::make_request(tp.first, tp.second, spec)},
                     [&p](std::vector<eb::result<append_ack>> r) { p.set_value(std::move(r[0])); });
        auto ack = f.get();
        if (!ack) {
          std::fprintf(stderr, "crash_writer: append: %s\n", ack.error().message().c_str());
          continue;  // a plain retry; an idempotent one keeps its sequence
        }
        emit("A " + tp.first + " " + std::to_string(tp.second) + " " +
             std::to_string(ack->base_offset) + " " + std::to_string(spec.records) + " " +
             std::to_string(pid) + " " + std::to_string(seq) + " " + spec.payload.substr(0, 40) +
             " " + std::to_string(test::mono_ns()) + "\n");
        if (pid >= 0) seq += spec.records;
      }
    });
  }
  threads.emplace_back([&] {
    while (!stop) {
      for (const auto& [topic, part] : test::crash_partitions) {
        auto o = store.offsets(topic, part);
        if (o) {
          emit("H " + topic + " " + std::to_string(part) + " " + std::to_string(o->high_watermark) +
               " " + std::to_string(test::mono_ns()) + "\n");
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  // Bounded even if nobody kills us.
  std::this_thread::sleep_for(std::chrono::seconds(60));
  stop = true;
  for (auto& th : threads) th.join();
  return 0;
}

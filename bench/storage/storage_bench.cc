// Storage benchmarks (not tests; bounded in time and disk):
//  - BM_append/<policy>/threads:N: synchronous 1 KiB appends from N threads (each waits for its
//    ack, like a producer with one request in flight), items/s = acknowledged appends per second.
//    Group commit makes throughput grow with N under fsync always: one WAL sync per group.
//  - BM_open/<GiB>/<partitions>: open (recovery) time of a store holding that much data,
//    written beforehand with fsync never; the store is closed without flushing memtables, so the
//    open replays the WAL as after a crash.
// Environment: EB_BENCH_STORAGE_GIB (default 2; 0 skips BM_open), EB_BENCH_STORAGE_DIR (default
// $TMPDIR). Record the commit and the machine with the numbers.
#include <benchmark/benchmark.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "storage/storage.h"

namespace {

using namespace eb::storage;

std::string make_batch(size_t payload) {
  std::string s(61 + payload, 'v');
  for (size_t i = 0; i < 61; ++i) s[i] = 0;
  s[16] = 2;  // magic; LastOffsetDelta 0 = one record; timestamps 0
  return s;
}

append_request request(const std::string& topic, int32_t partition, const std::string& batch) {
  append_request r;
  r.topic = topic;
  r.partition = partition;
  r.batch = batch;
  r.record_count = 1;
  return r;
}

std::filesystem::path base_dir() {
  if (const char* d = getenv("EB_BENCH_STORAGE_DIR")) return d;
  return std::filesystem::temp_directory_path();
}

class scratch {
 public:
  explicit scratch(const std::string& name) : _path(base_dir() / name) {
    std::filesystem::remove_all(_path);
  }
  ~scratch() {
    std::error_code ec;
    std::filesystem::remove_all(_path, ec);
  }
  const std::filesystem::path& path() const { return _path; }

 private:
  std::filesystem::path _path;
};

struct append_fixture {
  std::unique_ptr<scratch> dir;
  std::unique_ptr<log_store> store;
};

void BM_append(benchmark::State& state, const std::string& name, fsync_policy policy,
               append_fixture* fx) {
  if (state.thread_index() == 0) {
    // A fresh store per run (thread count): close the previous one before removing its files.
    fx->store.reset();
    fx->dir.reset();
    fx->dir = std::make_unique<scratch>("eb-bench-append-" + name);
    options o;
    o.data_dir = fx->dir->path();
    o.fsync = policy;
    auto s = log_store::open(o);
    if (!s) {
      state.SkipWithError("open failed");
      return;
    }
    fx->store = std::move(*s);
    (void)fx->store->create_topic("bench", {.partitions = 8});  // fresh dir: cannot exist
  }
  // Google Benchmark starts all threads' loops together, after thread 0's setup above.
  const std::string batch = make_batch(1024);
  const int32_t partition = state.thread_index() % 8;
  for (auto _ : state) {
    std::promise<bool> done;
    fx->store->append({request("bench", partition, batch)},
                      [&](std::vector<eb::result<append_ack>> r) { done.set_value(bool(r[0])); });
    if (!done.get_future().get()) {
      state.SkipWithError("append failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(batch.size()));
}

void fill(const std::filesystem::path& dir, uint64_t bytes, int partitions) {
  options o;
  o.data_dir = dir;
  o.fsync = fsync_policy::never;
  auto s = log_store::open(o);
  if (!s) throw std::runtime_error("open failed");
  auto& store = **s;
  (void)store.create_topic("fill", {.partitions = partitions, .retention_ms = -1});
  const std::string batch = make_batch(64 << 10);
  const uint64_t count = bytes / batch.size();
  // Four writers keep the queue busy; each sends groups of 16 batches.
  std::atomic<uint64_t> next{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&] {
      for (;;) {
        const uint64_t first = next.fetch_add(16);
        if (first >= count) return;
        std::vector<append_request> reqs;
        for (uint64_t i = first; i < std::min(count, first + 16); ++i) {
          reqs.push_back(request("fill", static_cast<int32_t>(i % partitions), batch));
        }
        std::promise<void> done;
        store.append(std::move(reqs),
                     [&](std::vector<eb::result<append_ack>>) { done.set_value(); });
        done.get_future().wait();
      }
    });
  }
  for (auto& t : writers) t.join();
}

// Opt-in (root only, machine-wide): EB_BENCH_DROP_CACHES=1 makes every open a cold one.
void maybe_drop_caches() {
  const char* drop = getenv("EB_BENCH_DROP_CACHES");
  if (drop == nullptr || std::string(drop) != "1") return;
  sync();
  if (FILE* f = fopen("/proc/sys/vm/drop_caches", "w")) {
    fputs("3", f);
    fclose(f);
  }
}

double open_once(const std::filesystem::path& dir, uint64_t* bytes) {
  maybe_drop_caches();
  options o;
  o.data_dir = dir;
  const auto started = std::chrono::steady_clock::now();
  auto s = log_store::open(o);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  if (!s) throw std::runtime_error("open failed");
  *bytes = (*s)->current_usage().log_bytes;
  return ms;
}

void BM_open(benchmark::State& state) {
  const auto gib = static_cast<uint64_t>(state.range(0));
  const auto partitions = static_cast<int>(state.range(1));
  scratch dir("eb-bench-open");
  const auto started = std::chrono::steady_clock::now();
  fill(dir.path(), gib << 30, partitions);
  state.counters["fill_s"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // The first open replays the WAL the writer left (as after a crash); later ones find the
  // memtables already flushed.
  uint64_t bytes = 0;
  state.counters["first_open_ms"] = open_once(dir.path(), &bytes);
  for (auto _ : state) {
    state.SetIterationTime(open_once(dir.path(), &bytes) / 1000.0);
  }
  state.counters["log_GiB"] = static_cast<double>(bytes) / double(1ull << 30);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  static append_fixture fixtures[3];
  const std::pair<const char*, fsync_policy> policies[] = {{"always", fsync_policy::always},
                                                           {"interval", fsync_policy::interval},
                                                           {"never", fsync_policy::never}};
  for (size_t i = 0; i < 3; ++i) {
    auto* fx = &fixtures[i];
    auto* b = benchmark::RegisterBenchmark(
        (std::string("BM_append/") + policies[i].first).c_str(),
        [name = std::string(policies[i].first), policy = policies[i].second,
         fx](benchmark::State& s) { BM_append(s, name, policy, fx); });
    b->ThreadRange(1, 16)->UseRealTime()->MinTime(1.0);
  }
  const char* gib_env = getenv("EB_BENCH_STORAGE_GIB");
  const int64_t gib = gib_env != nullptr ? std::atoll(gib_env) : 2;
  if (gib > 0) {
    benchmark::RegisterBenchmark("BM_open", BM_open)
        ->Args({gib, 8})
        ->Args({gib, 512})
        ->Iterations(3)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  for (auto& fx : fixtures) {
    fx.store.reset();
    fx.dir.reset();
  }
  return 0;
}

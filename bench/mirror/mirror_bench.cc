// Mirror drain rate against a real Apache Kafka broker: a stored backlog is mirrored to a fresh
// cloud topic, per uplink codec and in-flight bound. Uses EB_KAFKA_BOOTSTRAP if set, else starts a
// broker of its own with scripts/kafka/kafka.sh (stopped at exit).
//
//   bench_mirror [--benchmark_filter=...]     items/s = records/s, bytes/s = record payload
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "bridge/mirror/mirror.h"
#include "net/record_batch.h"
#include "storage/storage.h"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr int records_per_run = 200'000;
constexpr size_t value_bytes = 200;
constexpr int partitions = 4;

std::string run(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) throw std::runtime_error("popen: " + command);
  std::string out;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, pipe.get())) out.append(buf, n);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// The broker and a store holding the backlog, shared by every benchmark of this process.
struct fixture {
  std::string bootstrap;
  fs::path base;
  fs::path broker_dir;
  fs::path store_dir;
  std::unique_ptr<eb::storage::log_store> store;

  fixture() {
    base = fs::temp_directory_path() / ("eb-bench-mirror-" + std::to_string(getpid()));
    fs::create_directories(base);
    if (const char* b = std::getenv("EB_KAFKA_BOOTSTRAP")) {
      bootstrap = b;
    } else {
      broker_dir = base / "kafka";
      fs::path script = fs::path(EB_SOURCE_DIR) / "scripts/kafka/kafka.sh";
      bootstrap = run(script.string() + " start " + broker_dir.string());
    }
    store_dir = base / "store";
    eb::storage::options so;
    so.data_dir = store_dir;
    auto opened = eb::storage::log_store::open(so);
    if (!opened) throw std::runtime_error("open store: " + opened.error().message());
    store = std::move(*opened);
    if (!store->create_topic("backlog", {.partitions = partitions})) {
      throw std::runtime_error("create topic");
    }
    append_backlog();
  }
  ~fixture() {
    store->close();
    store.reset();
    if (!broker_dir.empty()) {
      fs::path script = fs::path(EB_SOURCE_DIR) / "scripts/kafka/kafka.sh";
      (void)std::system((script.string() + " stop " + broker_dir.string()).c_str());
    }
    std::error_code ec;
    fs::remove_all(base, ec);
  }

  // 1000-record batches, source codecs rotating, values half random (compressible ~2x).
  void append_backlog() {
    static constexpr eb::net::compression codecs[] = {
        eb::net::compression::none, eb::net::compression::lz4, eb::net::compression::zstd};
    uint32_t x = 12345;
    for (int b = 0; b < records_per_run / 1000; ++b) {
      eb::net::batch_builder_input in;
      in.codec = codecs[b % 3];
      in.base_timestamp = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      for (int k = 0; k < 1000; ++k) {
        eb::net::record_input r;
        r.timestamp_delta = k;
        r.key = "k" + std::to_string(k % 97);
        std::string v;
        while (v.size() < value_bytes) {
          x = x * 1664525u + 1013904223u;
          v += (v.size() % 2) ? static_cast<char>('a' + (v.size() % 7))
                              : static_cast<char>('a' + (x >> 24) % 26);
        }
        r.value = std::move(v);
        in.records.push_back(std::move(r));
      }
      std::string batch = eb::net::encode_batch(in);
      auto h = eb::net::parse_batch_header(
          {reinterpret_cast<const uint8_t*>(batch.data()), batch.size()});
      std::vector<eb::storage::append_request> reqs;
      reqs.push_back({.topic = "backlog",
                      .partition = b % partitions,
                      .batch = std::move(batch),
                      .record_count = 1000,
                      .max_timestamp = h->max_timestamp});
      std::promise<bool> done;
      store->append(std::move(reqs), [&](std::vector<eb::result<eb::storage::append_ack>> r) {
        done.set_value(r.at(0).has_value());
      });
      if (!done.get_future().get()) throw std::runtime_error("append");
    }
  }
};

fixture& shared() {
  static fixture f;
  return f;
}

const char* codec_name(int64_t i) {
  static constexpr const char* names[] = {"none", "lz4", "zstd"};
  return names[i];
}

// Args: uplink codec (0 none, 1 lz4, 2 zstd), max_inflight_bytes in MiB.
void BM_MirrorDrain(benchmark::State& state) {
  spdlog::set_level(spdlog::level::warn);
  fixture& f = shared();
  static int run_no = 0;
  uint64_t payload = 0;
  for (auto _ : state) {
    state.PauseTiming();
    // A fresh site (so a fresh cloud topic) and cursors back at 0: the whole backlog again.
    std::map<std::pair<std::string, int32_t>, int64_t> rewind;
    for (int32_t p = 0; p < partitions; ++p) rewind[{"backlog", p}] = 0;
    if (!f.store->commit_mirror_cursors(rewind)) state.SkipWithError("cursor rewind failed");
    eb::bridge::mirror_options o;
    o.bootstrap = f.bootstrap;
    o.site_id = "bench" + std::to_string(getpid()) + "-" + std::to_string(run_no++);
    o.compression = codec_name(state.range(0));
    o.max_inflight_bytes = static_cast<uint64_t>(state.range(1)) << 20;
    eb::bridge::mirror m(o, *f.store);
    state.ResumeTiming();
    if (!m.start()) {
      state.SkipWithError("mirror start failed");
      break;
    }
    auto deadline = std::chrono::steady_clock::now() + 300s;
    for (;;) {
      auto s = m.status();
      bool done = s.partitions.size() == partitions;
      for (auto& p : s.partitions) {
        done =
            done && p.confirmed_offset == f.store->offsets("backlog", p.partition)->high_watermark;
      }
      if (done) {
        payload += s.delivered_bytes;
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        state.SkipWithError("drain timed out");
        break;
      }
      std::this_thread::sleep_for(5ms);
    }
    state.PauseTiming();
    m.stop(5s);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * records_per_run);
  state.SetBytesProcessed(static_cast<int64_t>(payload));
  state.SetLabel(std::string(codec_name(state.range(0))) + ", " + std::to_string(state.range(1)) +
                 " MiB in flight, " + std::to_string(records_per_run) + " x " +
                 std::to_string(value_bytes) +
                 " B records, startup (tail read, topic creation) included");
}
BENCHMARK(BM_MirrorDrain)
    ->ArgsProduct({{0, 1, 2}, {4, 16}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(2);

}  // namespace

BENCHMARK_MAIN();

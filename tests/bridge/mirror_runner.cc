// A process that opens a store and a mirror in a directory, so tests can kill -9 it for real.
//
//   mirror_runner --dir D --bootstrap B --site S --topic T [--partitions N]
//                 [--append N --round R]   append N records (batches of --batch-records,
//                                          default 50, codecs rotating)
//                 [--append-first]         append before starting the mirror (a backlog)
//                 [--append-only]          append, then exit without mirroring
//                 [--exit-when-drained]    exit 0 once every partition is confirmed
//                 [--max-inflight BYTES] [--value-bytes N] [--compression C]
//                 [--report]               print a JSON line of measurements at exit
//                 [--progress]             print "progress <delivered> <backlog> <inflight>"
//                                          every 50 ms
//                 [--bandwidth BYTES]      mirror.bandwidth_bytes_per_sec
//                 [--property K=V]...      mirror.properties (librdkafka)
//                 [--timeout-s S]          give up (exit 3) after S seconds
//
// Prints "started" once the mirror runs and "appended N" after appending. Exit codes: 0 done,
// 2 bad usage or start failure, 3 timeout.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <iostream>
#include <thread>

#include "bridge/mirror/mirror.h"
#include "net/record_batch.h"
#include "storage/storage.h"
#include "tests/bridge/mirror_support.h"

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

int64_t rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Deterministic content: the test regenerates nothing, it compares the cloud with the store.
std::string make_value(int round, int i, size_t bytes) {
  std::string v = "r" + std::to_string(round) + "-" + std::to_string(i) + "-";
  uint32_t x = static_cast<uint32_t>(round * 2654435761u + i * 40503u + 1);
  while (v.size() < bytes) {
    x = x * 1664525u + 1013904223u;
    v += static_cast<char>('a' + (x >> 24) % 26);
  }
  return v;
}

bool append_records(eb::storage::log_store& store, const std::string& topic, int partitions,
                    int round, int count, size_t value_bytes, int per_batch) {
  static constexpr eb::net::compression codecs[] = {
      eb::net::compression::none, eb::net::compression::gzip, eb::net::compression::snappy,
      eb::net::compression::lz4, eb::net::compression::zstd};
  int batch_no = 0;
  for (int i = 0; i < count;) {
    eb::net::batch_builder_input in;
    in.codec = codecs[batch_no % 5];
    in.base_timestamp = now_ms();
    int n = std::min(per_batch, count - i);
    for (int k = 0; k < n; ++k, ++i) {
      eb::net::record_input r;
      r.timestamp_delta = k;
      r.key = "k" + std::to_string(i % 97);
      r.value = make_value(round, i, value_bytes);
      r.headers.emplace_back("round", std::to_string(round));
      in.records.push_back(std::move(r));
    }
    std::string batch = eb::net::encode_batch(in);
    auto h =
        eb::net::parse_batch_header({reinterpret_cast<const uint8_t*>(batch.data()), batch.size()});
    eb::storage::append_request req{.topic = topic,
                                    .partition = batch_no % partitions,
                                    .batch = std::move(batch),
                                    .record_count = n,
                                    .max_timestamp = h->max_timestamp};
    std::vector<eb::storage::append_request> reqs;
    reqs.push_back(std::move(req));
    std::promise<bool> done;
    store.append(std::move(reqs), [&](std::vector<eb::result<eb::storage::append_ack>> r) {
      done.set_value(r.at(0).has_value());
    });
    if (!done.get_future().get()) return false;
    ++batch_no;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mirror_runner"};
  std::string dir, bootstrap, site = "runner", topic = "runner", compression = "zstd";
  int partitions = 1, append = 0, round = 0, timeout_s = 600, batch_records = 50;
  size_t value_bytes = 100;
  uint64_t max_inflight = 16ull << 20;
  bool exit_when_drained = false, report = false, append_first = false, progress = false,
       append_only = false;
  uint64_t bandwidth = 0;
  std::vector<std::string> properties;
  app.add_option("--dir", dir)->required();
  app.add_option("--bootstrap", bootstrap)->required();
  app.add_option("--site", site);
  app.add_option("--topic", topic);
  app.add_option("--partitions", partitions);
  app.add_option("--append", append);
  app.add_option("--round", round);
  app.add_option("--value-bytes", value_bytes);
  app.add_option("--batch-records", batch_records);
  app.add_option("--max-inflight", max_inflight);
  app.add_option("--compression", compression);
  app.add_option("--timeout-s", timeout_s);
  app.add_flag("--exit-when-drained", exit_when_drained);
  app.add_flag("--report", report);
  app.add_flag("--append-first", append_first);
  app.add_flag("--progress", progress);
  app.add_flag("--append-only", append_only);
  app.add_option("--bandwidth", bandwidth);
  app.add_option("--property", properties);
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  eb::storage::options so;
  so.data_dir = dir;
  auto opened = eb::storage::log_store::open(so);
  if (!opened) {
    std::cerr << "open store: " << opened.error().message() << "\n";
    return 2;
  }
  auto& store = **opened;
  if (!store.find_topic(topic)) {
    if (auto r = store.create_topic(topic, {.partitions = partitions}); !r) {
      std::cerr << "create topic: " << r.error().message() << "\n";
      return 2;
    }
  }

  auto do_append = [&] {
    if (append <= 0) return true;
    if (!append_records(store, topic, partitions, round, append, value_bytes, batch_records)) {
      std::cerr << "append failed\n";
      return false;
    }
    std::cout << "appended " << append << std::endl;
    return true;
  };
  if ((append_first || append_only) && !do_append()) return 2;
  if (append_only) {
    store.close();
    return 0;
  }

  int64_t baseline_rss = rss_kb();
  eb::bridge::mirror_options mo;
  mo.bootstrap = bootstrap;
  mo.site_id = site;
  mo.max_inflight_bytes = max_inflight;
  mo.compression = compression;
  mo.retry_backoff_min = 50ms;
  mo.retry_backoff_max = 2s;
  mo.cursor_commit_interval = 100ms;
  mo.bandwidth_bytes_per_sec = bandwidth;
  for (auto& kv : properties) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) return 2;
    mo.properties[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  eb::bridge::mirror m(mo, store);
  if (!m.start()) return 2;
  std::cout << "started" << std::endl;

  auto started = steady::now();

  // Peak RSS while draining, sampled (VmHWM would include the append phase).
  std::atomic<bool> sampling{true};
  std::atomic<int64_t> peak_rss{rss_kb()};
  std::atomic<int64_t> first_delivery_us{-1};
  std::thread sampler([&] {
    int tick = 0;
    while (sampling) {
      if (first_delivery_us < 0 && m.status().delivered_records > 0) {
        first_delivery_us =
            std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - started).count();
      }
      if (progress && ++tick % 3 == 0) {
        auto s = m.status();
        std::printf("progress %llu %lld %llu\n",
                    static_cast<unsigned long long>(s.delivered_records),
                    static_cast<long long>(s.backlog_records),
                    static_cast<unsigned long long>(s.inflight_records));
        std::fflush(stdout);
      }
      int64_t r = rss_kb();
      int64_t p = peak_rss.load();
      while (r > p && !peak_rss.compare_exchange_weak(p, r)) {
      }
      std::this_thread::sleep_for(20ms);
    }
  });
  if (!append_first && !do_append()) {
    sampling = false;
    sampler.join();
    return 2;
  }
  auto drained = [&] { return eb::test::mirror_caught_up(m, store); };
  auto deadline = started + std::chrono::seconds(timeout_s);
  // With --append-first the whole backlog is there when the mirror starts: time the drain from
  // then; otherwise from the end of the appends.
  auto drain_start = append_first ? started : steady::now();
  uint64_t delivered_before = append_first ? 0 : m.status().delivered_records;
  int rc = 0;
  for (;;) {
    if (exit_when_drained && drained()) break;
    if (steady::now() > deadline) {
      std::cerr << "timeout\n";
      rc = 3;
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  auto drain_end = steady::now();
  sampling = false;
  sampler.join();
  auto s = m.status();
  m.stop(10s);
  if (report) {
    double secs = std::chrono::duration<double>(drain_end - drain_start).count();
    uint64_t bytes = s.delivered_bytes;
    std::printf(
        "{\"records\":%llu,\"bytes\":%llu,\"seconds\":%.3f,\"records_per_s\":%.0f,"
        "\"mb_per_s\":%.2f,\"first_delivery_s\":%.3f,\"baseline_rss_kb\":%lld,"
        "\"peak_rss_kb\":%lld,\"resyncs\":%llu}\n",
        static_cast<unsigned long long>(s.delivered_records - delivered_before),
        static_cast<unsigned long long>(bytes), secs,
        static_cast<double>(s.delivered_records - delivered_before) / secs,
        static_cast<double>(bytes) / secs / 1e6, first_delivery_us.load() / 1e6,
        static_cast<long long>(baseline_rss), static_cast<long long>(peak_rss.load()),
        static_cast<unsigned long long>(s.resyncs));
    std::fflush(stdout);
  }
  store.close();
  return rc;
}

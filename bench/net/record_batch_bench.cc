// What produce pays per batch: validate_batch (header, CRC, counts: all it did before compressed
// payloads were checked) against validate_produce_batch (every record, compressed payloads
// inflated piece by piece), and decode_batch (what the mirror does) for reference. Batches of
// 1 MiB of 1 KiB records with text values (compressible about 3:1), one per codec.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

#include "net/record_batch.h"

namespace {

using eb::net::compression;

std::string make_batch(compression codec) {
  eb::net::batch_builder_input in;
  in.codec = codec;
  in.base_timestamp = 1'700'000'000'000;
  in.producer_id = 7;
  in.producer_epoch = 0;
  in.base_sequence = 0;
  uint64_t x = 88172645463325252ull;  // xorshift: the same bytes on every run
  for (int i = 0; i < 1024; ++i) {
    std::string value(1000, ' ');
    for (auto& c : value) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      c = static_cast<char>('a' + (x % 16));
    }
    in.records.push_back({.timestamp_delta = i,
                          .key = "sensor-" + std::to_string(i % 64),
                          .value = std::move(value),
                          .headers = {{"unit", std::string("mm")}}});
  }
  return eb::net::encode_batch(in);
}

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Throughput is counted in record bytes (the uncompressed 1 MiB), whatever the codec.
constexpr int64_t k_record_bytes = 1024 * 1000;

void BM_validate_batch(benchmark::State& state) {
  const auto b = make_batch(static_cast<compression>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(eb::net::validate_batch(bytes(b)));
  state.SetBytesProcessed(state.iterations() * k_record_bytes);
  state.counters["batch_bytes"] = static_cast<double>(b.size());
}

void BM_validate_produce_batch(benchmark::State& state) {
  const auto b = make_batch(static_cast<compression>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(eb::net::validate_produce_batch(bytes(b)));
  state.SetBytesProcessed(state.iterations() * k_record_bytes);
  state.counters["batch_bytes"] = static_cast<double>(b.size());
}

void BM_decode_batch(benchmark::State& state) {
  const auto b = make_batch(static_cast<compression>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(eb::net::decode_batch(bytes(b)));
  state.SetBytesProcessed(state.iterations() * k_record_bytes);
}

// Arguments: codec id (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
BENCHMARK(BM_validate_batch)->DenseRange(0, 4)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_validate_produce_batch)->DenseRange(0, 4)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_decode_batch)->DenseRange(0, 4)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();

#pragma once
// Helpers for the mirror tests: a real store in a temp dir, deterministic record batches of every
// codec, and a reader that pulls what the real cloud broker holds. No fakes: the cloud is Apache
// Kafka (tests/support/cloud_kafka.h), the store is RocksDB.
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bridge/mirror/mirror.h"
#include "net/record_batch.h"
#include "storage/storage.h"

namespace eb::test {

// One record as the tests compare it: edge side (decoded from storage) or cloud side.
struct mirrored_record {
  int64_t offset = -1;  // source offset (edge) or the cloud partition's offset
  int64_t timestamp = -1;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
  bool operator==(const mirrored_record&) const = default;
};

// A fresh directory under the system temp dir, removed on destruction.
class temp_dir {
 public:
  explicit temp_dir(const std::string& prefix);
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return _path; }

 private:
  std::filesystem::path _path;
};

// A unique suffix for topic names, so tests sharing one broker never collide.
std::string unique_suffix();

std::unique_ptr<storage::log_store> open_store(const std::filesystem::path& dir,
                                               storage::options opts = {});

// Records of a deterministic batch: round/index decide keys, values and headers; some keys and
// values are null or empty, some headers have null values.
std::vector<net::record_input> make_records(int round, int first_index, int count,
                                            size_t value_bytes = 64);

// Appends one batch and waits for its ack; returns the base offset (fails the test on error).
int64_t append_batch(storage::log_store& store, const std::string& topic, int32_t partition,
                     net::compression codec, int64_t base_timestamp,
                     std::vector<net::record_input> records);
// Appends one request straight through storage (no produce validation): its base offset, or -1
// after a test failure.
int64_t append_stored(storage::log_store& store, storage::append_request req);

// Every record stored in a partition, decoded, in offset order.
std::vector<mirrored_record> stored_records(const storage::log_store& store,
                                            const std::string& topic, int32_t partition);

// Every record of a cloud partition from its start to the high watermark at call time (plus
// whatever arrives before that is reached). Fails the test on timeout.
std::vector<mirrored_record> cloud_records(
    const std::string& bootstrap, const std::string& topic, int32_t partition,
    std::chrono::milliseconds timeout = std::chrono::minutes(2));

// The partition count of a cloud topic, or -1 if it does not exist.
int32_t cloud_partitions(const std::string& bootstrap, const std::string& topic);
// Creates a cloud topic (fails the test on error).
void create_cloud_topic(const std::string& bootstrap, const std::string& topic, int partitions,
                        const std::map<std::string, std::string>& config = {});
// Sets topic configs (AlterConfigs; fails the test on error).
void alter_cloud_topic(const std::string& bootstrap, const std::string& topic,
                       const std::map<std::string, std::string>& config);

// The value of the last header with this name.
std::optional<std::string> header(const mirrored_record& r, const std::string& name);
// The record as the cloud should hold it: the source's headers plus the five provenance headers
// (`gen`: the source topic's storage id).
mirrored_record with_provenance(mirrored_record r, const std::string& site,
                                const std::string& topic, int32_t partition, uint32_t gen);

// Polls `pred` every 50 ms until true or timeout; returns its last value.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

// A logger that keeps its last lines (for asserting on what the mirror logs) and also prints.
struct captured_log {
  captured_log();
  std::shared_ptr<spdlog::logger> logger;
  std::vector<std::string> lines() const;
  bool contains(const std::string& text) const;

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> _ring;
};

// Resident set size of this process, kB (VmRSS).
int64_t rss_kb();

// Mirror options for tests: fast retries and cursor commits.
bridge::mirror_options mirror_options_for(const std::string& bootstrap, const std::string& site);

// True once every partition's confirmed offset reached its high watermark.
bool mirror_caught_up(const bridge::mirror& m, const storage::log_store& store);

}  // namespace eb::test

#pragma once
// The store-and-forward mirror: copies every record stored at the edge to the cloud Kafka
// cluster, per partition in order, exactly once, however long the uplink is down.
//
// One mirror thread owns a librdkafka producer (idempotent, acks=all, gapless, no message
// timeout). It reads batches from storage at each partition's position, decodes them
// (decompressing as needed) and produces each record to the same partition number of the mapped
// cloud topic, with its key, value, CreateTime timestamp and headers, plus provenance headers
// "eb.site", "eb.topic", "eb.partition" and "eb.offset" (decimal strings).
//
// Exactly once: the cloud's tail is the truth. At start, and whenever the outcome of a produce is
// unknown (any failed delivery, a fatal producer error: the producer is then recreated), the
// mirror reads the last records of each target partition, finds the last one carrying this site's
// provenance and resumes right after its "eb.offset". Only when the target holds nothing of ours
// does the persisted storage mirror cursor decide.
//
// Storage appends are never blocked or slowed: the advance listener only records the new high
// watermark and wakes the thread. Memory is bounded by max_inflight_bytes of records in flight
// plus a 16 MiB read-ahead shared by the partitions being drained (each holding at most one
// decoded batch), whatever the backlog.
//
// Thread-safety: start, stop and status may be called from any thread; start and stop not
// concurrently with each other.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "bridge/mirror/options.h"
#include "common/result.h"

namespace spdlog {
class logger;
}
namespace eb::storage {
class log_store;
}

namespace eb::bridge {

enum class mirror_errc {
  // validate(options) found problems; they are logged.
  invalid_options = 1,
  // librdkafka refused the configuration (a property's value, the TLS/SASL setup).
  client_config,
  // start() on a mirror already started, or after stop().
  bad_state,
};
const std::error_category& mirror_category() noexcept;
std::error_code make_error_code(mirror_errc e) noexcept;

enum class uplink_state {
  stopped,
  // Started; no successful exchange with the cloud yet.
  connecting,
  connected,
  // Every broker is unreachable; records wait in storage (and up to max_inflight_bytes in the
  // producer queue) and flow again when the cloud returns.
  disconnected,
  // The cloud answers but refuses: authentication or authorization failed, or a target topic is
  // missing (create_target_topics off, or creation refused) or has too few partitions.
  refusing,
};
const char* to_string(uplink_state s);

struct mirror_partition_status {
  std::string topic;
  int32_t partition = 0;
  std::string target_topic;
  // "mirroring", "caught-up", "resolving" (finding the resume point in the cloud), "waiting"
  // (target topic not usable: see error), "blocked" (the cloud refuses a record of this
  // partition for good, or a stored batch does not decode: see error and
  // mirror_options::on_refusal), "excluded".
  std::string state;
  int64_t high_watermark = 0;
  // Next offset to hand to the producer; -1 before the resume point is known.
  int64_t produced_offset = -1;
  // Every record below it is in the cloud (or was dropped by storage and reported as a gap).
  int64_t confirmed_offset = -1;
  // The cursor last persisted in storage.
  int64_t committed_offset = -1;
  int64_t backlog_records = 0;
  // Estimated from the stored batches read so far.
  uint64_t backlog_bytes = 0;
  uint64_t delivered_records = 0;
  uint64_t delivered_bytes = 0;
  int32_t priority = 0;
  std::string error;
};

struct mirror_status {
  bool running = false;
  uplink_state uplink = uplink_state::stopped;
  bool connected = false;
  // The latest error (uplink, target topic or delivery), kept until the next one.
  std::string last_error;
  uint64_t inflight_bytes = 0;
  uint64_t inflight_records = 0;
  uint64_t delivered_records = 0;
  uint64_t delivered_bytes = 0;
  // How many times the resume point was re-read from the cloud after an unknown outcome.
  uint64_t resyncs = 0;
  // Connections after the first: the uplink back after an outage, a refusal or a resync.
  uint64_t reconnects = 0;
  uint64_t gaps_reported = 0;
  // Sum of backlog_records over partitions.
  int64_t backlog_records = 0;
  std::vector<mirror_partition_status> partitions;
  // The snapshot's age bound: status is published by the mirror thread every ~100 ms.
  std::chrono::system_clock::time_point taken_at;
};

class mirror {
 public:
  // `store` must outlive the mirror. `log` defaults to spdlog's default logger.
  mirror(mirror_options opts, storage::log_store& store,
         std::shared_ptr<spdlog::logger> log = nullptr);
  ~mirror();  // stop(0 ms) if still running
  mirror(const mirror&) = delete;
  mirror& operator=(const mirror&) = delete;

  // Validates the options and starts the mirror thread. Connecting happens in the background:
  // an unreachable cloud is not an error here (see status()).
  [[nodiscard]] result<void> start();

  // Stops taking new records, waits up to flush_timeout for the cloud to confirm those in
  // flight, persists the confirmed cursors and joins the thread. What is still unconfirmed is
  // sent again by the next start (the tail read prevents duplicates).
  void stop(std::chrono::milliseconds flush_timeout);

  mirror_status status() const;

  // Live reconfiguration of the uplink cap (mirror_options::bandwidth_bytes_per_sec, 0 =
  // unlimited): handed to the mirror thread, which applies it at its next wake-up (at once).
  void set_bandwidth(uint64_t bytes_per_sec);
  // The cap in force on the mirror thread.
  uint64_t bandwidth() const;

 private:
  class impl;
  std::unique_ptr<impl> _impl;
};

}  // namespace eb::bridge

template <>
struct std::is_error_code_enum<eb::bridge::mirror_errc> : std::true_type {};

#pragma once
// The downlink: configured cloud topics copied into local topics by a librdkafka consumer on a
// thread of its own (`eb-downlink`), exactly once across crashes and outages.
//
// - Cloud partition p goes to local partition p, in order. A local topic the downlink creates
//   gets the cloud topic's partition count; a cloud partition without a local one (the cloud
//   topic grew, or the local topic existed with fewer) is blocked with an error, never remapped.
// - Exactly once: every local append carries the cloud offset it copied up to as a storage source
//   cursor, written in the same RocksDB WriteBatch as the records (storage::append_request). At
//   start every cloud partition is assigned at its stored cursor, so after kill -9 the next
//   record copied is the first one not stored. No consumer group, no offset commits.
// - Bounded: librdkafka's prefetch (queued.max.messages.kbytes, fetch sizes) and one local batch
//   per partition per append. Before storage's log bytes reach the disk quota every partition is
//   paused (rd_kafka_pause_partitions); they resume from their cursors when retention has freed
//   space. Nothing is dropped.
// - No loops: the local topics it writes are marked as the downlink's in storage before they are
//   created; owns() answers for them, and the app hands it to the mirror as its exclusion.
//
// Thread-safety: start/stop from the controlling thread; owns, set_topics and status from any.
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "bridge/downlink/options.h"
#include "common/result.h"
#include "storage/storage.h"

namespace eb::bridge {

struct downlink_partition_status {
  std::string cloud_topic;
  int32_t partition = 0;
  std::string local_topic;
  // "copying", "caught-up", "paused" (quota), "retrying" (a local append failed), "blocked".
  std::string state;
  std::string error;
  // The next cloud offset to copy (stored with the records); -1 before the first record.
  int64_t cursor = -1;
  // The cloud partition's high watermark as of the last fetch; -1 while unknown.
  int64_t high_watermark = -1;
  // high_watermark - cursor (the whole partition when nothing is copied yet); -1 while unknown.
  int64_t lag = -1;
  uint64_t records = 0;
};

struct downlink_status {
  // "connecting", "connected", "disconnected", "paused" (disk quota), "stopped".
  std::string state = "stopped";
  std::string last_error;
  bool quota_paused = false;
  uint64_t quota_pauses = 0;
  uint64_t records = 0;  // copied since start
  uint64_t errors = 0;   // failed local appends and consumer errors
  std::vector<downlink_rule> rules;
  std::vector<downlink_partition_status> partitions;
};

// The local topics marked as the downlink's in storage (for a process whose downlink is off:
// they still never go up the mirror).
std::set<std::string> downlink_owned_topics(const storage::log_store& store);

class downlink {
 public:
  // How a local topic the downlink creates is configured (topics.defaults / overrides); its
  // partition count is then set to the cloud topic's.
  using topic_config_fn = std::function<storage::topic_config(const std::string&)>;

  // Reads storage's marks of the downlink's local topics, so owns() answers from here on.
  downlink(downlink_options opts, storage::log_store& store, topic_config_fn config_for);
  ~downlink();  // stop()
  downlink(const downlink&) = delete;
  downlink& operator=(const downlink&) = delete;

  // Creates the consumer (configuration errors are returned) and starts the thread.
  result<void> start();
  // Stops the thread; nothing is lost (every copied record is stored with its cursor).
  void stop();

  // A local topic the downlink writes or has written (marked in storage).
  bool owns(const std::string& local_topic) const;

  // Replaces the topic rules, live. Checked at once: on any problem nothing changes and the
  // problems are returned ("downlink.topics[i]: ..."). Applied on the downlink thread within one
  // poll (partitions no longer matched stop; their cursors stay stored for a later return).
  std::vector<std::string> set_topics(std::vector<downlink_rule> rules);

  downlink_status status() const;

 private:
  struct impl;
  std::unique_ptr<impl> _impl;
};

}  // namespace eb::bridge

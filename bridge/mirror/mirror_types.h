#pragma once
// Types and constants shared by the parts of the mirror (internal to bridge/mirror): a mirrored
// partition with its read-ahead and in-flight records, a cloud target topic, the link state.
// Every other mirror file may include this one; it includes none of them, nor librdkafka's
// header (so the scheduler's unit test needs no librdkafka).
#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "bridge/mirror/options.h"
#include "net/record_batch.h"
#include "storage/storage.h"

struct rd_kafka_topic_s;  // librdkafka's rd_kafka_topic_t

namespace eb::bridge::mirror_detail {

using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Header names of the provenance every mirrored record carries.
inline constexpr const char* h_site = "eb.site";
inline constexpr const char* h_topic = "eb.topic";
inline constexpr const char* h_partition = "eb.partition";
// The source topic's storage id (topic_info::id): a topic deleted and created again under the
// same name has a new one, so the cloud's records of the old topic never count as the new one's
// (resume). Records mirrored before this header existed carry none and match any.
inline constexpr const char* h_gen = "eb.gen";
inline constexpr const char* h_offset = "eb.offset";
inline constexpr const char* h_gap_id = "eb.gap_id";

// What a queued record costs beyond its bytes, so that many tiny records are bounded too:
// librdkafka's message struct with its allocation, and per header (the four provenance headers
// included) a header struct, list slot and name. Measured against RSS, see the report.
inline constexpr uint64_t record_overhead = 208;
inline constexpr uint64_t header_overhead = 72;
inline constexpr uint64_t provenance_headers = 5;
// Blocking librdkafka calls from the mirror thread (stop() waits at most this long for them).
inline constexpr milliseconds metadata_timeout{3000};
inline constexpr milliseconds tail_timeout{15'000};
// Also bounds how long stop() and status() lag while the cloud is unreachable (every fifth probe
// waits metadata_timeout).
inline constexpr milliseconds probe_timeout{1000};
// A paused refusal is looked at again after retry_backoff_max, doubling up to this many times it.
inline constexpr int refusal_backoff_factor = 10;

inline std::string decimal(int64_t v) {
  std::array<char, 24> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  (void)ec;  // 24 chars always hold an int64
  return std::string(buf.data(), end);
}

inline std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

inline int64_t wall_ms() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Capped exponential backoff with equal jitter: half the step fixed, half random.
class backoff {
 public:
  backoff(milliseconds min, milliseconds max) : _min(min), _max(max), _next(min) {}
  milliseconds next() {
    auto step = _next;
    _next = std::min(_max, _next * 2);
    std::uniform_int_distribution<int64_t> jitter(0, std::max<int64_t>(0, step.count() / 2));
    return milliseconds(step.count() - step.count() / 2 + jitter(_rng));
  }
  void reset() { _next = _min; }

 private:
  milliseconds _min, _max, _next;
  std::mt19937_64 _rng{std::random_device{}()};
};

enum class link_state { connecting, connected, disconnected, refusing };

enum class target_state { unknown, ready, missing, too_few_partitions, refused };

// rd_kafka_topic_destroy, in target_topics.cc.
struct topic_handle_deleter {
  void operator()(rd_kafka_topic_s* t) const;
};
using topic_handle = std::unique_ptr<rd_kafka_topic_s, topic_handle_deleter>;

// A cloud topic records are mirrored to. Its state is owned by target_topics.
struct target {
  std::string name;
  int32_t needed_partitions = 1;
  target_state state = target_state::unknown;
  std::string error;
  target_state logged_state = target_state::unknown;
  std::string logged_error;
  steady::time_point retry_at{};
  backoff retry;
  topic_handle handle;  // valid while the current producer lives
  // The topic's max.message.bytes (DescribeConfigs), if the cloud told us. A record whose batch
  // would exceed it is never handed to librdkafka.
  std::optional<int64_t> max_message_bytes;
  // When that limit is below the largest batch librdkafka builds: the estimated uplink bytes of
  // records one partition may have handed to librdkafka at once, so that no batch exceeds the
  // limit (librdkafka's batch.size is producer-wide). 0 = no such bound.
  uint64_t batch_budget = 0;
  std::string logged_limit_error;
  // Asked once when the target first becomes ready (not again after every resync: one blocking
  // round trip per target). Asked again by a partition paused on a too-large record, and a
  // too-large batch refused by the broker cuts the budget by itself.
  bool limit_asked = false;
  target(std::string n, const mirror_options& o)
      : name(std::move(n)), retry(o.retry_backoff_min, o.retry_backoff_max) {}
};

// A record handed to librdkafka and not yet reported delivered.
struct inflight_record {
  int64_t offset;  // source offset, or the gap id
  uint64_t bytes;  // accounted bytes
  uint64_t payload;
  uint64_t wire = 0;  // upper bound of its size in an uplink batch
};

// Bytes of a RecordBatch v2 header, which every uplink batch carries once.
inline constexpr uint64_t batch_header_bytes = 61;

// What an uplink batch of up to `limit` bytes adds to its records' estimated wire bytes: the
// batch header, and room for a codec that does not shrink the data: snappy's worst case grows it
// by a sixth, the frames of zstd, lz4 and gzip by well under 1/64.
inline uint64_t batch_overhead(uint64_t limit, const std::string& codec) {
  if (codec == "none") return batch_header_bytes;
  return batch_header_bytes + 64 + limit / (codec == "snappy" ? 6 : 64);
}

// Why a partition stopped before a range the cloud refuses for good, or a stored batch that does
// not decode. The partition waits (retry_at) and is then looked at again under its policy.
struct refusal {
  int64_t first_offset = 0;
  int64_t last_offset = 0;
  std::string reason;
  // Learned from a delivery report (not from the mirror's own check before sending).
  bool from_broker = false;
  // The broker refused an uplink batch: the range is that whole batch and may hold good
  // records, so it is sent again one record per request to find the refused one.
  bool whole_batch = false;
  // The refused record may fit once the cloud topic's max.message.bytes is raised.
  bool too_large = false;
  // Estimated uplink bytes of the refused batch's records (learned from the broker).
  uint64_t wire = 0;
};

// Stored batches read for a partition and not yet handed to the producer, and the one being
// handed over.
struct readahead {
  std::vector<storage::stored_batch> chunk;
  uint64_t bytes = 0;  // of chunk, counted in the scheduler's read-ahead budget
  size_t batch_index = 0;
  std::optional<net::decoded_batch> batch;
  size_t record_index = 0;
  bool stored_left() const { return batch_index < chunk.size(); }
  bool empty() const { return !batch && !stored_left(); }
};

// A mirrored source partition (or, with is_gaps, the gap reports' target partition).
struct part {
  std::string topic;
  int32_t partition = 0;
  // Storage's id of the topic (topic_info::id): a topic deleted and created again under the
  // same name has a new one, and is a new part.
  uint32_t topic_id = 0;
  // The local topic was deleted: nothing more is read, sent or committed; the part is dropped
  // once its in-flight records are settled (delivery reports point at it).
  bool gone = false;
  int32_t priority = 0;
  // The topic config edgebridge.mirror.on.refusal when set (re-read at every topic refresh),
  // else mirror_options::refusal_for(topic).
  refusal_policy on_refusal = refusal_policy::pause;
  std::string target_name;
  target* tgt = nullptr;
  bool is_gaps = false;
  int64_t hw = 0;
  // Known only once the resume point was read from the cloud (resolved).
  bool resolved = false;
  int64_t next = -1;       // next offset to produce
  int64_t confirmed = -1;  // every offset below is in the cloud (or dropped by storage)
  int64_t committed = -1;  // persisted storage cursor
  int64_t last_resume = -1;
  bool failed = false;  // a delivery failed since the last resolve
  std::deque<inflight_record> inflight;
  uint64_t inflight_payload = 0;  // sum of inflight[].payload
  uint64_t inflight_wire = 0;     // sum of inflight[].wire
  // The next record's wire bytes while it waits for room under the target's batch_budget.
  uint64_t waiting_wire = 0;
  // Set while the partition is blocked by a refusal (until retry_at, then looked at again).
  std::optional<refusal> refused;
  std::string logged_refusal;  // the reason last logged, so that a re-check is not news
  milliseconds refusal_wait{0};
  // Records up to this offset go one per request, to find which one the broker refuses.
  int64_t careful_until = -1;
  // The last range skipped under on_refusal `skip` (in the gap ledger): never sent, also when a
  // resync resumes before it.
  int64_t skip_first = -1;
  int64_t skip_last = -1;
  readahead ahead;
  // Age of the backlog for scheduling: the timestamp (ms) of the next batch to mirror when
  // known, else the wall-clock time the backlog was noticed.
  int64_t oldest_ms = 0;
  steady::time_point retry_at{};
  std::string error;
  uint64_t delivered_records = 0;
  uint64_t delivered_bytes = 0;
  double bytes_per_record = 0;  // of stored batches, for the backlog estimate
};

}  // namespace eb::bridge::mirror_detail

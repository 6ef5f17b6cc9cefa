#pragma once
// storage: append-only Kafka partition logs on RocksDB. Knows offsets, opaque RecordBatch bytes,
// producer sequence state, cursors and group offsets; knows nothing of sockets or the wire format
// beyond the fixed RecordBatch v2 header fields it is handed.
//
// Threading: one writer thread owns every write (group commit). All public methods are
// thread-safe. Every write has one calling convention: it completes through a callback that runs
// on the writer thread once the write is committed (or failed), like append. Callbacks and advance
// listeners must not block (post to an executor instead). Blocking forms of the writes (same
// names, no callback) are for threads that may wait: the mirror thread, tools, tests.
#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "common/result.h"

namespace eb::storage {

enum class errc {
  // The configured disk quota is reached under policy `reject`, or the disk is full (ENOSPC).
  // Retriable: space returns as the mirror confirms and retention deletes.
  disk_full = 1,
  // RocksDB reported an I/O error or corruption; the write did not happen.
  io_error,
  // The store is closing; an append may or may not have become durable.
  shutting_down,
  // The pending-append queue is at its bound; retriable.
  queue_full,
  unknown_topic,
  unknown_partition,
  topic_exists,
  invalid_topic_config,
  // A read below the log start offset or above the high watermark.
  offset_out_of_range,
  // Idempotent producer: a sequence gap (Kafka OUT_OF_ORDER_SEQUENCE_NUMBER).
  out_of_order_sequence,
  // Idempotent producer: an epoch older than the one stored (Kafka INVALID_PRODUCER_EPOCH).
  invalid_producer_epoch,
  // Idempotent producer: a non-zero sequence for a producer with no state (UNKNOWN_PRODUCER_ID).
  unknown_producer_id,
  // DeleteRecords above the mirror cursor while a mirror is configured: the cloud does not have
  // those records yet (Kafka POLICY_VIOLATION).
  held_for_mirror,
};
const std::error_category& storage_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

enum class fsync_policy {
  always,    // an acknowledged append is in the synced WAL (group commit shares each sync)
  interval,  // WAL synced every fsync_interval: a crash loses at most that window
  never,     // page cache only: an OS crash or power loss may lose acknowledged data
};
enum class quota_policy {
  reject,       // appends fail with disk_full while at the quota; nothing stored is dropped
  drop_oldest,  // oldest data of the lowest-priority topics is dropped and recorded as a gap
};

// Retention's rule for data the cloud does not have. Whatever the rule, nothing unmirrored is
// deleted silently: every such deletion (retention here, the quota's drop_oldest) is written to
// the gap ledger in the same WriteBatch and counted in usage::dropped_records.
enum class unmirrored_retention {
  // A mirror is configured, even if it is disabled or paused right now: retention deletes only
  // below the mirror cursor and waits for it like for a slow uplink.
  hold,
  // No mirror is configured (a plain local broker): retention deletes by its limits, and the
  // part the cloud never got is recorded as a gap with reason "retention (no mirror)".
  delete_and_record,
};

struct record_codec;  // below: compaction's record-level access, given by bridge

// Options owned by storage. Defaults keep all of RocksDB's memory well under 64 MiB.
struct options {
  std::filesystem::path data_dir = "data";
  fsync_policy fsync = fsync_policy::always;
  std::chrono::milliseconds fsync_interval{100};
  // Total bytes of log data kept on disk; 0 = no quota.
  uint64_t max_disk_bytes = 0;
  quota_policy on_quota = quota_policy::reject;
  uint64_t block_cache_bytes = 8ull << 20;
  uint64_t write_buffer_bytes = 8ull << 20;
  int max_write_buffers = 2;
  // Bound of the append queue (requests); a full queue answers queue_full.
  size_t max_pending_appends = 8192;
  // Bound of the append queue in batch bytes (one append call is always let into an empty
  // queue, whatever its size); a full queue answers queue_full.
  uint64_t max_pending_bytes = 64ull << 20;
  // Bytes one group commit takes at most.
  uint64_t max_group_commit_bytes = 32ull << 20;
  // How often retention and quota enforcement run.
  std::chrono::milliseconds retention_check_interval{10'000};
  // Retention and the quota delete whole segments: a partition's log is cut into segments of
  // about this many bytes (or this age), tracked in meta. Smaller = finer deletion, more entries.
  uint64_t segment_bytes = 1ull << 20;
  std::chrono::milliseconds segment_ms{3'600'000};
  // Idempotent producer state idle this long is forgotten (Kafka producer.id.expiration.ms); it
  // is also forgotten once retention has deleted all of its batches.
  std::chrono::milliseconds producer_expiry{86'400'000};
  // Consumer groups whose progress retention waits for: data at or above a group's committed
  // offset of a partition (all of it where the group committed none) is never deleted by
  // retention, in addition to the mirror cursor rule. The quota policy `drop_oldest` still drops
  // (a full disk is worse). Default: none.
  std::set<std::string> retention_protected_groups;
  // What retention may do with data the mirror has not confirmed (at or above the cursor).
  unmirrored_retention unmirrored = unmirrored_retention::hold;
  // Compaction of topics whose cleanup policy asks for it runs after each retention pass. Without
  // a codec nothing is compacted (such topics then only grow, or follow retention for
  // compact_delete).
  std::shared_ptr<const record_codec> codec;
  // Batch bytes one compaction pass reads at most, over all partitions (it runs on the writer
  // thread, so this bounds how long it holds appends back): a log longer than this is compacted
  // in its oldest part first, and the rest in later passes.
  uint64_t compaction_max_pass_bytes = 16ull << 20;
};
std::vector<std::string> validate(const options&);

struct topic_config {
  int32_t partitions = 1;
  // Higher drains first and is dropped last.
  int32_t priority = 0;
  // Mirrored data older / larger than this is deleted; -1 = keep forever. Age is the time the
  // bridge appended it (its own wall clock), never the producer's timestamps.
  int64_t retention_ms = 7LL * 24 * 3600 * 1000;
  int64_t retention_bytes = -1;
  // Kafka cleanup.policy: `delete` lets retention delete by retention_ms/retention_bytes; `compact`
  // keeps the newest record per key (compaction.cc). Both may be set ("compact,delete"); a
  // compact-only topic is never deleted by age or size.
  bool cleanup_delete = true;
  bool cleanup_compact = false;
  // Compacted topics: how long a tombstone (null value) that is its key's newest record stays
  // after its segment's last append (Kafka delete.retention.ms); -1 = forever.
  int64_t delete_retention_ms = 86'400'000;
  // Opaque key/values persisted with the topic and never interpreted by storage: bridge/ keeps the
  // topic configs set through the Kafka admin APIs here (bridge/topic_configs.h). At most
  // max_topic_settings entries of at most 32 KiB each.
  std::map<std::string, std::string> settings;
  bool operator==(const topic_config&) const = default;
};
inline constexpr size_t max_topic_settings = 256;

// Record-level access for compaction. Storage knows RecordBatch v2 only by its header
// (common/batch_header.h); bridge gives it these (over net/compaction.h).
struct compaction_record {
  int64_t offset = 0;
  std::optional<std::string> key;  // nullopt: a null key (kept as is)
  bool tombstone = false;          // a null value
};
struct record_codec {
  // The records of a stored batch; false when it does not decode (the batch is then kept whole).
  // Control batches list no records.
  std::function<bool(std::string_view batch, std::vector<compaction_record>& out)> list;
  // `batch` with only the records at `keep` (ascending, a non-empty strict subset of its
  // offsets): same BaseOffset and LastOffsetDelta, a valid v2 batch with its CRC recomputed.
  std::function<std::optional<std::string>(std::string_view batch,
                                           const std::vector<int64_t>& keep)>
      filter;
};

struct topic_info {
  std::string name;
  uint32_t id = 0;
  topic_config config;
  // The topic's stable id (Kafka's topicId, a random UUID; never all zero): made at creation,
  // kept in the topic's own meta record (so it goes with the topic), given on open to topics
  // stored before ids existed. A deleted and recreated topic gets a new one.
  std::array<uint8_t, 16> uuid{};
};

// The idempotence fields of a RecordBatch header; producer_id -1 = not idempotent.
struct producer_fields {
  int64_t producer_id = -1;
  int16_t epoch = -1;
  int32_t base_sequence = -1;
};

struct append_request {
  std::string topic;
  int32_t partition = 0;
  // One RecordBatch v2, already validated by the caller. Storage overwrites its first 8 bytes
  // (BaseOffset) with the assigned offset; the CRC does not cover them.
  std::string batch;
  // LastOffsetDelta + 1.
  int32_t record_count = 0;
  int64_t max_timestamp = -1;
  producer_fields producer;
  // Optional source cursor: an opaque meta entry written in the same WriteBatch as this batch,
  // and only if the batch is stored (not for a duplicate or a refused request). After a crash the
  // stored entry and the stored records therefore always agree: a downlink keeps the offset it
  // consumed up to here and resumes from it exactly once. Empty key = none; key and value at most
  // max_source_cursor_bytes each, else the request fails with std::errc::invalid_argument.
  std::string source_key;
  std::string source_value;
};
inline constexpr size_t max_source_cursor_bytes = 4096;

struct append_ack {
  int64_t base_offset = -1;
  int64_t log_start_offset = 0;
  // True when this batch was a retry of one already stored: base_offset is the original's.
  bool duplicate = false;
};
// One result per request, in the order given.
using append_callback = std::function<void(std::vector<result<append_ack>>)>;

// The completion of every other write. Runs exactly once: on the writer thread after the write
// is committed under its sync rule (or failed), or inline on the caller's thread, before the call
// returns, when rejected at once (shutting_down, invalid arguments): do not hold a lock it needs.
template <class T>
using write_callback = std::function<void(result<T>)>;

struct partition_offsets {
  int64_t log_start = 0;
  // One past the last durable offset: readers never see beyond it.
  int64_t high_watermark = 0;
  // Approximate bytes of the partition's log on disk (its segments' keys and batches).
  uint64_t bytes = 0;
};

struct stored_batch {
  int64_t base_offset = 0;
  int64_t last_offset = 0;     // base_offset + record_count - 1
  int64_t max_timestamp = -1;  // the producer's clock: a device may say 1970 or 2099
  // The bridge's wall clock when the first batch of this batch's segment was appended: exact for
  // that batch, otherwise at most segment_ms (or one segment_bytes of appends) earlier than this
  // batch's own append. Use it, not max_timestamp, for the age of stored data.
  int64_t append_time_ms = 0;
  std::string bytes;  // the RecordBatch, BaseOffset rewritten
};

struct committed_offset {
  int64_t offset = -1;
  std::string metadata;
};

// A range of data storage deleted before the cloud had it: under the quota policy, or by
// retention without a mirror (unmirrored_retention::delete_and_record). Never silent: the mirror
// reports each one.
struct gap {
  uint64_t id = 0;  // increasing
  std::string topic;
  int32_t partition = 0;
  int64_t first_offset = 0;
  int64_t last_offset = 0;
  std::string reason;
  int64_t timestamp_ms = 0;
};

// A change to the small opaque records the bridge keeps beside the logs (see log_store::records).
struct record_change {
  std::string key;
  std::optional<std::string> value;  // nullopt: delete the key
};
// Bounds of the records: per key, per value, and records per kind.
inline constexpr size_t max_record_kind_bytes = 64;
inline constexpr size_t max_record_key_bytes = 4096;
inline constexpr size_t max_record_value_bytes = 64 * 1024;
inline constexpr size_t max_records_per_kind = 100'000;

struct usage {
  uint64_t log_bytes = 0;         // approximate bytes of log data on disk
  uint64_t unmirrored_bytes = 0;  // approximate bytes above the mirror cursors
  uint64_t dropped_records = 0;   // records deleted before they were mirrored (see gap)
};

// Upper bounds (microseconds) of the sync latency buckets of `stats`; one more bucket is +Inf.
inline constexpr std::array<uint64_t, 12> sync_latency_bounds_us = {
    100, 250, 500, 1000, 2500, 5000, 10'000, 25'000, 50'000, 100'000, 250'000, 1'000'000};

// The writer's and RocksDB's figures, for metrics. Counters run from open().
struct stats {
  uint64_t queued_appends = 0;  // append requests waiting for the writer
  uint64_t queued_bytes = 0;
  uint64_t group_commits = 0;         // groups of appends written
  uint64_t group_commit_records = 0;  // records those groups appended
  // Synced writes and WAL syncs (the fsyncs), by sync_latency_bounds_us; the last is +Inf.
  std::array<uint64_t, sync_latency_bounds_us.size() + 1> sync_latency_counts{};
  uint64_t sync_latency_sum_us = 0;
  // RocksDB properties: rocksdb.live-sst-files-size, rocksdb.cur-size-all-mem-tables, the
  // cfstats io_stalls totals (stops and slowdowns) and rocksdb.is-write-stopped.
  uint64_t live_sst_bytes = 0;
  uint64_t memtable_bytes = 0;
  uint64_t write_stalls = 0;
  bool write_stopped = false;
};

class log_store {
 public:
  // Opens (creating if needed) the store under opts.data_dir and starts the writer thread.
  // Recovery costs one seek per partition, not a scan.
  static result<std::unique_ptr<log_store>> open(const options& opts);
  virtual ~log_store() = default;

  // Stops the writer after draining queued appends (and syncing the WAL); later writes fail with
  // shutting_down. Reads keep working until the store is destroyed. Idempotent.
  virtual void close() = 0;

  // Topics. The topic is durable (synced under every fsync policy) when `done` runs.
  virtual void create_topic(const std::string& name, const topic_config& cfg,
                            write_callback<topic_info> done) = 0;
  // Blocking form: durable when it returns.
  result<topic_info> create_topic(const std::string& name, const topic_config& cfg);
  virtual std::optional<topic_info> find_topic(const std::string& name) const = 0;
  // CreatePartitions: grows the topic to `partitions` (more than it has, at most 10'000) in one
  // durable write; the new partitions are empty. unknown_topic, invalid_topic_config.
  virtual void add_partitions(const std::string& name, int32_t partitions,
                              write_callback<topic_info> done) = 0;
  result<topic_info> add_partitions(const std::string& name, int32_t partitions);
  // Replaces a topic's config (all but the partition count, which stays) in one durable write;
  // retention uses the new values from its next pass. unknown_topic, invalid_topic_config.
  virtual void alter_topic(const std::string& name, const topic_config& cfg,
                           write_callback<topic_info> done) = 0;
  result<topic_info> alter_topic(const std::string& name, const topic_config& cfg);
  virtual std::vector<topic_info> topics() const = 0;
  // DeleteTopics: removes the topic in one synced write: its partitions' batches, segment
  // records, log starts, mirror cursors and producer states, its config, every consumer group's
  // committed offsets for it and its gap ledger entries. A crash leaves either the whole topic or
  // none of it. Yields the deleted topic's info. Afterwards every call naming it answers
  // unknown_topic (also one queued before the deletion: nothing is written under its keys), and
  // advance listeners are called once per partition with high watermark -1. A topic created
  // again under the name starts empty at offset 0 (topic ids are never reused). The space comes
  // back through a background compaction of the deleted ranges. unknown_topic.
  virtual void delete_topic(const std::string& name, write_callback<topic_info> done) = 0;
  result<topic_info> delete_topic(const std::string& name);

  // Appends a group of batches. `done` runs exactly once, on the writer thread, after the group
  // is committed under the fsync policy (or failed). Each request's idempotence fields are
  // checked against the last 5 batches of (producer id, partition): a retry gets its original
  // offset and is not stored again.
  // Rejected at once (queue_full, shutting_down, or an empty vector): `done` runs inline, on the
  // caller's thread, before append returns; do not hold a lock `done` needs.
  // Storage takes LastOffsetDelta and MaxTimestamp from the batch header; record_count must equal
  // LastOffsetDelta + 1 and the batch must hold at least the 61-byte header, else that request
  // fails with std::errc::invalid_argument (a caller bug, not a storage::errc).
  // Under fsync `always` and `never` the high watermark covers the batch when `done` runs; under
  // `interval` it moves at the next WAL sync (readers only see synced data).
  virtual void append(std::vector<append_request> requests, append_callback done) = 0;

  // A new producer id, never repeated across restarts. Ids are reserved durably in blocks, so
  // most calls cost no write (but still wait for the writer's next group).
  virtual void allocate_producer_id(write_callback<int64_t> done) = 0;
  // Blocking form. Like every blocking form below, it waits for the writer and so fails with
  // std::errc::resource_deadlock_would_occur when called on the writer thread (from a callback or
  // listener). Never call it on an io thread: use the callback form (bridge/async_storage.h).
  result<int64_t> allocate_producer_id();

  // Reads. offsets, find_topic, topics and mirror_cursor are in-memory lookups; read,
  // offset_for_timestamp, group_offsets and gaps_after use RocksDB and may touch the disk (a block
  // cache miss): keep them off threads that must not wait (bridge runs them on its reader pool).
  virtual result<partition_offsets> offsets(const std::string& topic, int32_t partition) const = 0;
  // Batches from the one containing `offset` onward, below the high watermark, up to max_bytes
  // (always at least one batch when one exists). It may stop short of max_bytes by one batch: it
  // does not load a batch that would likely not fit. Empty at the high watermark.
  virtual result<std::vector<stored_batch>> read(const std::string& topic, int32_t partition,
                                                 int64_t offset, size_t max_bytes) const = 0;
  // The first offset whose batch max timestamp >= timestamp_ms; the high watermark if none.
  virtual result<int64_t> offset_for_timestamp(const std::string& topic, int32_t partition,
                                               int64_t timestamp_ms) const = 0;

  // The largest producer timestamp in the partition's log (-1 when empty), from segment meta:
  // in memory. With offset_for_timestamp it finds the record ListOffsets -3 asks for.
  virtual result<int64_t> max_timestamp(const std::string& topic, int32_t partition) const = 0;

  // Called after every commit for each partition whose high watermark advanced, and with -1 for
  // each partition of a deleted topic.
  using advance_listener =
      std::function<void(const std::string& topic, int32_t partition, int64_t high_watermark)>;
  // Returns a token for unsubscribe. After unsubscribe returns the listener is never called
  // again (it waits for a notification in flight, unless called from a listener itself).
  virtual uint64_t subscribe(advance_listener listener) = 0;
  virtual void unsubscribe(uint64_t token) = 0;

  // DeleteRecords: moves the partition's log start up to `offset` (at most the high watermark;
  // lower than the log start changes nothing) in one synced write; readers see the new start at
  // once, and whole segments below it, except the active one, are deleted (retention takes the
  // rest later). Under unmirrored_retention::hold, an offset above the mirror cursor is refused
  // with held_for_mirror: nothing unmirrored leaves. Yields the log start after the call.
  virtual void delete_records(const std::string& topic, int32_t partition, int64_t offset,
                              write_callback<int64_t> done) = 0;
  result<int64_t> delete_records(const std::string& topic, int32_t partition, int64_t offset);

  // Mirror cursors: the next offset to mirror. Retention never deletes at or above it unless the
  // quota policy drops. A partition without a cursor keeps everything (until the quota drops).
  // A cursor above the high watermark fails with offset_out_of_range; unknown topic/partition
  // fail too; nothing is written unless all are valid.
  virtual void commit_mirror_cursors(
      const std::map<std::pair<std::string, int32_t>, int64_t>& next_offsets,
      write_callback<void> done) = 0;
  result<void> commit_mirror_cursors(
      const std::map<std::pair<std::string, int32_t>, int64_t>& next_offsets);
  virtual std::optional<int64_t> mirror_cursor(const std::string& topic,
                                               int32_t partition) const = 0;

  // Consumer group offsets: written in one write, committed under the fsync policy.
  virtual void commit_group_offsets(
      const std::string& group,
      const std::map<std::pair<std::string, int32_t>, committed_offset>& offsets,
      write_callback<void> done) = 0;
  result<void> commit_group_offsets(
      const std::string& group,
      const std::map<std::pair<std::string, int32_t>, committed_offset>& offsets);
  // Reads meta (RocksDB): may touch the disk.
  virtual std::map<std::pair<std::string, int32_t>, committed_offset> group_offsets(
      const std::string& group) const = 0;
  // The groups that have committed offsets, sorted, at most `limit` (reads meta: may touch the
  // disk).
  virtual std::vector<std::string> group_names(size_t limit) const = 0;
  // Deletes every committed offset of the group in one write (nothing to delete is no error).
  virtual void delete_group_offsets(const std::string& group, write_callback<void> done) = 0;
  result<void> delete_group_offsets(const std::string& group);

  // Gap ledger: gaps with id > after_id (at most 1024 per call: call again from the last id),
  // and marking them reported up to an id. Reported gaps beyond the newest 1024 are pruned, and
  // so, without a mirror (unmirrored_retention::delete_and_record), are all but the newest 1024.
  virtual std::vector<gap> gaps_after(uint64_t after_id) const = 0;
  virtual void mark_gaps_reported(uint64_t up_to_id, write_callback<void> done) = 0;
  result<void> mark_gaps_reported(uint64_t up_to_id);
  virtual uint64_t last_reported_gap() const = 0;
  // Adds a gap the mirror decided on (a record the cloud refuses for good, a stored batch that
  // does not decode, skipped under mirror on_refusal `skip`): g.id is assigned (returned) and
  // g.timestamp_ms is set to now when 0. Nothing is deleted from the log.
  virtual void add_gap(gap g, write_callback<uint64_t> done) = 0;
  result<uint64_t> add_gap(gap g);

  // Records: small opaque values the bridge keeps beside the logs (credentials, ACLs), by kind
  // and key. Storage does not interpret them. All of them are held in memory (bounded above) and
  // persisted in meta; a group of changes is applied in one write, synced (durable under every
  // fsync policy) when `done` runs. Errors: std::errc::invalid_argument for an empty or
  // oversized kind/key/value, std::errc::value_too_large past max_records_per_kind.
  virtual void update_records(const std::string& kind, std::vector<record_change> changes,
                              write_callback<void> done) = 0;
  result<void> update_records(const std::string& kind, std::vector<record_change> changes);
  // Every record of a kind, by key: an in-memory copy, cheap, any thread.
  virtual std::map<std::string, std::string> records(const std::string& kind) const = 0;
  virtual std::optional<std::string> record(const std::string& kind,
                                            const std::string& key) const = 0;
  // Source cursors (append_request::source_key) set or removed without an append: an empty value
  // removes the entry. One write, under the fsync policy.
  virtual void put_source_cursors(const std::map<std::string, std::string>& entries,
                                  write_callback<void> done) = 0;
  result<void> put_source_cursors(const std::map<std::string, std::string>& entries);
  // Every source cursor whose key starts with `prefix` (reads RocksDB: may touch the disk).
  virtual std::map<std::string, std::string> source_cursors(const std::string& prefix) const = 0;

  virtual usage current_usage() const = 0;
  // Atomics and RocksDB in-memory properties: cheap, any thread.
  virtual stats current_stats() const = 0;

 protected:
  // True on the writer thread, where a blocking form would wait for itself.
  virtual bool on_writer_thread() const = 0;

 private:
  // The one implementation of every blocking form: `start(done)` calls the callback form with
  // `done`, and this waits for it (storage/blocking.cc).
  template <class T, class Start>
  result<T> wait_for(Start&& start);
};

}  // namespace eb::storage

template <>
struct std::is_error_code_enum<eb::storage::errc> : std::true_type {};

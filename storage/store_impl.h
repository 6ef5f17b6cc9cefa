#pragma once
// Internal: the RocksDB implementation of log_store, one file per job: codecs.cc (meta values),
// recovery.cc (open, load, close), reads.cc (the read side and listeners), meta_ops.cc (every
// write but append), writer.cc (the writer thread: group commit, retention, quota) and
// blocking.cc (the blocking forms, over the callback forms).
//
// Threads: the writer thread owns every write and all "writer only" fields. Readers touch only
// atomics, the topic map under a shared lock, and a partition's segment list under its tiny mutex.
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "storage/keys.h"
#include "storage/producer_state.h"
#include "storage/storage.h"

namespace eb::storage {

// A run of consecutive batches of one partition; retention and the quota delete whole segments.
// Persisted in meta in the same WriteBatch as the batches it counts, so its numbers are exact.
struct segment {
  int64_t base_offset = 0;
  int64_t end_offset = 0;      // one past the last offset in it
  uint64_t bytes = 0;          // keys + batches in the log column family
  int64_t max_timestamp = -1;  // producers' clocks: for ListOffsets by time only
  // The bridge's wall clock at the segment's first and newest append: its age for retention,
  // segment_ms and the quota's oldest-first, whatever clock the producers have.
  int64_t created_ms = 0;
  int64_t last_append_ms = 0;
};
// Meta values (codecs.cc); the decoders return false on a short or bad value.
std::string encode(const segment& s);
bool decode_segment(std::string_view v, segment& out);
std::string encode_topic(const topic_info& t);
bool decode_topic(std::string_view name, std::string_view v, topic_info& t);
// A new random topic UUID (never all zero).
std::array<uint8_t, 16> new_topic_uuid();
std::string encode_gap(const gap& g);
bool decode_gap(uint64_t id, std::string_view v, gap& g);
// RocksDB's info log on spdlog (info_log.cc): nothing of it is written to the data dir.
std::shared_ptr<rocksdb::Logger> make_info_log();
// disk_full for ENOSPC and space limits, shutting_down, else io_error.
std::error_code status_error(const rocksdb::Status& s);

// Visits every entry of `cf` whose key starts with `prefix`, in key order; false stops.
template <class F>
rocksdb::Status scan_prefix(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* cf,
                            const std::string& prefix, F&& visit) {
  const std::string end = keys::prefix_end(prefix);
  rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(ro, cf));
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    if (!visit(std::string_view(it->key().data(), it->key().size()),
               std::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  return it->status();
}

struct topic_entry;

struct partition_state {
  topic_entry* topic = nullptr;
  uint32_t topic_id = 0;
  int32_t partition = 0;

  // Published by the writer, read lock-free.
  std::atomic<int64_t> log_start{0};
  std::atomic<int64_t> high_watermark{0};
  std::atomic<int64_t> cursor{-1};  // -1: no mirror cursor committed

  // Writer only.
  int64_t next_offset = 0;
  bool unpublished = false;  // next_offset > high_watermark and queued in _unpublished

  // Written by the writer after commits, read by offset_for_timestamp and current_usage.
  mutable std::mutex mu;
  std::deque<segment> segments;
  uint64_t bytes = 0;

  // Writer only: what the last compaction pass covered, to skip a pass with nothing new.
  int64_t compacted_from = -1;
  int64_t compacted_to = -1;
  bool compacted_tombstones = false;  // tombstones were kept: their expiry needs another pass
};

struct topic_entry {
  topic_info info;
  std::vector<std::unique_ptr<partition_state>> partitions;
  // Set by the writer when a deletion commits. Whoever still holds the entry (a reader, an op
  // queued before the deletion) sees it and answers unknown_topic instead of writing.
  std::atomic<bool> deleted{false};
};

struct producer_key {
  int64_t producer_id = 0;
  uint32_t topic_id = 0;
  int32_t partition = 0;
  auto operator<=>(const producer_key&) const = default;
};

// The tentative effect of one group on a partition, applied only if the write succeeds.
struct staged_partition {
  int64_t next_offset = 0;
  bool extends_active = false;  // tail.front() is a new version of segments.back()
  std::vector<segment> tail;
  uint64_t added_bytes = 0;
};

// Everything one group commit writes, and the in-memory changes to apply after it succeeded.
struct group_ctx {
  rocksdb::WriteBatch batch;
  bool force_sync = false;
  int64_t now_ms = 0;
  std::map<partition_state*, staged_partition> parts;
  std::map<producer_key, producer_entry> producers;  // state as of the staged batches
  std::set<producer_key> changed_producers;          // the ones to write
  uint64_t added_bytes = 0;
  // Tentative state of rare operations (create_topic, allocate_producer_id).
  uint32_t next_topic_id = 0;
  std::set<std::string, std::less<>> new_topics;
  // Topics this group deletes (delete_topic): later items of the group no longer see them, and
  // their keys are deleted at the end of the group's WriteBatch, after everything else it puts.
  std::map<std::string, std::shared_ptr<topic_entry>, std::less<>> deleted_topics;
  std::set<uint32_t> deleted_ids;
  int64_t pid_next = 0;
  int64_t pid_limit = 0;
  std::vector<std::function<void()>> commits;
};

struct pending_append {
  std::vector<append_request> requests;
  append_callback done;
  uint64_t bytes = 0;
};

struct pending_op {
  // On the writer, in queue order: checks against committed and tentative state, adds its writes
  // to ctx.batch and its in-memory change to ctx.commits; an error fails only this op.
  std::function<std::error_code(group_ctx&)> prepare;
  // On the writer, after the group's write (or its failure).
  std::function<void(std::error_code)> done;
};

using queue_item = std::variant<pending_append, std::unique_ptr<pending_op>>;

// One staged request: its answer if the group's write succeeds, and whether it depends on it.
struct staged_result {
  result<append_ack> ack;
  bool needs_write = false;
};

// What one group answers: per append, its staged results; per op, its own verdict.
struct group_results {
  explicit group_results(size_t items) : appends(items), ops(items) {}
  std::vector<std::vector<staged_result>> appends;
  std::vector<std::error_code> ops;
};

using advanced_list = std::vector<std::tuple<std::string, int32_t, int64_t>>;

// What one retention/quota pass removes from one partition.
struct deletion {
  partition_state* p = nullptr;
  int64_t old_log_start = 0;
  int64_t new_log_start = 0;
  size_t segments = 0;
  uint64_t bytes = 0;
  uint64_t dropped_records = 0;  // unmirrored records (set by unmirrored_part)
};

class store_impl final : public log_store {
 public:
  // Gaps kept in the ledger once reported (or, without a mirror, once recorded).
  static constexpr uint64_t gaps_kept = 1024;
  static result<std::unique_ptr<log_store>> open(const options& opts, rocksdb::Env* env);
  ~store_impl() override;

  // The blocking forms live in log_store; these overloads would hide them.
  using log_store::add_gap;
  using log_store::add_partitions;
  using log_store::allocate_producer_id;
  using log_store::alter_topic;
  using log_store::commit_group_offsets;
  using log_store::commit_mirror_cursors;
  using log_store::create_topic;
  using log_store::delete_group_offsets;
  using log_store::delete_records;
  using log_store::mark_gaps_reported;
  using log_store::update_records;

  void close() override;
  void create_topic(const std::string& name, const topic_config& cfg,
                    write_callback<topic_info> done) override;
  std::optional<topic_info> find_topic(const std::string& name) const override;
  void alter_topic(const std::string& name, const topic_config& cfg,
                   write_callback<topic_info> done) override;
  void add_partitions(const std::string& name, int32_t partitions,
                      write_callback<topic_info> done) override;
  using log_store::delete_topic;
  void delete_topic(const std::string& name, write_callback<topic_info> done) override;
  std::vector<topic_info> topics() const override;
  void append(std::vector<append_request> requests, append_callback done) override;
  void allocate_producer_id(write_callback<int64_t> done) override;
  result<partition_offsets> offsets(const std::string& topic, int32_t partition) const override;
  result<std::vector<stored_batch>> read(const std::string& topic, int32_t partition,
                                         int64_t offset, size_t max_bytes) const override;
  result<int64_t> offset_for_timestamp(const std::string& topic, int32_t partition,
                                       int64_t timestamp_ms) const override;
  result<int64_t> max_timestamp(const std::string& topic, int32_t partition) const override;
  uint64_t subscribe(advance_listener listener) override;
  void unsubscribe(uint64_t token) override;
  void commit_mirror_cursors(const std::map<std::pair<std::string, int32_t>, int64_t>& next_offsets,
                             write_callback<void> done) override;
  std::optional<int64_t> mirror_cursor(const std::string& topic, int32_t partition) const override;
  void commit_group_offsets(
      const std::string& group,
      const std::map<std::pair<std::string, int32_t>, committed_offset>& offsets,
      write_callback<void> done) override;
  std::map<std::pair<std::string, int32_t>, committed_offset> group_offsets(
      const std::string& group) const override;
  void delete_records(const std::string& topic, int32_t partition, int64_t offset,
                      write_callback<int64_t> done) override;
  std::vector<std::string> group_names(size_t limit) const override;
  void delete_group_offsets(const std::string& group, write_callback<void> done) override;
  std::vector<gap> gaps_after(uint64_t after_id) const override;
  void mark_gaps_reported(uint64_t up_to_id, write_callback<void> done) override;
  void add_gap(gap g, write_callback<uint64_t> done) override;
  uint64_t last_reported_gap() const override;
  void update_records(const std::string& kind, std::vector<record_change> changes,
                      write_callback<void> done) override;
  std::map<std::string, std::string> records(const std::string& kind) const override;
  std::optional<std::string> record(const std::string& kind, const std::string& key) const override;
  using log_store::put_source_cursors;
  void put_source_cursors(const std::map<std::string, std::string>& entries,
                          write_callback<void> done) override;
  std::map<std::string, std::string> source_cursors(const std::string& prefix) const override;
  usage current_usage() const override;
  stats current_stats() const override;

  explicit store_impl(const options& opts) : _opts(opts) {}

  // testing::check_log_ends: the log's last batch agrees with the recovered next offsets.
  result<void> check_log_ends() const;
  // testing::writer_hold: while held, the writer waits before committing the next group it takes.
  void hold_writer(bool held);
  bool wait_writer_held(size_t writes, std::chrono::milliseconds timeout);
  void advance_clock(std::chrono::milliseconds by) { _clock_offset_ms += by.count(); }
  uint64_t retention_passes() const { return _retention_passes.load(std::memory_order_acquire); }

 protected:
  bool on_writer_thread() const override;

 private:
  // recovery.cc: open and load.
  std::error_code open_db(rocksdb::Env* env);
  void start_writer();
  std::error_code load();
  std::error_code load_topics(std::map<uint32_t, topic_entry*>& by_id);
  std::error_code load_counters();
  std::error_code load_partition_meta(const std::map<uint32_t, topic_entry*>& by_id);
  std::error_code load_producers();
  std::error_code load_records();
  std::error_code load_partition(partition_state& p);
  result<int64_t> log_end(const partition_state& p) const;  // -1: no batch
  topic_entry* add_topic_locked(const topic_info& info);

  // reads.cc
  result<std::shared_ptr<partition_state>> find_partition(std::string_view topic,
                                                          int32_t partition) const;
  // The topic as the current group sees it: nullptr when absent or deleted earlier in the group.
  topic_entry* live_topic(const group_ctx& ctx, std::string_view name) const;

  // topic_delete.cc: a deleted topic's keys, at the end of the group's WriteBatch, and its
  // in-memory removal once written; the background compaction of its ranges.
  void stage_topic_deletion(group_ctx& ctx, const topic_entry& t);
  void remove_topic(const std::shared_ptr<topic_entry>& t);
  void queue_compaction(std::string begin, std::string end, bool log);
  void compactor_loop();

  // meta_ops.cc: queues an op for the writer; `done` runs inline when it is refused at once.
  void submit_op(std::function<std::error_code(group_ctx&)> prepare,
                 std::function<void(std::error_code)> done);

  // writer.cc: the writer thread.
  void writer_loop();
  void wait_while_held(size_t items);
  void process_group(std::vector<queue_item>& items);
  void count_group(const std::vector<queue_item>& items);
  std::error_code admit_group(const std::vector<queue_item>& items);
  group_ctx begin_group() const;
  void stage_group(std::vector<queue_item>& items, group_ctx& ctx, group_results& results);
  std::error_code write_group(group_ctx& ctx, advanced_list& advanced);
  void apply_group(group_ctx& ctx);  // the in-memory effect of a written group
  void complete_group(std::vector<queue_item>& items, group_results& results, bool staged,
                      std::error_code write_error);
  staged_result stage_append(group_ctx& ctx, append_request& req);
  void make_room(uint64_t incoming);
  using group_commits = std::map<std::pair<std::string, int32_t>, committed_offset>;
  std::vector<group_commits> protected_commits() const;
  // The first offset retention must keep in `p`: min(mirror cursor, protected groups' commits).
  int64_t keep_from(const partition_state& p,
                    const std::vector<group_commits>& protected_groups) const;
  void run_retention();
  // compaction.cc: the compaction pass (after each retention pass) and one partition's share.
  void run_compaction();
  void compact_partition(partition_state& p, int64_t limit, int64_t now, uint64_t& budget);
  // The part of `d` the cloud does not have (at or above the cursor) as a gap to record, with
  // d.dropped_records set to its size; none when all of it was mirrored. Every deletion of log
  // data goes through it: nothing unmirrored leaves silently.
  std::optional<gap> unmirrored_part(deletion& d, const char* reason, int64_t now) const;
  std::error_code apply_deletions(std::vector<deletion>& dels, std::vector<gap> gaps,
                                  std::vector<producer_key> evicted, const char* why);
  void stage_deletion(rocksdb::WriteBatch& wb, const deletion& d,
                      std::vector<producer_key>& evicted);
  void commit_deletion(const deletion& d);
  bool sync_wal();
  void publish(advanced_list& advanced);
  void notify(const advanced_list& advanced);
  bool writes_blocked(std::error_code& ec);
  void latch_error(const rocksdb::Status& s, const char* what);
  std::chrono::steady_clock::time_point next_deadline() const;
  int64_t now_ms() const;

  const options _opts;
  std::unique_ptr<rocksdb::DB> _db;
  std::vector<rocksdb::ColumnFamilyHandle*> _handles;
  rocksdb::ColumnFamilyHandle* _log_cf = nullptr;
  rocksdb::ColumnFamilyHandle* _meta_cf = nullptr;

  // The topic map: changed by the writer under the unique lock; read under the shared lock (the
  // writer itself reads without it). delete_topic removes entries: readers and queued ops hold
  // a topic through a shared_ptr (find_partition), and check topic_entry::deleted. The writer's
  // own raw pointers (_all_partitions, _unpublished, a group's parts) are dropped by
  // remove_topic on the writer before the map lets the entry go.
  mutable std::shared_mutex _topics_mu;
  std::map<std::string, std::shared_ptr<topic_entry>, std::less<>> _topics;
  std::vector<partition_state*> _all_partitions;  // writer only (also guarded for readers)

  // Records (update_records): changed by the writer after a commit, read under the shared lock.
  mutable std::shared_mutex _records_mu;
  std::map<std::string, std::map<std::string, std::string>, std::less<>> _records;

  // Writer only.
  uint32_t _next_topic_id = 1;
  std::map<producer_key, producer_entry> _producers;
  int64_t _pid_next = 0;
  int64_t _pid_limit = 0;
  uint64_t _last_gap_id = 0;
  std::vector<partition_state*> _unpublished;
  // Partitions of topics deleted since the last publish: listeners hear high watermark -1.
  std::vector<std::pair<std::string, int32_t>> _gone;
  bool _unsynced = false;
  std::chrono::steady_clock::time_point _sync_deadline{};
  std::chrono::steady_clock::time_point _retention_deadline{};
  std::error_code _latched;  // a failed write left RocksDB in an error state
  std::chrono::steady_clock::time_point _next_resume{};

  std::atomic<uint64_t> _reported_gap{0};
  std::atomic<uint64_t> _dropped_records{0};
  std::atomic<uint64_t> _total_bytes{0};
  // For current_stats(): written by the writer, read by anyone.
  void count_sync(std::chrono::steady_clock::duration took);
  std::atomic<uint64_t> _group_commits{0};
  std::atomic<uint64_t> _group_commit_records{0};
  std::array<std::atomic<uint64_t>, sync_latency_bounds_us.size() + 1> _sync_counts{};
  std::atomic<uint64_t> _sync_sum_us{0};
  // testing::advance_clock: added to the wall clock (append times, retention ages).
  std::atomic<int64_t> _clock_offset_ms{0};
  // testing::wait_retention_passes: retention passes finished.
  std::atomic<uint64_t> _retention_passes{0};
  size_t _compact_next = 0;  // writer only: the partition the next compaction pass starts at

  // The bounded MPSC queue into the writer.
  mutable std::mutex _q_mu;
  std::condition_variable _q_cv;
  std::deque<queue_item> _queue;
  size_t _queued_requests = 0;
  uint64_t _queued_bytes = 0;
  bool _stopping = false;

  std::thread _writer;
  std::thread::id _writer_id;

  // Background compaction of deleted topics' key ranges (CompactRange blocks for as long as it
  // rewrites files, so neither the writer nor any caller waits for it). Bounded queue; a range
  // that does not fit is left to RocksDB's own compactions.
  static constexpr size_t max_queued_compactions = 64;
  struct compaction_range {
    std::string begin, end;
    bool log = true;  // the log column family, else meta
  };
  std::mutex _compact_mu;
  std::condition_variable _compact_cv;
  std::deque<compaction_range> _compact_queue;
  bool _compact_stop = false;
  std::atomic<uint64_t> _compactions_done{0};
  std::thread _compactor;

  // testing::writer_hold. _parked: the writer waits on the hold with a group of _parked_items
  // writes in hand. Lock order: _hold_mu, then _q_mu.
  std::mutex _hold_mu;
  std::condition_variable _hold_cv;
  bool _held = false;
  bool _parked = false;
  size_t _parked_items = 0;
  std::mutex _close_mu;
  bool _closed = false;

  // Listeners: the map under _listeners_mu; _notify_mu is held while listeners run, so that
  // unsubscribe can wait for a notification in flight.
  std::mutex _listeners_mu;
  std::map<uint64_t, std::shared_ptr<advance_listener>> _listeners;
  uint64_t _next_token = 1;
  std::mutex _notify_mu;
};

}  // namespace eb::storage

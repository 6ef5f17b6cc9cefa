// Opening and closing the store, and recovery: the in-memory state is loaded from meta alone
// (topics, counters, cursors, log starts, segments, producer states), never from the log.
#include <pthread.h>
#include <rocksdb/cache.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_manager.h>
#include <rocksdb/table.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "common/batch_header.h"
#include "storage/keys.h"
#include "storage/store_impl.h"

namespace eb::storage {
namespace {

rocksdb::ColumnFamilyOptions cf_options(const options& o,
                                        const std::shared_ptr<rocksdb::Cache>& cache,
                                        size_t block_size) {
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = cache;
  // Index and filter blocks live in the bounded cache, not beside it.
  t.cache_index_and_filter_blocks = true;
  t.pin_l0_filter_and_index_blocks_in_cache = true;
  t.block_size = block_size;
  rocksdb::ColumnFamilyOptions cf;
  cf.write_buffer_size = o.write_buffer_bytes;
  cf.max_write_buffer_number = o.max_write_buffers;
  // Producers compress their batches; compressing again costs CPU for little.
  cf.compression = rocksdb::kNoCompression;
  cf.bottommost_compression = rocksdb::kDisableCompressionOption;
  cf.compression_per_level.clear();
  cf.level_compaction_dynamic_level_bytes = true;
  // Smaller files make DeleteFilesInRange reclaim retention ranges sooner.
  cf.target_file_size_base = 16ull << 20;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return cf;
}

rocksdb::DBOptions db_options(const options& opts, rocksdb::Env* env) {
  rocksdb::DBOptions dbo;
  dbo.create_if_missing = true;
  dbo.create_missing_column_families = true;
  if (env != nullptr) dbo.env = env;
  // Not a LOG file on the data disk: see info_log.cc (RocksDB aborts on it once the disk is full).
  dbo.info_log = make_info_log();
  dbo.max_open_files = 256;
  dbo.max_background_jobs = 2;
  // One bound over the memtables of every column family.
  dbo.db_write_buffer_size =
      opts.write_buffer_bytes * static_cast<uint64_t>(opts.max_write_buffers);
  // Bounds WAL replay at open: older WALs force their column families to flush.
  dbo.max_total_wal_size = 4 * opts.write_buffer_bytes;
  // A torn WAL tail (crash mid-write) is cut off; everything synced before it is kept.
  dbo.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  dbo.manual_wal_flush = false;
  dbo.keep_log_file_num = 3;
  dbo.max_log_file_size = 4ull << 20;
  dbo.recycle_log_file_num = 0;
  // Lets RocksDB recover by itself from ENOSPC in flushes and compactions once space returns.
  dbo.sst_file_manager.reset(
      rocksdb::NewSstFileManager(env != nullptr ? env : rocksdb::Env::Default()));
  return dbo;
}

// The partition a meta key of the form type | topic id | partition ... names; null if unknown.
partition_state* partition_of(const std::map<uint32_t, topic_entry*>& by_id, std::string_view k) {
  auto it = by_id.find(keys::get_u32(k.data() + 1));
  if (it == by_id.end()) return nullptr;
  const auto pi = static_cast<int32_t>(keys::get_u32(k.data() + 5));
  if (pi < 0 || pi >= static_cast<int32_t>(it->second->partitions.size())) return nullptr;
  return it->second->partitions[pi].get();
}

}  // namespace

result<std::unique_ptr<log_store>> log_store::open(const options& opts) {
  return store_impl::open(opts, nullptr);
}

result<std::unique_ptr<log_store>> store_impl::open(const options& opts, rocksdb::Env* env) {
  if (auto problems = validate(opts); !problems.empty()) {
    for (const auto& p : problems) spdlog::error("storage: invalid options: {}", p);
    return std::make_error_code(std::errc::invalid_argument);
  }
  std::error_code fs_ec;
  const bool created = std::filesystem::create_directories(opts.data_dir, fs_ec);
  if (fs_ec) {
    spdlog::error("storage: cannot create {}: {}", opts.data_dir.string(), fs_ec.message());
    return fs_ec == std::errc::no_space_on_device ? make_error_code(errc::disk_full)
                                                  : make_error_code(errc::io_error);
  }
  // The data holds every record and credential: a new directory is the owner's alone (0700).
  if (created) {
    std::filesystem::permissions(opts.data_dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, fs_ec);
  }
  auto store = std::make_unique<store_impl>(opts);
  if (auto ec = store->open_db(env)) return ec;

  const auto started = std::chrono::steady_clock::now();
  if (auto ec = store->load()) return ec;
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  spdlog::info("storage: opened {} ({} topics, {} partitions, {} bytes) in {} ms",
               opts.data_dir.string(), store->_topics.size(), store->_all_partitions.size(),
               store->_total_bytes.load(), took.count());
  store->start_writer();
  return std::unique_ptr<log_store>(std::move(store));
}

std::error_code store_impl::open_db(rocksdb::Env* env) {
  auto cache = rocksdb::NewLRUCache(_opts.block_cache_bytes);
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, cf_options(_opts, cache, 4 << 10)},
      {"log", cf_options(_opts, cache, 64 << 10)},
      {"meta", cf_options(_opts, cache, 4 << 10)},
  };
  rocksdb::DB* raw = nullptr;
  auto st =
      rocksdb::DB::Open(db_options(_opts, env), _opts.data_dir.string(), cfs, &_handles, &raw);
  if (!st.ok()) {
    spdlog::error("storage: cannot open RocksDB at {}: {}", _opts.data_dir.string(), st.ToString());
    return status_error(st);
  }
  _db.reset(raw);
  _log_cf = _handles[1];
  _meta_cf = _handles[2];
  return {};
}

void store_impl::start_writer() {
  _retention_deadline = std::chrono::steady_clock::now() + _opts.retention_check_interval;
  _writer = std::thread([this] {
    pthread_setname_np(pthread_self(), "eb-writer");
    writer_loop();
  });
  _writer_id = _writer.get_id();
  _compactor = std::thread([this] {
    pthread_setname_np(pthread_self(), "eb-compact");
    compactor_loop();
  });
}

store_impl::~store_impl() {
  close();
  if (_db) {
    for (auto* h : _handles) (void)_db->DestroyColumnFamilyHandle(h);  // cannot fail for ours
    _handles.clear();
    if (auto st = _db->Close(); !st.ok()) {
      spdlog::warn("storage: close: {}", st.ToString());
    }
    _db.reset();
  }
}

void store_impl::close() {
  std::lock_guard g(_close_mu);
  if (_closed) return;
  {
    std::lock_guard lk(_q_mu);
    _stopping = true;
  }
  _q_cv.notify_all();
  if (std::this_thread::get_id() == _writer_id) {
    // Called from a callback: the writer stops after this group; the destructor joins it.
    return;
  }
  if (_writer.joinable()) _writer.join();
  {
    std::lock_guard lk(_compact_mu);
    _compact_stop = true;
  }
  _compact_cv.notify_all();
  if (_compactor.joinable()) {
    if (_db) (void)_db->DisableManualCompaction();  // a CompactRange in progress returns now
    _compactor.join();
  }
  _closed = true;
}

bool store_impl::on_writer_thread() const { return std::this_thread::get_id() == _writer_id; }

topic_entry* store_impl::add_topic_locked(const topic_info& info) {
  auto entry = std::make_shared<topic_entry>();
  entry->info = info;
  for (int32_t i = 0; i < info.config.partitions; ++i) {
    auto p = std::make_unique<partition_state>();
    p->topic = entry.get();
    p->topic_id = info.id;
    p->partition = i;
    _all_partitions.push_back(p.get());
    entry->partitions.push_back(std::move(p));
  }
  auto* raw = entry.get();
  _topics.emplace(info.name, std::move(entry));
  return raw;
}

std::error_code store_impl::load() {
  std::map<uint32_t, topic_entry*> by_id;
  if (auto ec = load_topics(by_id)) return ec;
  if (auto ec = load_counters()) return ec;
  if (auto ec = load_partition_meta(by_id)) return ec;
  if (auto ec = load_producers()) return ec;
  if (auto ec = load_records()) return ec;
  uint64_t total = 0;
  for (auto* p : _all_partitions) {
    if (auto ec = load_partition(*p)) return ec;
    total += p->bytes;
  }
  _total_bytes = total;
  return {};
}

std::error_code store_impl::load_topics(std::map<uint32_t, topic_entry*>& by_id) {
  bool bad = false;
  rocksdb::WriteBatch upgrade;
  size_t upgraded = 0;
  auto st = scan_prefix(*_db, _meta_cf, std::string(1, keys::meta::topic),
                        [&](std::string_view k, std::string_view v) {
                          topic_info t;
                          if (!decode_topic(k.substr(1), v, t)) {
                            bad = true;
                            return false;
                          }
                          if (t.uuid == std::array<uint8_t, 16>{}) {
                            // Stored before topic ids: given one now, written back below.
                            t.uuid = new_topic_uuid();
                            upgrade.Put(_meta_cf, keys::topic_key(t.name), encode_topic(t));
                            ++upgraded;
                          }
                          by_id[t.id] = add_topic_locked(t);
                          _next_topic_id = std::max(_next_topic_id, t.id + 1);
                          return true;
                        });
  if (!st.ok() || bad) {
    spdlog::error("storage: cannot load topics: {}", bad ? "bad record" : st.ToString());
    return errc::io_error;
  }
  if (upgraded > 0) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    if (auto ws = _db->Write(wo, &upgrade); !ws.ok()) {
      spdlog::error("storage: cannot store the ids of {} topics: {}", upgraded, ws.ToString());
      return status_error(ws);
    }
    spdlog::info("storage: {} topics stored before topic ids got one", upgraded);
  }
  return {};
}

std::error_code store_impl::load_records() {
  const std::string prefix(1, keys::meta::record);
  bool bad = false;
  auto st = scan_prefix(*_db, _meta_cf, prefix, [&](std::string_view k, std::string_view v) {
    keys::reader r{k.substr(1)};
    const auto kind_len = r.u16();
    if (!r.need(kind_len)) {
      bad = true;
      return false;
    }
    std::string kind(r.in.substr(0, kind_len));
    _records[kind][std::string(r.in.substr(kind_len))] = std::string(v);
    return true;
  });
  if (!st.ok() || bad) {
    spdlog::error("storage: cannot load records: {}", bad ? "malformed key" : st.ToString());
    return errc::io_error;
  }
  return {};
}

std::error_code store_impl::load_counters() {
  auto get_counter = [&](std::string_view name, uint64_t& out) -> bool {
    std::string v;
    auto s = _db->Get(rocksdb::ReadOptions(), _meta_cf, keys::counter_key(name), &v);
    if (s.IsNotFound()) return true;
    if (!s.ok() || v.size() != 8) return false;
    out = keys::get_u64(v.data());
    return true;
  };
  uint64_t pid_limit = 0, dropped = 0, reported = 0, topic_id = 0;
  if (!get_counter("pid", pid_limit) || !get_counter("dropped", dropped) ||
      !get_counter("gap_reported", reported) || !get_counter("topic_id", topic_id)) {
    spdlog::error("storage: cannot load counters");
    return errc::io_error;
  }
  // Ids handed out before a restart may have come from anywhere below the reserved limit.
  _pid_next = _pid_limit = static_cast<int64_t>(pid_limit);
  _dropped_records = dropped;
  _reported_gap = reported;
  // Written by delete_topic: a deleted topic's id is never given again.
  _next_topic_id = std::max<uint64_t>(_next_topic_id, topic_id);

  // The newest gap id: one seek backwards from the end of the gap range.
  const std::string lower(1, keys::meta::gap);
  const std::string upper = keys::prefix_end(lower);
  rocksdb::Slice lo(lower);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lo;
  std::unique_ptr<rocksdb::Iterator> it(_db->NewIterator(ro, _meta_cf));
  it->SeekForPrev(upper);
  if (it->Valid() && it->key().size() == 9) _last_gap_id = keys::get_u64(it->key().data() + 1);
  if (!it->status().ok()) return errc::io_error;
  return {};
}

std::error_code store_impl::load_partition_meta(const std::map<uint32_t, topic_entry*>& by_id) {
  // Cursors and log starts: type | topic id | partition -> i64.
  auto offset_into = [&](std::atomic<int64_t> partition_state::*field) {
    return [&by_id, field](std::string_view k, std::string_view v) {
      if (k.size() != 9 || v.size() != 8) return true;
      if (auto* p = partition_of(by_id, k)) (p->*field) = keys::get_i64(v.data());
      return true;
    };
  };
  const rocksdb::Status statuses[] = {
      scan_prefix(*_db, _meta_cf, std::string(1, keys::meta::cursor),
                  offset_into(&partition_state::cursor)),
      scan_prefix(*_db, _meta_cf, std::string(1, keys::meta::log_start),
                  offset_into(&partition_state::log_start)),
      scan_prefix(*_db, _meta_cf, std::string(1, keys::meta::segment),
                  [&](std::string_view k, std::string_view v) {
                    segment s;
                    auto* p = k.size() == 17 ? partition_of(by_id, k) : nullptr;
                    if (p != nullptr && decode_segment(v, s)) {
                      p->segments.push_back(s);
                      p->bytes += s.bytes;
                    }
                    return true;
                  }),
  };
  for (const auto& s : statuses) {
    if (!s.ok()) {
      spdlog::error("storage: cannot load meta: {}", s.ToString());
      return errc::io_error;
    }
  }
  return {};
}

std::error_code store_impl::load_producers() {
  auto st = scan_prefix(*_db, _meta_cf, std::string(1, keys::meta::producer),
                        [&](std::string_view k, std::string_view v) {
                          if (k.size() != 17) return true;
                          auto e = decode_producer_entry(v);
                          if (!e || e->batches.empty()) return true;
                          producer_key pk{keys::get_i64(k.data() + 1), keys::get_u32(k.data() + 9),
                                          static_cast<int32_t>(keys::get_u32(k.data() + 13))};
                          _producers.emplace(pk, std::move(*e));
                          return true;
                        });
  if (!st.ok()) {
    spdlog::error("storage: cannot load producer states: {}", st.ToString());
    return errc::io_error;
  }
  return {};
}

std::error_code store_impl::load_partition(partition_state& p) {
  // The next offset is the end of the last segment: segments are written in the same WriteBatch
  // as the batches they count, so this is exact and costs no log read. (A SeekForPrev per
  // partition, the first design, measured ~4 ms per partition with a cold cache: 2 s for 512
  // partitions. check_log_ends() still does it, for the crash tests.)
  const int64_t ls = p.log_start.load();
  int64_t next = ls;
  if (!p.segments.empty()) next = std::max(next, p.segments.back().end_offset);
  p.next_offset = next;
  p.high_watermark = next;
  return {};
}

result<int64_t> store_impl::log_end(const partition_state& p) const {
  const std::string lower = keys::log_key(p.topic_id, p.partition, 0);
  rocksdb::Slice lo(lower);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lo;
  std::unique_ptr<rocksdb::Iterator> it(_db->NewIterator(ro, _log_cf));
  it->SeekForPrev(keys::log_key(p.topic_id, p.partition, std::numeric_limits<int64_t>::max()));
  if (!it->status().ok()) return make_error_code(errc::io_error);
  if (!it->Valid()) return int64_t{-1};
  const auto h =
      batch_v2::parse_batch_header(std::string_view(it->value().data(), it->value().size()));
  if (!h || it->key().size() != keys::log_key_size) return make_error_code(errc::io_error);
  return keys::log_key_offset({it->key().data(), it->key().size()}) + h->last_offset_delta + 1;
}

result<void> store_impl::check_log_ends() const {
  std::shared_lock lk(_topics_mu);
  for (const auto* p : _all_partitions) {
    auto end = log_end(*p);
    if (!end) return end.error();
    const int64_t hw = p->high_watermark.load();
    // Under interval the log may run ahead of the published watermark, never behind it.
    if (*end > hw && _opts.fsync != fsync_policy::interval) {
      spdlog::error("storage: {}-{}: log ends at {} but the high watermark is {}",
                    p->topic->info.name, p->partition, *end, hw);
      return make_error_code(errc::io_error);
    }
    if (*end >= 0 && *end < hw) {
      spdlog::error("storage: {}-{}: log ends at {} below the high watermark {}",
                    p->topic->info.name, p->partition, *end, hw);
      return make_error_code(errc::io_error);
    }
  }
  return {};
}

}  // namespace eb::storage

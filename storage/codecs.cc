// Meta values: segments, topics and gaps (layouts in storage/README.md), and RocksDB statuses as
// storage errors.
#include <cstring>
#include <random>

#include "storage/keys.h"
#include "storage/store_impl.h"

namespace eb::storage {

std::error_code status_error(const rocksdb::Status& s) {
  if (s.ok()) return {};
  if (s.IsNoSpace() || s.subcode() == rocksdb::Status::kSpaceLimit) return errc::disk_full;
  // Some paths lose the subcode but keep strerror(ENOSPC) in the message.
  if (s.IsIOError() && s.ToString().find("No space left") != std::string::npos) {
    return errc::disk_full;
  }
  if (s.IsShutdownInProgress()) return errc::shutting_down;
  return errc::io_error;
}

std::string encode(const segment& s) {
  std::string v;
  keys::put_i64(v, s.base_offset);
  keys::put_i64(v, s.end_offset);
  keys::put_u64(v, s.bytes);
  keys::put_i64(v, s.max_timestamp);
  keys::put_i64(v, s.created_ms);
  keys::put_i64(v, s.last_append_ms);
  return v;
}

bool decode_segment(std::string_view v, segment& out) {
  keys::reader r{v};
  out.base_offset = r.i64();
  out.end_offset = r.i64();
  out.bytes = r.u64();
  out.max_timestamp = r.i64();
  out.created_ms = r.i64();
  // Records written before last_append_ms existed end here: their first append is the best
  // bound known without reading the log (retention may take them up to segment_ms early).
  out.last_append_ms = r.in.empty() ? out.created_ms : r.i64();
  return r.ok;
}

std::string encode_topic(const topic_info& t) {
  std::string v;
  keys::put_u32(v, t.id);
  keys::put_u32(v, static_cast<uint32_t>(t.config.partitions));
  keys::put_u32(v, static_cast<uint32_t>(t.config.priority));
  keys::put_i64(v, t.config.retention_ms);
  keys::put_i64(v, t.config.retention_bytes);
  // Added later (absent in older stores): cleanup flags, then the settings.
  v.push_back(
      static_cast<char>((t.config.cleanup_delete ? 1 : 0) | (t.config.cleanup_compact ? 2 : 0)));
  keys::put_u32(v, static_cast<uint32_t>(t.config.settings.size()));
  for (const auto& [k, val] : t.config.settings) {
    keys::put_u16(v, static_cast<uint16_t>(k.size()));
    v.append(k);
    keys::put_u16(v, static_cast<uint16_t>(val.size()));
    v.append(val);
  }
  // Added after the settings (absent before compaction): delete.retention.ms.
  keys::put_i64(v, t.config.delete_retention_ms);
  // Added after delete.retention.ms (absent before topic ids): the topic's UUID.
  v.append(reinterpret_cast<const char*>(t.uuid.data()), t.uuid.size());
  return v;
}

std::array<uint8_t, 16> new_topic_uuid() {
  // A version 4 UUID from the OS's entropy (Kafka's Uuid.randomUuid). All-zero is Kafka's
  // "no id" and never made.
  static thread_local std::mt19937_64 rng{std::random_device{}() ^
                                          (static_cast<uint64_t>(std::random_device{}()) << 32)};
  std::array<uint8_t, 16> u{};
  for (size_t i = 0; i < u.size(); i += 8) {
    const uint64_t r = rng();
    std::memcpy(u.data() + i, &r, 8);
  }
  u[6] = static_cast<uint8_t>((u[6] & 0x0f) | 0x40);
  u[8] = static_cast<uint8_t>((u[8] & 0x3f) | 0x80);
  return u;
}

bool decode_topic(std::string_view name, std::string_view v, topic_info& t) {
  keys::reader r{v};
  t.name = std::string(name);
  t.id = r.u32();
  t.config.partitions = r.i32();
  t.config.priority = r.i32();
  t.config.retention_ms = r.i64();
  t.config.retention_bytes = r.i64();
  if (r.ok && !r.in.empty()) {
    const auto flags = static_cast<uint8_t>(r.in[0]);
    r.in.remove_prefix(1);
    t.config.cleanup_delete = (flags & 1) != 0;
    t.config.cleanup_compact = (flags & 2) != 0;
    const uint32_t n = r.u32();
    for (uint32_t i = 0; r.ok && i < n; ++i) {
      auto k = r.str16();
      t.config.settings[k] = r.str16();
    }
    if (r.ok && r.in.size() >= 8) t.config.delete_retention_ms = r.i64();
    if (r.ok && r.in.size() >= t.uuid.size()) {
      std::memcpy(t.uuid.data(), r.in.data(), t.uuid.size());
      r.in.remove_prefix(t.uuid.size());
    }
  }
  return r.ok && t.config.partitions > 0;
}

std::string encode_gap(const gap& g) {
  std::string v;
  keys::put_u16(v, static_cast<uint16_t>(g.topic.size()));
  v.append(g.topic);
  keys::put_u32(v, static_cast<uint32_t>(g.partition));
  keys::put_i64(v, g.first_offset);
  keys::put_i64(v, g.last_offset);
  keys::put_u16(v, static_cast<uint16_t>(g.reason.size()));
  v.append(g.reason);
  keys::put_i64(v, g.timestamp_ms);
  return v;
}

bool decode_gap(uint64_t id, std::string_view v, gap& g) {
  keys::reader r{v};
  g.id = id;
  g.topic = r.str16();
  g.partition = r.i32();
  g.first_offset = r.i64();
  g.last_offset = r.i64();
  g.reason = r.str16();
  g.timestamp_ms = r.i64();
  return r.ok;
}

}  // namespace eb::storage

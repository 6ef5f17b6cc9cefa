#pragma once
// Internal: RocksDB key layouts (the RecordBatch header is common/batch_header.h's).
// All integers are big-endian so that byte order is numeric order.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace eb::storage::keys {

inline void put_u16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v >> 8));
  s.push_back(static_cast<char>(v));
}
inline void put_u32(std::string& s, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>(v >> shift));
}
inline void put_u64(std::string& s, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) s.push_back(static_cast<char>(v >> shift));
}
inline void put_i64(std::string& s, int64_t v) { put_u64(s, static_cast<uint64_t>(v)); }

inline uint16_t get_u16(const char* p) {
  return static_cast<uint16_t>((static_cast<uint8_t>(p[0]) << 8) | static_cast<uint8_t>(p[1]));
}
inline uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
inline uint64_t get_u64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
inline int64_t get_i64(const char* p) { return static_cast<int64_t>(get_u64(p)); }
inline void set_u64(char* p, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<char>(v);
}

// A small cursor for decoding meta values; `ok` turns false on a short value.
struct reader {
  std::string_view in;
  bool ok = true;
  bool need(size_t n) {
    if (in.size() < n) ok = false;
    return ok;
  }
  uint16_t u16() {
    if (!need(2)) return 0;
    auto v = get_u16(in.data());
    in.remove_prefix(2);
    return v;
  }
  uint32_t u32() {
    if (!need(4)) return 0;
    auto v = get_u32(in.data());
    in.remove_prefix(4);
    return v;
  }
  uint64_t u64() {
    if (!need(8)) return 0;
    auto v = get_u64(in.data());
    in.remove_prefix(8);
    return v;
  }
  int64_t i64() { return static_cast<int64_t>(u64()); }
  int32_t i32() { return static_cast<int32_t>(u32()); }
  int16_t i16() { return static_cast<int16_t>(u16()); }
  std::string str16() {
    auto n = u16();
    if (!need(n)) return {};
    std::string s(in.substr(0, n));
    in.remove_prefix(n);
    return s;
  }
};

// Column family `log`: topic id u32 | partition u32 | base offset u64.
constexpr size_t log_key_size = 16;
inline std::string log_key(uint32_t topic_id, int32_t partition, int64_t offset) {
  std::string k;
  k.reserve(log_key_size);
  put_u32(k, topic_id);
  put_u32(k, static_cast<uint32_t>(partition));
  put_u64(k, static_cast<uint64_t>(offset));
  return k;
}
inline int64_t log_key_offset(std::string_view key) {
  return static_cast<int64_t>(get_u64(key.data() + 8));
}

// Column family `meta`: one type byte, then the fields below.
namespace meta {
constexpr char topic = 't';      // name -> id, config
constexpr char producer = 'p';   // producer id u64 | topic id | partition -> producer_entry
constexpr char cursor = 'm';     // topic id | partition -> next offset to mirror
constexpr char group = 'g';      // str16 group | str16 topic | partition -> offset, metadata
constexpr char counter = 'c';    // name -> u64
constexpr char gap = 'l';        // gap id u64 -> gap
constexpr char log_start = 's';  // topic id | partition -> log start offset
constexpr char segment = 'x';    // topic id | partition | base offset -> segment
constexpr char source = 'o';     // opaque key -> opaque value (source cursors of appends)
}  // namespace meta

inline std::string tp_key(char type, uint32_t topic_id, int32_t partition) {
  std::string k(1, type);
  put_u32(k, topic_id);
  put_u32(k, static_cast<uint32_t>(partition));
  return k;
}
inline std::string topic_key(std::string_view name) {
  std::string k(1, meta::topic);
  k.append(name);
  return k;
}
inline std::string producer_key(int64_t producer_id, uint32_t topic_id, int32_t partition) {
  std::string k(1, meta::producer);
  put_u64(k, static_cast<uint64_t>(producer_id));
  put_u32(k, topic_id);
  put_u32(k, static_cast<uint32_t>(partition));
  return k;
}
inline std::string segment_key(uint32_t topic_id, int32_t partition, int64_t base) {
  auto k = tp_key(meta::segment, topic_id, partition);
  put_u64(k, static_cast<uint64_t>(base));
  return k;
}
inline std::string gap_key(uint64_t id) {
  std::string k(1, meta::gap);
  put_u64(k, id);
  return k;
}
inline std::string counter_key(std::string_view name) {
  std::string k(1, meta::counter);
  k.append(name);
  return k;
}
inline std::string group_prefix(std::string_view group) {
  std::string k(1, meta::group);
  put_u16(k, static_cast<uint16_t>(group.size()));
  k.append(group);
  return k;
}
inline std::string group_key(std::string_view group, std::string_view topic, int32_t partition) {
  auto k = group_prefix(group);
  put_u16(k, static_cast<uint16_t>(topic.size()));
  k.append(topic);
  put_u32(k, static_cast<uint32_t>(partition));
  return k;
}
inline std::string source_key(std::string_view key) {
  std::string k(1, meta::source);
  k.append(key);
  return k;
}
// The smallest key greater than every key starting with `prefix`.
inline std::string prefix_end(std::string prefix) {
  while (!prefix.empty() && static_cast<uint8_t>(prefix.back()) == 0xff) prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(static_cast<uint8_t>(prefix.back()) + 1);
  return prefix;
}

}  // namespace eb::storage::keys

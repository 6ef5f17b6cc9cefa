#pragma once
// Test helper: RecordBatch v2 bytes laid out as far as storage reads them (61-byte header +
// opaque records). The CRC is not computed: storage never checks it.
#include <cstdint>
#include <string>

#include "storage/storage.h"

namespace eb::storage::test {

inline void put_be(std::string& s, size_t at, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i, v >>= 8) s[at + i] = static_cast<char>(v & 0xff);
}
inline uint64_t get_be(const std::string& s, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}

struct batch_spec {
  int32_t records = 1;
  int64_t timestamp = 1'700'000'000'000;
  int64_t producer_id = -1;
  int16_t epoch = -1;
  int32_t base_sequence = -1;
  std::string payload = "x";
};

inline std::string make_batch(const batch_spec& b) {
  std::string s(61, '\0');
  s += b.payload;
  put_be(s, 0, 0, 8);                                      // BaseOffset
  put_be(s, 8, s.size() - 12, 4);                          // BatchLength
  put_be(s, 16, 2, 1);                                     // Magic
  put_be(s, 23, static_cast<uint32_t>(b.records - 1), 4);  // LastOffsetDelta
  put_be(s, 27, static_cast<uint64_t>(b.timestamp), 8);    // BaseTimestamp
  put_be(s, 35, static_cast<uint64_t>(b.timestamp), 8);    // MaxTimestamp
  put_be(s, 43, static_cast<uint64_t>(b.producer_id), 8);
  put_be(s, 51, static_cast<uint16_t>(b.epoch), 2);
  put_be(s, 53, static_cast<uint32_t>(b.base_sequence), 4);
  put_be(s, 57, static_cast<uint32_t>(b.records), 4);  // RecordCount
  return s;
}

inline append_request make_request(const std::string& topic, int32_t partition,
                                   const batch_spec& b) {
  append_request r;
  r.topic = topic;
  r.partition = partition;
  r.batch = make_batch(b);
  r.record_count = b.records;
  r.max_timestamp = b.timestamp;
  r.producer = {b.producer_id, b.epoch, b.base_sequence};
  return r;
}

inline std::string payload_of(const std::string& batch) { return batch.substr(61); }
inline int64_t base_offset_of(const std::string& batch) {
  return static_cast<int64_t>(get_be(batch, 0, 8));
}

}  // namespace eb::storage::test

#pragma once
// The fixed header of a Kafka RecordBatch v2 (magic 2, KIP-98): its field offsets and one parser.
// The one owner of this layout for every module (storage cannot include net/): storage reads
// LastOffsetDelta and MaxTimestamp from it, net and the mirror the rest.
//
//   BaseOffset i64 | BatchLength i32 | PartitionLeaderEpoch i32 | Magic i8 | CRC u32 |
//   Attributes i16 | LastOffsetDelta i32 | BaseTimestamp i64 | MaxTimestamp i64 |
//   ProducerId i64 | ProducerEpoch i16 | BaseSequence i32 | RecordCount i32 | Records...
//
// Big-endian throughout. Dependency-free and pure: no validation beyond the length (magic, CRC
// and counts are net/record_batch's job).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace eb::batch_v2 {

inline constexpr size_t base_offset_at = 0;
inline constexpr size_t batch_length_at = 8;
inline constexpr size_t partition_leader_epoch_at = 12;
inline constexpr size_t magic_at = 16;
inline constexpr size_t crc_at = 17;
inline constexpr size_t attributes_at = 21;
inline constexpr size_t last_offset_delta_at = 23;
inline constexpr size_t base_timestamp_at = 27;
inline constexpr size_t max_timestamp_at = 35;
inline constexpr size_t producer_id_at = 43;
inline constexpr size_t producer_epoch_at = 51;
inline constexpr size_t base_sequence_at = 53;
inline constexpr size_t record_count_at = 57;
// Bytes before the records.
inline constexpr size_t header_size = 61;

struct header_fields {
  int64_t base_offset = 0;
  int32_t batch_length = 0;  // bytes after this field: the batch is batch_length + 12 bytes
  int32_t partition_leader_epoch = -1;
  int8_t magic = 2;
  uint32_t crc = 0;
  int16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t base_timestamp = 0;
  int64_t max_timestamp = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int32_t record_count = 0;
};

namespace detail {
template <class T>
T read_be(std::span<const uint8_t> b, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v = (v << 8) | b[at + i];
  return static_cast<T>(v);
}
}  // namespace detail

// The header fields of the batch at the start of `bytes` (which may hold more); nullopt if
// fewer than header_size bytes.
inline std::optional<header_fields> parse_batch_header(std::span<const uint8_t> bytes) {
  if (bytes.size() < header_size) return std::nullopt;
  using detail::read_be;
  header_fields h;
  h.base_offset = read_be<int64_t>(bytes, base_offset_at);
  h.batch_length = read_be<int32_t>(bytes, batch_length_at);
  h.partition_leader_epoch = read_be<int32_t>(bytes, partition_leader_epoch_at);
  h.magic = read_be<int8_t>(bytes, magic_at);
  h.crc = read_be<uint32_t>(bytes, crc_at);
  h.attributes = read_be<int16_t>(bytes, attributes_at);
  h.last_offset_delta = read_be<int32_t>(bytes, last_offset_delta_at);
  h.base_timestamp = read_be<int64_t>(bytes, base_timestamp_at);
  h.max_timestamp = read_be<int64_t>(bytes, max_timestamp_at);
  h.producer_id = read_be<int64_t>(bytes, producer_id_at);
  h.producer_epoch = read_be<int16_t>(bytes, producer_epoch_at);
  h.base_sequence = read_be<int32_t>(bytes, base_sequence_at);
  h.record_count = read_be<int32_t>(bytes, record_count_at);
  return h;
}

inline std::optional<header_fields> parse_batch_header(std::string_view bytes) {
  return parse_batch_header(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

}  // namespace eb::batch_v2

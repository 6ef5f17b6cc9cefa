#pragma once
// Kafka RecordBatch v2 (magic 2, KIP-98): the only record format edgebridge accepts and stores.
//
//   BaseOffset i64 | BatchLength i32 | PartitionLeaderEpoch i32 | Magic i8 | CRC u32 |
//   Attributes i16 | LastOffsetDelta i32 | BaseTimestamp i64 | MaxTimestamp i64 |
//   ProducerId i64 | ProducerEpoch i16 | BaseSequence i32 | RecordCount i32 | Records...
//
// The hot path (produce) validates like Kafka's LogValidator: lengths, magic, CRC-32C over
// Attributes..end, counts, and every record, inflating compressed payloads piece by piece up to a
// bound without keeping them (validate_produce_batch). The batch is then stored verbatim with only
// BaseOffset rewritten (outside the CRC), and decode_batch is certain to read it back.
// Decoding (decompression + record parsing) is for the mirror, fetch-side tools and tests.
//
// All functions are pure and thread-safe.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/batch_header.h"
#include "common/result.h"
#include "net/errors.h"

namespace eb::net {

enum class compression : uint8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };
enum class timestamp_type : uint8_t { create_time = 0, log_append_time = 1 };

// Bytes before the records: the whole fixed header (layout: common/batch_header.h). BaseOffset +
// BatchLength (12 bytes) are outside BatchLength; the CRC covers from Attributes to the end.
inline constexpr size_t batch_header_size = batch_v2::header_size;
inline constexpr size_t batch_log_overhead = 12;
inline constexpr size_t batch_crc_offset = batch_v2::crc_at;
inline constexpr size_t batch_attributes_offset = batch_v2::attributes_at;
// Default bound on the decompressed size of one batch (decompression bombs fail beyond it).
inline constexpr size_t default_max_decompressed = 64u << 20;

// The header fields (base_timestamp is Java's "FirstTimestamp") and what they mean.
struct batch_header : batch_v2::header_fields {
  // Attributes bits 0-2 as sent; values 5-7 are not a valid `compression`.
  uint8_t codec_id() const { return static_cast<uint8_t>(attributes & 0x7); }
  compression codec() const { return static_cast<compression>(codec_id()); }
  timestamp_type ts_type() const {
    return (attributes & 0x8) ? timestamp_type::log_append_time : timestamp_type::create_time;
  }
  bool is_transactional() const { return (attributes & 0x10) != 0; }
  bool is_control() const { return (attributes & 0x20) != 0; }
  bool is_idempotent() const { return producer_id >= 0; }
  size_t total_size() const { return static_cast<size_t>(batch_length) + batch_log_overhead; }
  int64_t last_offset() const { return base_offset + last_offset_delta; }
  // Sequence of the last record (wraps at INT32_MAX like Java's DefaultRecordBatch).
  int32_t last_sequence() const;
};

// Parses the fixed header of the batch at the start of `bytes` (which may hold more).
// errc::truncated if fewer than 61 bytes (or, for magic 0/1, fewer than their 17 header bytes);
// errc::bad_magic if magic != 2; errc::invalid_length if BatchLength < 49.
result<batch_header> parse_batch_header(std::span<const uint8_t> bytes);

// Cuts a produce partition's `records` into its batches (one or more, back to back). Spans point
// into `records`. errc::truncated if the last batch is cut short, errc::invalid_length for a
// BatchLength below 49, errc::bad_magic for a non-v2 batch. An empty input yields no batches.
result<std::vector<std::span<const uint8_t>>> split_batches(std::span<const uint8_t> records);

// Checks one whole batch (`batch` must be exactly one batch, e.g. from split_batches):
// - errc::truncated / errc::invalid_length / errc::trailing_bytes: BatchLength disagrees with the
//   span size;
// - errc::bad_magic: magic != 2;
// - errc::bad_crc: CRC-32C mismatch;
// - errc::unsupported_compression: codec 5-7;
// - errc::count_mismatch: record_count < 0, last_offset_delta != record_count - 1 (non-empty),
//   or (uncompressed) the records do not parse to exactly record_count records ending at the end;
// - errc::invalid_value: (uncompressed) a record's offset delta is not its index, or a record is
//   malformed inside its own length.
// Compressed payloads are not decompressed (decode_batch does that).
result<batch_header> validate_batch(std::span<const uint8_t> batch);

// What produce accepts, so that consumers of the stored batch (the mirror, fetch clients) can
// decode it: validate_batch, then RecordCount >= 1, and every record inflated (at most
// `max_decompressed` bytes, never held all at once) and parsed, with offset deltas 0..n-1 in order,
// exactly RecordCount records, and for CreateTime MaxTimestamp equal to the largest record
// timestamp. Errors: those of validate_batch; errc::decompression_failed (not a stream of the
// codec, or bytes after it); errc::too_large (inflates past `max_decompressed`);
// errc::count_mismatch, errc::invalid_length, errc::invalid_varint, errc::invalid_value for records
// that do not parse or do not agree with the header. Whatever it accepts, decode_batch(batch,
// max_decompressed) decodes.
result<batch_header> validate_produce_batch(std::span<const uint8_t> batch,
                                            size_t max_decompressed = default_max_decompressed);

// Rewrites BaseOffset (bytes 0-7). The CRC does not cover it, so the batch stays valid.
// Precondition: batch.size() >= 8.
void set_base_offset(std::span<uint8_t> batch, int64_t base_offset);
// Rewrites PartitionLeaderEpoch (bytes 12-15), also outside the CRC.
void set_partition_leader_epoch(std::span<uint8_t> batch, int32_t epoch);

struct record_header {
  std::string_view key;
  std::optional<std::string_view> value;
  bool operator==(const record_header&) const = default;
};

struct record {
  int8_t attributes = 0;
  int64_t timestamp_delta = 0;
  int64_t offset_delta = 0;
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  std::vector<record_header> headers;
};

// A decoded batch. The records' views point into storage this object owns (a copy of the
// uncompressed records, or the decompressed ones), so it does not depend on the input buffer.
// Move-only: moving keeps the storage (and the views) in place; copying would dangle.
class decoded_batch {
 public:
  decoded_batch() = default;
  decoded_batch(const decoded_batch&) = delete;
  decoded_batch& operator=(const decoded_batch&) = delete;
  decoded_batch(decoded_batch&&) noexcept = default;
  decoded_batch& operator=(decoded_batch&&) noexcept = default;

  batch_header header;
  std::vector<record> records;

  int64_t offset_of(const record& r) const { return header.base_offset + r.offset_delta; }
  int64_t timestamp_of(const record& r) const {
    // With LogAppendTime the broker's MaxTimestamp is every record's timestamp.
    return header.ts_type() == timestamp_type::log_append_time
               ? header.max_timestamp
               : header.base_timestamp + r.timestamp_delta;
  }

 private:
  friend result<decoded_batch> decode_batch(std::span<const uint8_t>, size_t);
  friend result<decoded_batch> decode_compacted_batch(std::span<const uint8_t>, size_t);
  std::vector<char> _storage;
};

// Validates the batch (as validate_batch, CRC included), decompresses it (gzip, snappy raw or
// xerial-framed, lz4 frame, zstd) into at most `max_decompressed` bytes and parses every record.
// errc::too_large beyond the bound, errc::decompression_failed for a corrupt payload, and
// errc::count_mismatch / errc::invalid_value for records that do not parse as announced.
result<decoded_batch> decode_batch(std::span<const uint8_t> batch,
                                   size_t max_decompressed = default_max_decompressed);

// decode_batch for a batch a compacted log holds (Kafka's log cleaner output): RecordCount may be
// below LastOffsetDelta + 1 and the offset deltas are increasing, not 0..n-1, each at most
// LastOffsetDelta. Everything else (CRC, codec, record syntax) as decode_batch checks it.
result<decoded_batch> decode_compacted_batch(std::span<const uint8_t> batch,
                                             size_t max_decompressed = default_max_decompressed);

// Input for encode_batch. Records get offset delta = their index.
struct record_input {
  int64_t timestamp_delta = 0;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

struct batch_builder_input {
  int64_t base_offset = 0;
  int32_t partition_leader_epoch = -1;
  compression codec = compression::none;
  timestamp_type ts_type = timestamp_type::create_time;
  bool transactional = false;
  bool control = false;
  int64_t base_timestamp = 0;
  // -1: computed as base_timestamp + the largest timestamp_delta (base_timestamp when empty).
  int64_t max_timestamp = -1;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  std::vector<record_input> records;
};

// Builds a v2 batch with a correct CRC, compressing the records with `codec` (snappy as a raw
// block, as librdkafka writes it; lz4 as an LZ4 frame with independent 64 KiB blocks).
// Throws std::runtime_error only if a compression library fails on valid input (a bug).
std::string encode_batch(const batch_builder_input& in);
// Compresses already-encoded records as a batch payload of `codec`, as encode_batch does (for
// tests and benches that craft batches byte by byte).
std::string compress_payload(compression codec, std::string_view records);

}  // namespace eb::net

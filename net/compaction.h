#pragma once
// The record-level half of log compaction (cleanup.policy=compact): the keys of a stored batch,
// and the batch rewritten with only some of its records, as Kafka's log cleaner writes it. Storage
// decides what to keep (it knows no record format); bridge hands it these through
// storage::record_codec.
//
// A rewritten batch keeps BaseOffset, LastOffsetDelta, the timestamps, the producer fields and
// the codec; RecordCount is the records kept, each with its own offset delta, so offsets are
// preserved and consumers see gaps, like a compacted Kafka log. The CRC is recomputed.
// Pure and thread-safe.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace eb::net {

struct keyed_record {
  int64_t offset = 0;
  std::optional<std::string> key;  // nullopt: a null key
  bool tombstone = false;          // a null value
};

// The records of a stored batch (as produced, or already compacted). Control batches have no
// keys to compact: an empty list.
result<std::vector<keyed_record>> batch_keys(std::string_view batch);

// `batch` with only the records whose offsets are in `keep` (ascending, a non-empty subset of
// the batch's offsets).
result<std::string> filter_batch(std::string_view batch, std::span<const int64_t> keep);

}  // namespace eb::net

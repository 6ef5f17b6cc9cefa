#pragma once
// Internal: idempotent-producer state of one (producer id, partition) and the sequence rules
// (Kafka ProducerStateManager, KIP-98 / KIP-360). Pure functions: the writer thread owns the maps.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace eb::storage {

// Kafka keeps the last 5 batches per producer and partition (max.in.flight = 5).
constexpr size_t producer_batches_kept = 5;

struct producer_batch {
  int32_t base_sequence = 0;
  int32_t last_sequence = 0;
  int64_t base_offset = 0;
  int64_t last_offset = 0;
};

struct producer_entry {
  int16_t epoch = -1;
  // Wall clock of the last append, for producer_expiry.
  int64_t last_append_ms = 0;
  std::vector<producer_batch> batches;  // oldest first, at most producer_batches_kept
};

// Sequences are int32 and wrap from INT32_MAX to 0.
int32_t last_sequence(int32_t base_sequence, int32_t record_count);
int32_t next_sequence(int32_t last_sequence);

enum class sequence_verdict {
  accept,
  duplicate,         // same epoch, same first/last sequence as a kept batch
  out_of_order,      // a gap, or a new epoch not starting at 0
  invalid_epoch,     // older epoch than stored
  unknown_producer,  // no state and a non-zero first sequence
};
struct sequence_check {
  sequence_verdict verdict = sequence_verdict::accept;
  int64_t duplicate_offset = -1;  // the original base offset when duplicate
};

// `entry` is null when no state exists for (producer id, partition).
//
// Deliberate simplification: with no state at all, Kafka (KIP-360) accepts any first sequence,
// because the state may have been removed by retention. We answer unknown_producer_id instead
// unless the sequence is 0: Java and librdkafka clients answer that by bumping the epoch and
// restarting at sequence 0, which we then accept. Nothing is stored twice either way.
sequence_check check_sequence(const producer_entry* entry, int16_t epoch, int32_t base_sequence,
                              int32_t record_count);

// Records an accepted batch (check_sequence said accept), resetting the batches on a new epoch.
void record_batch(producer_entry& entry, int16_t epoch, const producer_batch& b, int64_t now_ms);

std::string encode(const producer_entry& e);
std::optional<producer_entry> decode_producer_entry(std::string_view v);

}  // namespace eb::storage

#include "storage/producer_state.h"

#include <limits>

#include "storage/keys.h"

namespace eb::storage {

int32_t last_sequence(int32_t base_sequence, int32_t record_count) {
  constexpr int64_t modulus = int64_t{std::numeric_limits<int32_t>::max()} + 1;
  return static_cast<int32_t>((int64_t{base_sequence} + record_count - 1) % modulus);
}

int32_t next_sequence(int32_t last) {
  return last == std::numeric_limits<int32_t>::max() ? 0 : last + 1;
}

sequence_check check_sequence(const producer_entry* entry, int16_t epoch, int32_t base_sequence,
                              int32_t record_count) {
  if (entry == nullptr || entry->batches.empty()) {
    if (base_sequence != 0) return {sequence_verdict::unknown_producer};
    return {sequence_verdict::accept};
  }
  if (epoch < entry->epoch) return {sequence_verdict::invalid_epoch};
  if (epoch > entry->epoch) {
    // A bumped epoch restarts the sequence (KIP-360).
    if (base_sequence != 0) return {sequence_verdict::out_of_order};
    return {sequence_verdict::accept};
  }
  const int32_t last = last_sequence(base_sequence, record_count);
  for (const auto& b : entry->batches) {
    if (b.base_sequence == base_sequence && b.last_sequence == last) {
      return {sequence_verdict::duplicate, b.base_offset};
    }
  }
  if (base_sequence != next_sequence(entry->batches.back().last_sequence)) {
    return {sequence_verdict::out_of_order};
  }
  return {sequence_verdict::accept};
}

void record_batch(producer_entry& entry, int16_t epoch, const producer_batch& b, int64_t now_ms) {
  if (epoch != entry.epoch) {
    entry.batches.clear();
    entry.epoch = epoch;
  }
  if (entry.batches.size() == producer_batches_kept) entry.batches.erase(entry.batches.begin());
  entry.batches.push_back(b);
  entry.last_append_ms = now_ms;
}

std::string encode(const producer_entry& e) {
  std::string v;
  v.reserve(2 + 8 + 1 + e.batches.size() * 24);
  keys::put_u16(v, static_cast<uint16_t>(e.epoch));
  keys::put_i64(v, e.last_append_ms);
  v.push_back(static_cast<char>(e.batches.size()));
  for (const auto& b : e.batches) {
    keys::put_u32(v, static_cast<uint32_t>(b.base_sequence));
    keys::put_u32(v, static_cast<uint32_t>(b.last_sequence));
    keys::put_i64(v, b.base_offset);
    keys::put_i64(v, b.last_offset);
  }
  return v;
}

std::optional<producer_entry> decode_producer_entry(std::string_view v) {
  keys::reader r{v};
  producer_entry e;
  e.epoch = r.i16();
  e.last_append_ms = r.i64();
  if (!r.need(1)) return std::nullopt;
  const auto n = static_cast<uint8_t>(r.in[0]);
  r.in.remove_prefix(1);
  if (n > producer_batches_kept) return std::nullopt;
  for (uint8_t i = 0; i < n; ++i) {
    producer_batch b;
    b.base_sequence = r.i32();
    b.last_sequence = r.i32();
    b.base_offset = r.i64();
    b.last_offset = r.i64();
    e.batches.push_back(b);
  }
  if (!r.ok) return std::nullopt;
  return e;
}

}  // namespace eb::storage

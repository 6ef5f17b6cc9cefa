#include "net/compaction.h"

#include <algorithm>

#include "net/crc32c.h"
#include "net/record_batch.h"
#include "net/wire.h"

namespace eb::net {
namespace {

std::span<const uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

void put_bytes(writer& w, const std::optional<std::string_view>& s) {
  if (!s) {
    w.write_varint(-1);
    return;
  }
  w.write_varint(static_cast<int32_t>(s->size()));
  w.write_raw(*s);
}

}  // namespace

result<std::vector<keyed_record>> batch_keys(std::string_view batch) {
  auto d = decode_compacted_batch(bytes_of(batch));
  if (!d) return d.error();
  std::vector<keyed_record> out;
  if (d->header.is_control()) return out;
  out.reserve(d->records.size());
  for (const auto& r : d->records) {
    keyed_record k;
    k.offset = d->offset_of(r);
    if (r.key) k.key = std::string(*r.key);
    k.tombstone = !r.value.has_value();
    out.push_back(std::move(k));
  }
  return out;
}

result<std::string> filter_batch(std::string_view batch, std::span<const int64_t> keep) {
  auto d = decode_compacted_batch(bytes_of(batch));
  if (!d) return d.error();
  const auto& h = d->header;
  writer recs;
  writer body;
  int32_t count = 0;
  for (const auto& r : d->records) {
    if (!std::binary_search(keep.begin(), keep.end(), d->offset_of(r))) continue;
    body.clear();
    body.write_int8(r.attributes);
    body.write_varlong(r.timestamp_delta);
    body.write_varint(static_cast<int32_t>(r.offset_delta));
    put_bytes(body, r.key);
    put_bytes(body, r.value);
    body.write_varint(static_cast<int32_t>(r.headers.size()));
    for (const auto& hd : r.headers) {
      body.write_varint(static_cast<int32_t>(hd.key.size()));
      body.write_raw(hd.key);
      put_bytes(body, hd.value);
    }
    recs.write_varint(static_cast<int32_t>(body.size()));
    recs.write_raw(body.bytes());
    ++count;
  }
  if (count == 0 || static_cast<size_t>(count) != keep.size()) {
    return make_error_code(errc::invalid_value);  // a caller bug: offsets not in the batch
  }
  const std::string payload = compress_payload(h.codec(), recs.view());
  writer w(batch_header_size + payload.size());
  w.write_int64(h.base_offset);
  w.write_int32(static_cast<int32_t>(batch_header_size - batch_log_overhead + payload.size()));
  w.write_int32(h.partition_leader_epoch);
  w.write_int8(2);
  const size_t crc_at = w.reserve_int32();
  w.write_int16(h.attributes);
  w.write_int32(h.last_offset_delta);
  w.write_int64(h.base_timestamp);
  w.write_int64(h.max_timestamp);
  w.write_int64(h.producer_id);
  w.write_int16(h.producer_epoch);
  w.write_int32(h.base_sequence);
  w.write_int32(count);
  w.write_raw(payload);
  w.patch_int32(crc_at, static_cast<int32_t>(crc32c(w.bytes().subspan(batch_attributes_offset))));
  return std::string(w.view());
}

}  // namespace eb::net

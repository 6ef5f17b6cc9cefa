#include "net/record_batch.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>

#include "net/crc32c.h"
#include "net/payload_codecs.h"
#include "net/wire.h"

namespace eb::net {
namespace {

// Smallest possible record: length, attributes, timestamp delta, offset delta, key length,
// value length, header count (one byte each).
constexpr size_t k_min_record_size = 7;

std::error_code err(errc e) { return make_error_code(e); }

// Reads a varint length-prefixed byte string of a record; -1 is null. Lengths below -1 fail.
std::optional<std::string_view> read_record_bytes(reader& r) {
  const int32_t n = r.read_varint();
  if (n < -1) {
    r.fail(errc::invalid_value);
    return std::nullopt;
  }
  if (n == -1) return std::nullopt;
  auto s = r.read_raw(static_cast<size_t>(n));
  return std::string_view(reinterpret_cast<const char*>(s.data()), s.size());
}

// Parses one record from `rr`, which spans exactly the record's bytes (after its length varint).
// Headers are kept only with `keep_headers` (validation needs just their syntax).
std::error_code parse_record(reader& rr, record& rec, bool keep_headers) {
  rec.attributes = rr.read_int8();
  rec.timestamp_delta = rr.read_varlong();
  rec.offset_delta = rr.read_varint();
  rec.key = read_record_bytes(rr);
  rec.value = read_record_bytes(rr);
  const int32_t n_headers = rr.read_varint();
  // A header takes at least 2 bytes (key length, value length).
  if (n_headers < 0 || static_cast<size_t>(n_headers) > rr.remaining() / 2) {
    return err(errc::invalid_value);
  }
  if (keep_headers) rec.headers.reserve(static_cast<size_t>(n_headers));
  for (int32_t h = 0; h < n_headers && rr.ok(); ++h) {
    auto key = read_record_bytes(rr);
    if (!key) {
      return err(errc::invalid_value);  // header keys are never null
    }
    auto value = read_record_bytes(rr);
    if (keep_headers) rec.headers.push_back({*key, value});
  }
  if (!rr.ok() || !rr.at_end()) return err(errc::invalid_value);
  return {};
}

// What the produce path checks of each record beyond its own syntax, as Kafka's LogValidator
// does: offset deltas 0..n-1 in order, exactly RecordCount records, and (CreateTime) MaxTimestamp
// equal to the largest record timestamp.
class record_rules {
 public:
  explicit record_rules(const batch_header& h) : _h(h) {}

  std::error_code on_record(std::span<const uint8_t> body) {
    if (_seen >= _h.record_count) return err(errc::count_mismatch);
    reader rr(body);
    record rec;
    if (auto e = parse_record(rr, rec, false)) return e;
    if (rec.offset_delta != _seen) return err(errc::invalid_value);
    const int64_t ts = _h.base_timestamp + rec.timestamp_delta;
    _max_ts = _seen == 0 ? ts : std::max(_max_ts, ts);
    ++_seen;
    return {};
  }
  std::error_code finish() const {
    if (_seen != _h.record_count) return err(errc::count_mismatch);
    if (_h.ts_type() == timestamp_type::create_time && _h.max_timestamp != _max_ts) {
      return err(errc::invalid_value);
    }
    return {};
  }

 private:
  const batch_header& _h;
  int32_t _seen = 0;
  int64_t _max_ts = 0;
};

// Parses exactly `count` records filling all of `data`. `out` may be null (validation only).
// `strict_offsets` requires offset delta == index (what every real producer writes).
std::error_code parse_records(std::span<const uint8_t> data, int32_t count,
                              std::vector<record>* out, bool strict_offsets) {
  reader r(data);
  if (out != nullptr) {
    // Bounded by the bytes present, whatever the header claims.
    out->reserve(std::min<size_t>(static_cast<size_t>(count), data.size() / k_min_record_size));
  }
  for (int32_t i = 0; i < count; ++i) {
    if (r.at_end()) return err(errc::count_mismatch);
    const int32_t len = r.read_varint();
    if (!r.ok()) return r.error();
    if (len < 0 || static_cast<size_t>(len) > r.remaining()) return err(errc::invalid_length);
    reader rr = r.sub(static_cast<size_t>(len));
    record rec;
    if (auto e = parse_record(rr, rec, out != nullptr)) return e;
    if (strict_offsets && rec.offset_delta != i) return err(errc::invalid_value);
    if (out != nullptr) out->push_back(std::move(rec));
  }
  if (!r.at_end()) return err(errc::count_mismatch);
  return {};
}

using detail::compress;
using detail::inflate_all;
using detail::make_source;
using detail::payload_source;

// Decodes an unsigned varint from the front of `b`: its value and size, 0 as size if `b` ends
// inside it, or an error if it is longer than 5 bytes.
result<std::pair<uint32_t, size_t>> front_uvarint(std::span<const uint8_t> b) {
  uint32_t v = 0;
  for (size_t i = 0; i < 5; ++i) {
    if (i == b.size()) return std::pair<uint32_t, size_t>{0, 0};
    const uint8_t x = b[i];
    if (i == 4 && (x & 0xf0) != 0) return err(errc::invalid_varint);
    v |= uint32_t{x & 0x7fu} << (7 * i);
    if ((x & 0x80) == 0) return std::pair<uint32_t, size_t>{v, i + 1};
  }
  return err(errc::invalid_varint);
}

// Checks the records of a compressed batch while inflating it: only the record being parsed is
// held (a 64 KiB window, grown to the largest record), and inflation stops at `limit` bytes.
std::error_code check_compressed_records(const batch_header& h, std::span<const uint8_t> payload,
                                         size_t limit) {
  auto src = make_source(h.codec(), payload, limit);
  record_rules rules(h);
  std::vector<uint8_t> win(std::min<size_t>(64 << 10, limit + 1));
  size_t beg = 0;
  size_t end = 0;
  size_t total = 0;
  size_t need = 1;  // bytes at beg needed before the next record can be parsed
  for (;;) {
    if (beg + need > win.size()) {
      std::memmove(win.data(), win.data() + beg, end - beg);
      end -= beg;
      beg = 0;
      if (need > win.size()) win.resize(std::max(need, std::min(win.size() * 2, limit + 1)));
    }
    auto n = src->read(win.data() + end, win.size() - end);
    if (!n) return n.error();
    total += *n;
    if (total > limit) return err(errc::too_large);
    end += *n;
    const bool at_end = *n == 0;
    // Every complete record in the window.
    for (;;) {
      auto v = front_uvarint(std::span(win.data() + beg, end - beg));
      if (!v) return err(errc::invalid_value);
      const auto [raw, vsize] = *v;
      if (vsize == 0) {
        need = end - beg + 1;
        break;
      }
      const int32_t len = static_cast<int32_t>((raw >> 1) ^ (~(raw & 1) + 1));
      if (len < 0) return err(errc::invalid_value);
      // A record longer than the bound can never complete within it.
      if (static_cast<size_t>(len) > limit) return err(errc::too_large);
      if (end - beg < vsize + static_cast<size_t>(len)) {
        need = vsize + static_cast<size_t>(len);
        break;
      }
      if (auto e = rules.on_record(std::span(win.data() + beg + vsize, static_cast<size_t>(len)))) {
        return e;
      }
      beg += vsize + static_cast<size_t>(len);
    }
    if (at_end) {
      if (beg != end) return err(errc::count_mismatch);  // a record cut short by the stream end
      return rules.finish();
    }
  }
}

void put_be(std::span<uint8_t> b, size_t at, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * (bytes - 1 - i)));
}

}  // namespace

int32_t batch_header::last_sequence() const {
  if (base_sequence < 0) return -1;
  if (base_sequence > std::numeric_limits<int32_t>::max() - last_offset_delta) {
    return last_offset_delta - (std::numeric_limits<int32_t>::max() - base_sequence) - 1;
  }
  return base_sequence + last_offset_delta;
}

result<batch_header> parse_batch_header(std::span<const uint8_t> bytes) {
  // Magic sits at offset 16 in every format (v0/v1 message sets too): check it first so an old
  // format is reported as such rather than as a short or corrupt v2 batch.
  if (bytes.size() < 17) return err(errc::truncated);
  if (static_cast<int8_t>(bytes[16]) != 2) return err(errc::bad_magic);
  const auto fields = batch_v2::parse_batch_header(bytes);
  if (!fields) return err(errc::truncated);
  batch_header h{*fields};
  if (h.batch_length < static_cast<int32_t>(batch_header_size - batch_log_overhead)) {
    return err(errc::invalid_length);
  }
  return h;
}

result<std::vector<std::span<const uint8_t>>> split_batches(std::span<const uint8_t> records) {
  std::vector<std::span<const uint8_t>> out;
  size_t pos = 0;
  while (pos < records.size()) {
    auto rest = records.subspan(pos);
    auto h = parse_batch_header(rest);
    if (!h) return h.error();
    if (h->total_size() > rest.size()) return err(errc::truncated);
    out.push_back(rest.first(h->total_size()));
    pos += h->total_size();
  }
  return out;
}

// validate_batch without looking at the records.
result<batch_header> check_batch_header(std::span<const uint8_t> batch) {
  auto h = parse_batch_header(batch);
  if (!h) return h.error();
  if (h->total_size() > batch.size()) return err(errc::truncated);
  if (h->total_size() < batch.size()) return err(errc::trailing_bytes);
  const uint32_t crc = crc32c(batch.subspan(batch_attributes_offset));
  if (crc != h->crc) return err(errc::bad_crc);
  if (h->codec_id() > 4) return err(errc::unsupported_compression);
  if (h->record_count < 0) return err(errc::count_mismatch);
  if (h->record_count > 0 && h->last_offset_delta != h->record_count - 1) {
    return err(errc::count_mismatch);
  }
  return h;
}

result<batch_header> validate_batch(std::span<const uint8_t> batch) {
  auto h = check_batch_header(batch);
  if (!h) return h.error();
  if (h->codec() == compression::none) {
    if (auto e = parse_records(batch.subspan(batch_header_size), h->record_count, nullptr, true)) {
      return e;
    }
  } else if (h->record_count > 0 && batch.size() == batch_header_size) {
    return err(errc::count_mismatch);  // records announced but no payload at all
  }
  return h;
}

result<batch_header> validate_produce_batch(std::span<const uint8_t> batch,
                                            size_t max_decompressed) {
  auto h = check_batch_header(batch);
  if (!h) return h.error();
  // Kafka's LogValidator: LastOffsetDelta + 1 must be the record count, so no empty batches.
  if (h->record_count < 1) return err(errc::count_mismatch);
  const auto payload = batch.subspan(batch_header_size);
  if (h->codec() != compression::none) {
    if (auto e = check_compressed_records(*h, payload, max_decompressed)) return e;
    return h;
  }
  record_rules rules(*h);
  reader r(payload);
  while (!r.at_end()) {
    const int32_t len = r.read_varint();
    if (!r.ok()) return err(errc::invalid_value);
    // Kafka's DefaultRecord.readFrom: a bad record size is an invalid record.
    if (len < 0 || static_cast<size_t>(len) > r.remaining()) return err(errc::invalid_value);
    if (auto e = rules.on_record(r.read_raw(static_cast<size_t>(len)))) return e;
  }
  if (auto e = rules.finish()) return e;
  return h;
}

void set_base_offset(std::span<uint8_t> batch, int64_t base_offset) {
  put_be(batch, 0, static_cast<uint64_t>(base_offset), 8);
}

void set_partition_leader_epoch(std::span<uint8_t> batch, int32_t epoch) {
  put_be(batch, 12, static_cast<uint32_t>(epoch), 4);
}

namespace {
// The payload of `h`'s batch, decompressed into out._storage.
std::error_code inflate_into(const batch_header& h, std::span<const uint8_t> batch,
                             size_t max_decompressed, std::vector<char>& out) {
  auto payload = batch.subspan(batch_header_size);
  if (h.codec() == compression::none) {
    out.assign(payload.begin(), payload.end());
    return {};
  }
  auto d = inflate_all(h.codec(), payload, max_decompressed);
  if (!d) return d.error();
  out = std::move(*d);
  return {};
}
}  // namespace

result<decoded_batch> decode_batch(std::span<const uint8_t> batch, size_t max_decompressed) {
  auto h = validate_batch(batch);
  if (!h) return h.error();
  decoded_batch out;
  out.header = *h;
  if (auto e = inflate_into(*h, batch, max_decompressed, out._storage)) return e;
  std::span<const uint8_t> data(reinterpret_cast<const uint8_t*>(out._storage.data()),
                                out._storage.size());
  if (auto e = parse_records(data, h->record_count, &out.records, false)) return e;
  return out;
}

result<decoded_batch> decode_compacted_batch(std::span<const uint8_t> batch,
                                             size_t max_decompressed) {
  auto h = parse_batch_header(batch);
  if (!h) return h.error();
  if (h->total_size() > batch.size()) return err(errc::truncated);
  if (h->total_size() < batch.size()) return err(errc::trailing_bytes);
  if (crc32c(batch.subspan(batch_attributes_offset)) != h->crc) return err(errc::bad_crc);
  if (h->codec_id() > 4) return err(errc::unsupported_compression);
  if (h->record_count < 0 || h->last_offset_delta < 0 ||
      h->record_count > int64_t{h->last_offset_delta} + 1) {
    return err(errc::count_mismatch);
  }
  decoded_batch out;
  out.header = *h;
  if (auto e = inflate_into(*h, batch, max_decompressed, out._storage)) return e;
  std::span<const uint8_t> data(reinterpret_cast<const uint8_t*>(out._storage.data()),
                                out._storage.size());
  if (auto e = parse_records(data, h->record_count, &out.records, false)) return e;
  int64_t prev = -1;
  for (const auto& r : out.records) {
    if (r.offset_delta <= prev || r.offset_delta > h->last_offset_delta) {
      return err(errc::invalid_value);
    }
    prev = r.offset_delta;
  }
  return out;
}

std::string encode_batch(const batch_builder_input& in) {
  writer recs;
  writer body;
  int64_t max_delta = 0;
  for (size_t i = 0; i < in.records.size(); ++i) {
    const record_input& r = in.records[i];
    body.clear();
    body.write_int8(0);
    body.write_varlong(r.timestamp_delta);
    body.write_varint(static_cast<int32_t>(i));
    auto put = [&](const std::optional<std::string>& s) {
      if (!s) {
        body.write_varint(-1);
      } else {
        body.write_varint(static_cast<int32_t>(s->size()));
        body.write_raw(*s);
      }
    };
    put(r.key);
    put(r.value);
    body.write_varint(static_cast<int32_t>(r.headers.size()));
    for (const auto& [k, v] : r.headers) {
      body.write_varint(static_cast<int32_t>(k.size()));
      body.write_raw(k);
      put(v);
    }
    recs.write_varint(static_cast<int32_t>(body.size()));
    recs.write_raw(body.bytes());
    max_delta = i == 0 ? r.timestamp_delta : std::max(max_delta, r.timestamp_delta);
  }
  const std::string payload = compress(in.codec, recs.view());

  int16_t attributes = static_cast<int16_t>(in.codec);
  if (in.ts_type == timestamp_type::log_append_time) attributes |= 0x8;
  if (in.transactional) attributes |= 0x10;
  if (in.control) attributes |= 0x20;
  const int32_t count = static_cast<int32_t>(in.records.size());

  writer w(batch_header_size + payload.size());
  w.write_int64(in.base_offset);
  w.write_int32(static_cast<int32_t>(batch_header_size - batch_log_overhead + payload.size()));
  w.write_int32(in.partition_leader_epoch);
  w.write_int8(2);
  const size_t crc_at = w.reserve_int32();
  w.write_int16(attributes);
  w.write_int32(count > 0 ? count - 1 : 0);
  w.write_int64(in.base_timestamp);
  w.write_int64(in.max_timestamp >= 0 ? in.max_timestamp : in.base_timestamp + max_delta);
  w.write_int64(in.producer_id);
  w.write_int16(in.producer_epoch);
  w.write_int32(in.base_sequence);
  w.write_int32(count);
  w.write_raw(payload);
  w.patch_int32(crc_at, static_cast<int32_t>(crc32c(w.bytes().subspan(batch_attributes_offset))));
  return std::string(w.view());
}

std::string compress_payload(compression codec, std::string_view records) {
  return compress(codec, records);
}

}  // namespace eb::net

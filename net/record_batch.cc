#include "net/record_batch.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>

#include "net/crc32c.h"
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
    if (out != nullptr) rec.headers.reserve(static_cast<size_t>(n_headers));
    for (int32_t h = 0; h < n_headers && rr.ok(); ++h) {
      auto key = read_record_bytes(rr);
      if (!key) {
        return err(errc::invalid_value);  // header keys are never null
      }
      auto value = read_record_bytes(rr);
      if (out != nullptr) rec.headers.push_back({*key, value});
    }
    if (!rr.ok() || !rr.at_end()) return err(errc::invalid_value);
    if (strict_offsets && rec.offset_delta != i) return err(errc::invalid_value);
    if (out != nullptr) out->push_back(std::move(rec));
  }
  if (!r.at_end()) return err(errc::count_mismatch);
  return {};
}

// Output buffer that grows geometrically up to limit + 1 bytes: producing the extra byte is how a
// streaming decompressor reveals that the output exceeds the limit.
class bounded_output {
 public:
  bounded_output(size_t hint, size_t limit) : _limit(limit) {
    _buf.resize(std::min(std::max<size_t>(hint, 1024), limit + 1));
  }
  // Free space after `used`; grows when full. Returns false once the limit is exceeded.
  bool make_room(size_t used) {
    if (used < _buf.size()) return true;
    if (_buf.size() > _limit) return false;
    _buf.resize(std::min(_buf.size() * 2, _limit + 1));
    return true;
  }
  char* data() { return _buf.data(); }
  size_t size() const { return _buf.size(); }
  std::vector<char> finish(size_t used) {
    _buf.resize(used);
    return std::move(_buf);
  }

 private:
  size_t _limit;
  std::vector<char> _buf;
};

result<std::vector<char>> gunzip(std::span<const uint8_t> in, size_t limit) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return err(errc::decompression_failed);
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
  zs.next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  bounded_output out(in.size() * 4, limit);
  size_t used = 0;
  for (;;) {
    if (!out.make_room(used)) return err(errc::too_large);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    zs.avail_out = static_cast<uInt>(std::min<size_t>(out.size() - used, UINT32_MAX));
    const uInt before = zs.avail_out;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    used += before - zs.avail_out;
    if (used > limit) return err(errc::too_large);
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      // Concatenated gzip members (GZIPInputStream reads them too).
      if (inflateReset(&zs) != Z_OK) return err(errc::decompression_failed);
      continue;
    }
    if (rc == Z_BUF_ERROR && zs.avail_out != 0) return err(errc::decompression_failed);
    if (rc != Z_OK && rc != Z_BUF_ERROR) return err(errc::decompression_failed);
  }
  return out.finish(used);
}

// Java's snappy-java framing (xerial): magic, version, compatible version, then blocks of
// [int32 BE compressed length | raw snappy block].
constexpr uint8_t k_xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};

result<std::vector<char>> unsnappy(std::span<const uint8_t> in, size_t limit) {
  std::vector<char> out;
  auto append_block = [&](std::span<const uint8_t> block) -> std::error_code {
    size_t n = 0;
    const char* src = reinterpret_cast<const char*>(block.data());
    if (!snappy::GetUncompressedLength(src, block.size(), &n)) {
      return err(errc::decompression_failed);
    }
    if (n > limit - out.size()) return err(errc::too_large);
    const size_t at = out.size();
    out.resize(at + n);
    if (!snappy::RawUncompress(src, block.size(), out.data() + at)) {
      return err(errc::decompression_failed);
    }
    return {};
  };
  if (in.size() >= 16 && std::memcmp(in.data(), k_xerial_magic, 8) == 0) {
    reader r(in.subspan(16));
    while (!r.at_end()) {
      const int32_t n = r.read_int32();
      if (!r.ok() || n < 0 || static_cast<size_t>(n) > r.remaining()) {
        return err(errc::decompression_failed);
      }
      if (auto e = append_block(r.read_raw(static_cast<size_t>(n)))) return e;
    }
  } else if (auto e = append_block(in)) {
    return e;
  }
  return out;
}

result<std::vector<char>> unlz4(std::span<const uint8_t> in, size_t limit) {
  LZ4F_dctx* ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) {
    return err(errc::decompression_failed);
  }
  std::unique_ptr<LZ4F_dctx, LZ4F_errorCode_t (*)(LZ4F_dctx*)> guard(ctx,
                                                                     LZ4F_freeDecompressionContext);
  bounded_output out(in.size() * 4, limit);
  size_t used = 0;
  size_t pos = 0;
  size_t hint = 1;
  while (pos < in.size()) {
    if (!out.make_room(used)) return err(errc::too_large);
    size_t dst = out.size() - used;
    size_t src = in.size() - pos;
    hint = LZ4F_decompress(ctx, out.data() + used, &dst, in.data() + pos, &src, nullptr);
    if (LZ4F_isError(hint)) return err(errc::decompression_failed);
    used += dst;
    pos += src;
    if (used > limit) return err(errc::too_large);
    if (src == 0 && dst == 0 && hint != 0) return err(errc::decompression_failed);
  }
  // Flush output held back by the context (possible when the buffer filled up).
  while (hint != 0) {
    if (!out.make_room(used)) return err(errc::too_large);
    size_t dst = out.size() - used;
    size_t src = 0;
    hint = LZ4F_decompress(ctx, out.data() + used, &dst, nullptr, &src, nullptr);
    if (LZ4F_isError(hint)) return err(errc::decompression_failed);
    used += dst;
    if (used > limit) return err(errc::too_large);
    if (dst == 0 && hint != 0) return err(errc::decompression_failed);  // truncated frame
  }
  return out.finish(used);
}

result<std::vector<char>> unzstd(std::span<const uint8_t> in, size_t limit) {
  ZSTD_DCtx* ctx = ZSTD_createDCtx();
  if (ctx == nullptr) return err(errc::decompression_failed);
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> guard(ctx, ZSTD_freeDCtx);
  // A window larger than the output bound is never needed: refuse to allocate one.
  const int window_log = std::clamp(static_cast<int>(std::bit_width(limit)), 10, 27);
  ZSTD_DCtx_setParameter(ctx, ZSTD_d_windowLogMax, window_log);
  bounded_output out(in.size() * 4, limit);
  size_t used = 0;
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  for (;;) {
    if (!out.make_room(used)) return err(errc::too_large);
    ZSTD_outBuffer dst{out.data(), out.size(), used};
    const size_t rc = ZSTD_decompressStream(ctx, &dst, &src);
    if (ZSTD_isError(rc)) return err(errc::decompression_failed);
    used = dst.pos;
    if (used > limit) return err(errc::too_large);
    // All input consumed and the decoder did not fill the output: it has nothing more to give.
    if (src.pos == src.size && dst.pos < dst.size) {
      if (rc != 0) return err(errc::decompression_failed);  // truncated frame
      break;
    }
  }
  return out.finish(used);
}

std::string compress(compression c, std::string_view in) {
  std::string out;
  switch (c) {
    case compression::none:
      return std::string(in);
    case compression::gzip: {
      z_stream zs{};
      if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
          Z_OK) {
        throw std::runtime_error("deflateInit2 failed");
      }
      std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, deflateEnd);
      out.resize(deflateBound(&zs, static_cast<uLong>(in.size())) + 32);
      zs.next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(in.data()));
      zs.avail_in = static_cast<uInt>(in.size());
      zs.next_out = reinterpret_cast<Bytef*>(out.data());
      zs.avail_out = static_cast<uInt>(out.size());
      if (deflate(&zs, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate failed");
      out.resize(zs.total_out);
      return out;
    }
    case compression::snappy: {
      out.resize(snappy::MaxCompressedLength(in.size()));
      size_t n = 0;
      snappy::RawCompress(in.data(), in.size(), out.data(), &n);
      out.resize(n);
      return out;
    }
    case compression::lz4: {
      LZ4F_preferences_t prefs{};
      prefs.frameInfo.blockSizeID = LZ4F_max64KB;
      prefs.frameInfo.blockMode = LZ4F_blockIndependent;
      out.resize(LZ4F_compressFrameBound(in.size(), &prefs));
      const size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &prefs);
      if (LZ4F_isError(n)) throw std::runtime_error("LZ4F_compressFrame failed");
      out.resize(n);
      return out;
    }
    case compression::zstd: {
      out.resize(ZSTD_compressBound(in.size()));
      const size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
      if (ZSTD_isError(n)) throw std::runtime_error("ZSTD_compress failed");
      out.resize(n);
      return out;
    }
  }
  throw std::runtime_error("unknown compression");
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

result<batch_header> validate_batch(std::span<const uint8_t> batch) {
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
  if (h->codec() == compression::none) {
    if (auto e = parse_records(batch.subspan(batch_header_size), h->record_count, nullptr, true)) {
      return e;
    }
  } else if (h->record_count > 0 && batch.size() == batch_header_size) {
    return err(errc::count_mismatch);  // records announced but no payload at all
  }
  return h;
}

void set_base_offset(std::span<uint8_t> batch, int64_t base_offset) {
  put_be(batch, 0, static_cast<uint64_t>(base_offset), 8);
}

void set_partition_leader_epoch(std::span<uint8_t> batch, int32_t epoch) {
  put_be(batch, 12, static_cast<uint32_t>(epoch), 4);
}

result<decoded_batch> decode_batch(std::span<const uint8_t> batch, size_t max_decompressed) {
  auto h = validate_batch(batch);
  if (!h) return h.error();
  decoded_batch out;
  out.header = *h;
  auto payload = batch.subspan(batch_header_size);
  switch (h->codec()) {
    case compression::none:
      out._storage.assign(payload.begin(), payload.end());
      break;
    case compression::gzip:
    case compression::snappy:
    case compression::lz4:
    case compression::zstd: {
      auto d = h->codec() == compression::gzip     ? gunzip(payload, max_decompressed)
               : h->codec() == compression::snappy ? unsnappy(payload, max_decompressed)
               : h->codec() == compression::lz4    ? unlz4(payload, max_decompressed)
                                                   : unzstd(payload, max_decompressed);
      if (!d) return d.error();
      out._storage = std::move(*d);
      break;
    }
  }
  std::span<const uint8_t> data(reinterpret_cast<const uint8_t*>(out._storage.data()),
                                out._storage.size());
  if (auto e = parse_records(data, h->record_count, &out.records, false)) return e;
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

}  // namespace eb::net

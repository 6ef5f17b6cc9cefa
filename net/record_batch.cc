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

// The decompressed bytes of one batch payload, handed out piece by piece, so that a validator can
// look at them without holding them all and a decompression bomb is stopped at the bound. Every
// codec reads the whole payload: bytes after the end of the compressed stream are an error (gzip
// and lz4 accept several members/frames back to back, as Java's streams do).
class payload_source {
 public:
  virtual ~payload_source() = default;
  // Writes 1..cap bytes to `out` (cap > 0), or 0 once the stream has ended.
  // errc::decompression_failed for a corrupt or truncated stream, errc::too_large
  // when a snappy block announces more than the bound (the other codecs are bounded by the
  // caller counting what they produce).
  virtual result<size_t> read(uint8_t* out, size_t cap) = 0;
};

class gzip_source final : public payload_source {
 public:
  explicit gzip_source(std::span<const uint8_t> in) {
    _ok = inflateInit2(&_zs, 15 + 32) == Z_OK;
    _zs.next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(in.data()));
    _zs.avail_in = static_cast<uInt>(in.size());
  }
  ~gzip_source() override {
    if (_ok) inflateEnd(&_zs);
  }
  result<size_t> read(uint8_t* out, size_t cap) override {
    if (!_ok) return err(errc::decompression_failed);
    if (_done) return size_t{0};
    cap = std::min<size_t>(cap, UINT32_MAX);
    _zs.next_out = reinterpret_cast<Bytef*>(out);
    _zs.avail_out = static_cast<uInt>(cap);
    for (;;) {
      const int rc = inflate(&_zs, Z_NO_FLUSH);
      const size_t produced = cap - _zs.avail_out;
      if (rc == Z_STREAM_END) {
        if (_zs.avail_in == 0) {
          _done = true;
          if (produced > 0) return produced;
          return size_t{0};
        }
        // Concatenated gzip members (GZIPInputStream reads them too).
        if (inflateReset(&_zs) != Z_OK) return err(errc::decompression_failed);
      } else if (rc == Z_BUF_ERROR) {
        // No progress possible: either the output is full or the input ended mid-stream.
        if (produced > 0) return produced;
        return err(errc::decompression_failed);
      } else if (rc != Z_OK) {
        return err(errc::decompression_failed);
      }
      if (produced == cap) return produced;
    }
  }

 private:
  z_stream _zs{};
  bool _ok = false;
  bool _done = false;
};

// Java's snappy-java framing (xerial): magic, version, compatible version, then blocks of
// [int32 BE compressed length | raw snappy block]. librdkafka writes one raw block.
constexpr uint8_t k_xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};

// Snappy blocks cannot be inflated in pieces: each is inflated whole, after checking that its
// announced size fits what is left of the bound.
class snappy_source final : public payload_source {
 public:
  snappy_source(std::span<const uint8_t> in, size_t limit) : _limit(limit) {
    if (in.size() >= 16 && std::memcmp(in.data(), k_xerial_magic, 8) == 0) {
      _framed = true;
      _in = reader(in.subspan(16));
    } else {
      _in = reader(in);
    }
  }
  result<size_t> read(uint8_t* out, size_t cap) override {
    while (_pos == _block.size()) {
      if (_in.at_end() && (_framed || _started)) return size_t{0};
      _started = true;
      std::span<const uint8_t> block;
      if (_framed) {
        const int32_t n = _in.read_int32();
        if (!_in.ok() || n < 0 || static_cast<size_t>(n) > _in.remaining()) {
          return err(errc::decompression_failed);
        }
        block = _in.read_raw(static_cast<size_t>(n));
      } else {
        block = _in.read_raw(_in.remaining());
      }
      const char* src = reinterpret_cast<const char*>(block.data());
      size_t n = 0;
      if (!snappy::GetUncompressedLength(src, block.size(), &n)) {
        return err(errc::decompression_failed);
      }
      if (n > _limit - _inflated) return err(errc::too_large);
      _block.resize(n);
      if (!snappy::RawUncompress(src, block.size(), _block.data())) {
        return err(errc::decompression_failed);
      }
      _inflated += n;
      _pos = 0;
    }
    const size_t k = std::min(cap, _block.size() - _pos);
    std::memcpy(out, _block.data() + _pos, k);
    _pos += k;
    return k;
  }

 private:
  size_t _limit;
  bool _framed = false;
  bool _started = false;
  reader _in;
  std::vector<char> _block;
  size_t _pos = 0;
  size_t _inflated = 0;
};

class lz4_source final : public payload_source {
 public:
  explicit lz4_source(std::span<const uint8_t> in) : _in(in) {
    _ok = !LZ4F_isError(LZ4F_createDecompressionContext(&_ctx, LZ4F_VERSION));
  }
  ~lz4_source() override {
    if (_ok) LZ4F_freeDecompressionContext(_ctx);
  }
  result<size_t> read(uint8_t* out, size_t cap) override {
    if (!_ok) return err(errc::decompression_failed);
    size_t produced = 0;
    while (_pos < _in.size() && produced < cap) {
      size_t dst = cap - produced;
      size_t src = _in.size() - _pos;
      _hint = LZ4F_decompress(_ctx, out + produced, &dst, _in.data() + _pos, &src, nullptr);
      if (LZ4F_isError(_hint)) return err(errc::decompression_failed);
      produced += dst;
      _pos += src;
      if (src == 0 && dst == 0 && _hint != 0) return err(errc::decompression_failed);
    }
    // Input consumed: flush output held back by the context (possible when `out` filled up).
    while (_pos == _in.size() && _hint != 0 && produced < cap) {
      size_t dst = cap - produced;
      size_t src = 0;
      _hint = LZ4F_decompress(_ctx, out + produced, &dst, nullptr, &src, nullptr);
      if (LZ4F_isError(_hint)) return err(errc::decompression_failed);
      produced += dst;
      if (dst == 0 && _hint != 0) return err(errc::decompression_failed);  // truncated frame
    }
    return produced;
  }

 private:
  std::span<const uint8_t> _in;
  LZ4F_dctx* _ctx = nullptr;
  bool _ok = false;
  size_t _pos = 0;
  size_t _hint = 1;
};

class zstd_source final : public payload_source {
 public:
  zstd_source(std::span<const uint8_t> in, size_t limit) : _src{in.data(), in.size(), 0} {
    _ctx = ZSTD_createDCtx();
    if (_ctx == nullptr) return;
    // A window larger than the output bound is never needed: refuse to allocate one.
    const int window_log = std::clamp(static_cast<int>(std::bit_width(limit)), 10, 27);
    ZSTD_DCtx_setParameter(_ctx, ZSTD_d_windowLogMax, window_log);
  }
  ~zstd_source() override { ZSTD_freeDCtx(_ctx); }
  result<size_t> read(uint8_t* out, size_t cap) override {
    if (_ctx == nullptr) return err(errc::decompression_failed);
    if (_done) return size_t{0};
    ZSTD_outBuffer dst{out, cap, 0};
    for (;;) {
      const size_t before = _src.pos;
      const size_t rc = ZSTD_decompressStream(_ctx, &dst, &_src);
      if (ZSTD_isError(rc)) return err(errc::decompression_failed);
      // All input consumed, and the frame ended (rc 0: decoded and flushed, even if that filled
      // `out` exactly; another call would ask for a next frame) or the decoder did not fill the
      // output (it has nothing more to give).
      if (_src.pos == _src.size && (rc == 0 || dst.pos < dst.size)) {
        if (rc != 0) return err(errc::decompression_failed);  // truncated frame
        _done = true;
        return dst.pos;
      }
      if (dst.pos > 0) return dst.pos;
      if (_src.pos == before) return err(errc::decompression_failed);
    }
  }

 private:
  ZSTD_DCtx* _ctx = nullptr;
  ZSTD_inBuffer _src;
  bool _done = false;
};

std::unique_ptr<payload_source> make_source(compression c, std::span<const uint8_t> in,
                                            size_t limit) {
  switch (c) {
    case compression::gzip:
      return std::make_unique<gzip_source>(in);
    case compression::snappy:
      return std::make_unique<snappy_source>(in, limit);
    case compression::lz4:
      return std::make_unique<lz4_source>(in);
    case compression::zstd:
      return std::make_unique<zstd_source>(in, limit);
    case compression::none:
      break;
  }
  return nullptr;
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

// Inflates the whole payload (decode_batch keeps the records).
result<std::vector<char>> inflate_all(compression c, std::span<const uint8_t> in, size_t limit) {
  auto src = make_source(c, in, limit);
  bounded_output out(in.size() * 4, limit);
  size_t used = 0;
  for (;;) {
    if (!out.make_room(used)) return err(errc::too_large);
    auto n = src->read(reinterpret_cast<uint8_t*>(out.data()) + used, out.size() - used);
    if (!n) return n.error();
    if (*n == 0) break;
    used += *n;
    if (used > limit) return err(errc::too_large);
  }
  return out.finish(used);
}

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

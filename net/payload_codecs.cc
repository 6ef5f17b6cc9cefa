#include "net/payload_codecs.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "net/wire.h"

namespace eb::net::detail {
namespace {

std::error_code err(errc e) { return make_error_code(e); }

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

}  // namespace

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

namespace {

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

}  // namespace

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

}  // namespace eb::net::detail

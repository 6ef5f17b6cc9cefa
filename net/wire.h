#pragma once
// Kafka wire primitives: a bounds-checked reader over a byte span and a growable writer.
//
// The reader never trusts a length from the wire. Every read is checked against the bytes left;
// the first failure is remembered (sticky error), the reader then yields zeros/empties and reads
// nothing more, so generated decoders can read a whole struct and check `ok()` once at the end.
// Lengths that are negative (other than the null marker) or larger than the bytes left are
// rejected, and array counts are bounded by the bytes left divided by the element's minimum size,
// so a hostile count can never make us allocate more than the frame holds.
//
// Both types are plain values owned by whoever decodes or encodes one message; no threading.
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "net/errors.h"

namespace eb::net {

// Kafka's UUID (topic ids, directory ids): 16 raw bytes, all zero = unset.
using uuid = std::array<uint8_t, 16>;

class reader {
 public:
  reader() = default;
  explicit reader(std::span<const uint8_t> buf) : _buf(buf) {}
  reader(const void* data, size_t size) : _buf(static_cast<const uint8_t*>(data), size) {}
  explicit reader(std::string_view s) : reader(s.data(), s.size()) {}

  bool ok() const { return !_err; }
  std::error_code error() const { return _err; }
  size_t remaining() const { return _buf.size() - _pos; }
  size_t position() const { return _pos; }
  bool at_end() const { return _pos == _buf.size(); }
  // The bytes not yet read.
  std::span<const uint8_t> rest() const { return _buf.subspan(_pos); }

  // Records the first error and stops all further reads.
  void fail(errc e) {
    if (!_err) _err = make_error_code(e);
    _pos = _buf.size();
  }
  void fail(std::error_code e) {
    if (!_err) _err = e;
    _pos = _buf.size();
  }

  int8_t read_int8() { return static_cast<int8_t>(read_be<uint8_t>()); }
  uint8_t read_uint8() { return read_be<uint8_t>(); }
  int16_t read_int16() { return static_cast<int16_t>(read_be<uint16_t>()); }
  uint16_t read_uint16() { return read_be<uint16_t>(); }
  int32_t read_int32() { return static_cast<int32_t>(read_be<uint32_t>()); }
  uint32_t read_uint32() { return read_be<uint32_t>(); }
  int64_t read_int64() { return static_cast<int64_t>(read_be<uint64_t>()); }
  double read_float64() { return std::bit_cast<double>(read_be<uint64_t>()); }
  bool read_bool() { return read_be<uint8_t>() != 0; }
  uuid read_uuid() {
    uuid u{};
    if (auto s = read_raw(16); s.size() == 16) std::memcpy(u.data(), s.data(), 16);
    return u;
  }

  // Unsigned LEB128 varint of at most 32 bits (5 bytes); longer or overflowing encodings fail.
  uint32_t read_uvarint() {
    uint64_t v = read_uvarlong_bits(5);
    if (v > UINT32_MAX) {
      fail(errc::invalid_varint);
      return 0;
    }
    return static_cast<uint32_t>(v);
  }
  // Unsigned varint of at most 64 bits (10 bytes).
  uint64_t read_uvarlong() { return read_uvarlong_bits(10); }
  // Zigzag-encoded signed varints (record fields).
  int32_t read_varint() {
    uint32_t u = read_uvarint();
    return static_cast<int32_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  int64_t read_varlong() {
    uint64_t u = read_uvarlong();
    return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  }

  // Exactly n bytes, or an empty span and errc::truncated.
  std::span<const uint8_t> read_raw(size_t n) {
    if (n > remaining()) {
      fail(errc::truncated);
      return {};
    }
    auto s = _buf.subspan(_pos, n);
    _pos += n;
    return s;
  }
  void skip(size_t n) { (void)read_raw(n); }

  // A reader over the next n bytes, which this reader skips. Fails (and returns an empty,
  // failed reader) if fewer than n bytes are left.
  reader sub(size_t n) {
    if (n > remaining()) {
      fail(errc::invalid_length);
      reader r;
      r.fail(errc::invalid_length);
      return r;
    }
    reader r(_buf.subspan(_pos, n));
    _pos += n;
    return r;
  }

  // Length prefix of a string: int16 (classic) or unsigned varint length+1 (compact).
  // Returns -1 for null, the length otherwise; fails if the length exceeds the bytes left.
  int64_t read_string_length(bool compact) {
    int64_t n = compact ? static_cast<int64_t>(read_uvarint()) - 1 : read_int16();
    return check_length(n, 1);
  }
  // Length prefix of bytes/records: int32 (classic) or unsigned varint length+1 (compact).
  int64_t read_bytes_length(bool compact) {
    int64_t n = compact ? static_cast<int64_t>(read_uvarint()) - 1 : read_int32();
    return check_length(n, 1);
  }
  // Element count of an array: int32 (classic) or unsigned varint count+1 (compact). -1 = null.
  // Each element takes at least min_element_size bytes, so the count is bounded by what is left.
  int64_t read_array_length(bool compact, size_t min_element_size) {
    int64_t n = compact ? static_cast<int64_t>(read_uvarint()) - 1 : read_int32();
    return check_length(n, min_element_size == 0 ? 1 : min_element_size);
  }

  // Views into the underlying buffer (valid while it lives); nullopt for null.
  std::optional<std::string_view> read_nullable_string_view(bool compact) {
    return view_of(read_string_length(compact));
  }
  std::optional<std::string_view> read_nullable_bytes_view(bool compact) {
    return view_of(read_bytes_length(compact));
  }

  // Owning reads. The non-nullable forms fail with errc::unexpected_null on a null.
  std::string read_string(bool compact) { return non_null(read_nullable_string_view(compact)); }
  std::optional<std::string> read_nullable_string(bool compact) {
    return to_owned(read_nullable_string_view(compact));
  }
  std::string read_bytes(bool compact) { return non_null(read_nullable_bytes_view(compact)); }
  std::optional<std::string> read_nullable_bytes(bool compact) {
    return to_owned(read_nullable_bytes_view(compact));
  }

  // Skips a whole tagged-field section (count, then tag/size/data triples).
  void skip_tagged_fields() {
    uint32_t n = read_uvarint();
    for (uint32_t i = 0; i < n && ok(); ++i) {
      (void)read_uvarint();  // tag: unknown to the caller by definition
      skip(read_uvarint());
    }
  }

 private:
  template <class U>
  U read_be() {
    if (sizeof(U) > remaining()) {
      fail(errc::truncated);
      return 0;
    }
    U v;
    std::memcpy(&v, _buf.data() + _pos, sizeof(U));
    _pos += sizeof(U);
    if constexpr (std::endian::native == std::endian::little && sizeof(U) > 1) {
      v = byteswap(v);
    }
    return v;
  }
  template <class U>
  static U byteswap(U v) {
    if constexpr (sizeof(U) == 2) return static_cast<U>(__builtin_bswap16(v));
    if constexpr (sizeof(U) == 4) return static_cast<U>(__builtin_bswap32(v));
    if constexpr (sizeof(U) == 8) return static_cast<U>(__builtin_bswap64(v));
    return v;
  }

  uint64_t read_uvarlong_bits(int max_bytes) {
    uint64_t v = 0;
    for (int i = 0; i < max_bytes; ++i) {
      if (remaining() == 0) {
        fail(errc::truncated);
        return 0;
      }
      uint8_t b = _buf[_pos++];
      // The 10th byte of a 64-bit varint may only carry the top bit.
      if (i == 9 && b > 1) break;
      v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
      if ((b & 0x80) == 0) return v;
    }
    fail(errc::invalid_varint);
    return 0;
  }

  int64_t check_length(int64_t n, size_t min_element_size) {
    if (!ok()) return 0;
    if (n < -1) {
      fail(errc::invalid_length);
      return 0;
    }
    if (n > 0 && static_cast<uint64_t>(n) > remaining() / min_element_size) {
      fail(errc::invalid_length);
      return 0;
    }
    return n;
  }

  std::optional<std::string_view> view_of(int64_t n) {
    if (n < 0) {
      if (!ok()) return std::string_view{};
      return std::nullopt;
    }
    auto s = read_raw(static_cast<size_t>(n));
    return std::string_view(reinterpret_cast<const char*>(s.data()), s.size());
  }
  std::string non_null(std::optional<std::string_view> v) {
    if (!v) {
      fail(errc::unexpected_null);
      return {};
    }
    return std::string(*v);
  }
  static std::optional<std::string> to_owned(std::optional<std::string_view> v) {
    if (!v) return std::nullopt;
    return std::string(*v);
  }

  std::span<const uint8_t> _buf;
  size_t _pos = 0;
  std::error_code _err;
};

// A growable output buffer. Writes cannot fail; a value that does not fit its length prefix (a
// string over 32767 bytes in a classic int16 prefix, a bytes field over 2^31-1) is written
// truncated-to-empty and clears `ok()`, which callers check before sending.
class writer {
 public:
  writer() = default;
  explicit writer(size_t reserve) { _buf.reserve(reserve); }

  bool ok() const { return _ok; }
  size_t size() const { return _buf.size(); }
  const uint8_t* data() const { return _buf.data(); }
  std::span<const uint8_t> bytes() const { return _buf; }
  std::string_view view() const {
    return {reinterpret_cast<const char*>(_buf.data()), _buf.size()};
  }
  std::vector<uint8_t>& buffer() { return _buf; }
  std::vector<uint8_t> take() { return std::move(_buf); }
  void clear() {
    _buf.clear();
    _ok = true;
  }

  void write_int8(int8_t v) { _buf.push_back(static_cast<uint8_t>(v)); }
  void write_uint8(uint8_t v) { _buf.push_back(v); }
  void write_int16(int16_t v) { write_be(static_cast<uint16_t>(v)); }
  void write_uint16(uint16_t v) { write_be(v); }
  void write_int32(int32_t v) { write_be(static_cast<uint32_t>(v)); }
  void write_uint32(uint32_t v) { write_be(v); }
  void write_int64(int64_t v) { write_be(static_cast<uint64_t>(v)); }
  void write_float64(double v) { write_be(std::bit_cast<uint64_t>(v)); }
  void write_bool(bool v) { _buf.push_back(v ? 1 : 0); }
  void write_uuid(const uuid& u) { write_raw(u.data(), u.size()); }

  void write_uvarlong(uint64_t v) {
    while (v >= 0x80) {
      _buf.push_back(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    _buf.push_back(static_cast<uint8_t>(v));
  }
  void write_uvarint(uint32_t v) { write_uvarlong(v); }
  void write_varint(int32_t v) {
    write_uvarint((static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31));
  }
  void write_varlong(int64_t v) {
    write_uvarlong((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }

  void write_raw(const void* p, size_t n) {
    auto b = static_cast<const uint8_t*>(p);
    _buf.insert(_buf.end(), b, b + n);
  }
  void write_raw(std::span<const uint8_t> s) { write_raw(s.data(), s.size()); }
  void write_raw(std::string_view s) { write_raw(s.data(), s.size()); }

  void write_string(std::string_view s, bool compact) {
    if (!compact && s.size() > INT16_MAX) {
      _ok = false;
      s = {};
    }
    write_length(static_cast<int64_t>(s.size()), compact, false);
    write_raw(s);
  }
  void write_nullable_string(const std::optional<std::string>& s, bool compact) {
    if (!s) {
      write_length(-1, compact, false);
    } else {
      write_string(*s, compact);
    }
  }
  void write_bytes(std::string_view s, bool compact) {
    if (s.size() > INT32_MAX - 1) {
      _ok = false;
      s = {};
    }
    write_length(static_cast<int64_t>(s.size()), compact, true);
    write_raw(s);
  }
  void write_nullable_bytes(const std::optional<std::string>& s, bool compact) {
    if (!s) {
      write_length(-1, compact, true);
    } else {
      write_bytes(*s, compact);
    }
  }
  // n = -1 writes null.
  void write_array_length(int64_t n, bool compact) { write_length(n, compact, true); }

  // Writes the size of a tagged field's data followed by the data.
  void write_tagged(uint32_t tag, const writer& data) {
    write_uvarint(tag);
    write_uvarint(static_cast<uint32_t>(data.size()));
    write_raw(data.bytes());
  }

  // Reserves 4 bytes (a frame size) to be filled in later with patch_int32.
  size_t reserve_int32() {
    size_t at = _buf.size();
    _buf.resize(at + 4);
    return at;
  }
  void patch_int32(size_t at, int32_t v) {
    uint32_t u = static_cast<uint32_t>(v);
    for (int i = 0; i < 4; ++i) _buf[at + i] = static_cast<uint8_t>(u >> (24 - 8 * i));
  }

 private:
  template <class U>
  void write_be(U v) {
    for (int i = sizeof(U) - 1; i >= 0; --i) _buf.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void write_length(int64_t n, bool compact, bool wide) {
    if (compact) {
      write_uvarint(static_cast<uint32_t>(n + 1));
    } else if (wide) {
      write_int32(static_cast<int32_t>(n));
    } else {
      write_int16(static_cast<int16_t>(n));
    }
  }

  std::vector<uint8_t> _buf;
  bool _ok = true;
};

}  // namespace eb::net

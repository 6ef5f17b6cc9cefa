#include "net/frame.h"

#include <limits>

#include "net/errors.h"

namespace eb::net {
namespace {

// A bounds-checked big-endian reader over one frame; each read fails once past the end.
class header_reader {
 public:
  explicit header_reader(std::span<const uint8_t> b) : _b(b) {}
  size_t pos() const { return _pos; }
  size_t left() const { return _b.size() - _pos; }

  result<int16_t> i16() {
    if (left() < 2) return errc::truncated;
    auto v = static_cast<int16_t>((uint16_t{_b[_pos]} << 8) | uint16_t{_b[_pos + 1]});
    _pos += 2;
    return v;
  }
  result<int32_t> i32() {
    if (left() < 4) return errc::truncated;
    auto v = read_frame_size(_b.data() + _pos);
    _pos += 4;
    return v;
  }
  // Unsigned varint of at most 32 bits (5 bytes), as Kafka's ByteUtils.readUnsignedVarint.
  result<uint32_t> uvarint() {
    uint32_t v = 0;
    for (int i = 0; i < 5; ++i) {
      if (left() < 1) return errc::truncated;
      uint8_t b = _b[_pos++];
      if (i == 4 && (b & 0xf0) != 0) return errc::invalid_varint;
      v |= uint32_t{b & 0x7fu} << (7 * i);
      if ((b & 0x80) == 0) return v;
    }
    return errc::invalid_varint;
  }
  result<void> skip(size_t n) {
    if (left() < n) return errc::truncated;
    _pos += n;
    return {};
  }
  std::string_view bytes(size_t n) const {
    return {reinterpret_cast<const char*>(_b.data() + _pos), n};
  }

 private:
  std::span<const uint8_t> _b;
  size_t _pos = 0;
};

}  // namespace

result<std::pair<int16_t, int16_t>> peek_api(std::span<const uint8_t> frame) {
  header_reader r(frame);
  auto key = r.i16();
  if (!key) return key.error();
  auto version = r.i16();
  if (!version) return version.error();
  return std::pair{*key, *version};
}

result<parsed_request_header> parse_request_header(std::span<const uint8_t> frame,
                                                   int header_version) {
  if (header_version < 0 || header_version > 2) return errc::unsupported_version;
  header_reader r(frame);
  parsed_request_header out;
  auto key = r.i16();
  if (!key) return key.error();
  auto version = r.i16();
  if (!version) return version.error();
  auto correlation = r.i32();
  if (!correlation) return correlation.error();
  out.header.api_key = *key;
  out.header.api_version = *version;
  out.header.correlation_id = *correlation;
  if (header_version >= 1) {
    // ClientId stays a classic nullable string even in flexible header v2 (KIP-482).
    auto len = r.i16();
    if (!len) return len.error();
    if (*len < -1) return errc::invalid_length;
    if (*len >= 0) {
      if (r.left() < static_cast<size_t>(*len)) return errc::truncated;
      out.header.client_id.emplace(r.bytes(static_cast<size_t>(*len)));
      (void)r.skip(static_cast<size_t>(*len));  // cannot fail: checked just above
    }
  }
  if (header_version >= 2) {
    auto count = r.uvarint();
    if (!count) return count.error();
    for (uint32_t i = 0; i < *count; ++i) {
      auto tag = r.uvarint();
      if (!tag) return tag.error();
      auto size = r.uvarint();
      if (!size) return size.error();
      if (auto s = r.skip(*size); !s) return s.error();
    }
  }
  out.body_offset = r.pos();
  return out;
}

result<response_prefix> encode_response_prefix(int32_t correlation_id, int header_version,
                                               size_t body_size) {
  if (header_version != 0 && header_version != 1) return errc::unsupported_version;
  const size_t header = header_version == 1 ? 5 : 4;
  if (body_size > static_cast<size_t>(std::numeric_limits<int32_t>::max()) - header) {
    return errc::too_large;
  }
  const auto size = static_cast<uint32_t>(header + body_size);
  const auto corr = static_cast<uint32_t>(correlation_id);
  response_prefix p;
  p.bytes = {static_cast<uint8_t>(size >> 24),
             static_cast<uint8_t>(size >> 16),
             static_cast<uint8_t>(size >> 8),
             static_cast<uint8_t>(size),
             static_cast<uint8_t>(corr >> 24),
             static_cast<uint8_t>(corr >> 16),
             static_cast<uint8_t>(corr >> 8),
             static_cast<uint8_t>(corr),
             0};  // header v1: the tagged-field count, always 0
  p.length = static_cast<uint8_t>(4 + header);
  return p;
}

}  // namespace eb::net

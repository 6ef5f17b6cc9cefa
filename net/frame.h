#pragma once
// Kafka framing and the request/response headers: pure functions over bytes, no I/O. The server
// (net/server.h) uses them; they are separate so the byte layout can be tested without sockets.
//
// Request frame:  size i32 BE | api_key i16 | api_version i16 | correlation_id i32 |
//                 client_id (v1+: int16-length nullable string, never compact, even in v2) |
//                 (v2: tagged fields) | body
// Response frame: size i32 BE | correlation_id i32 | (v1: tagged fields, always empty = 0x00) |
// body
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "common/result.h"

namespace eb::net {

// Size prefix of every frame, in bytes.
inline constexpr size_t frame_size_prefix = 4;
// api_key + api_version + correlation_id: a frame shorter than this cannot be a request.
inline constexpr uint32_t min_request_frame = 8;

struct request_header {
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  // Null when the client sent length -1 (and always for header v0, which has no client_id).
  std::optional<std::string> client_id;
};

struct parsed_request_header {
  request_header header;
  // Offset of the body in the frame (the frame excludes the 4-byte size prefix).
  size_t body_offset = 0;
};

// The api_key and api_version of a frame (without size prefix), needed to choose the header
// version before the rest is parsed. errc::truncated if the frame is shorter than 4 bytes.
result<std::pair<int16_t, int16_t>> peek_api(std::span<const uint8_t> frame);

// Parses a request header of version 0, 1 or 2 (tagged fields are skipped: none is defined for
// request headers that we act on). errc::truncated if a field runs past the frame,
// errc::invalid_length for a client_id length below -1, errc::invalid_varint for a bad varint,
// errc::unsupported_version for another header version.
result<parsed_request_header> parse_request_header(std::span<const uint8_t> frame,
                                                   int header_version);

// The bytes that go before a response body: size prefix, correlation_id and, for header v1, the
// empty tagged-field byte. `size()` of the result is 8 or 9.
struct response_prefix {
  std::array<uint8_t, 9> bytes{};
  uint8_t length = 0;
  std::span<const uint8_t> span() const { return {bytes.data(), length}; }
};
// errc::too_large if the whole frame would not fit an int32 size; errc::unsupported_version for
// a header version other than 0 or 1.
result<response_prefix> encode_response_prefix(int32_t correlation_id, int header_version,
                                               size_t body_size);

// Reads the big-endian size prefix (4 bytes) of a frame.
inline int32_t read_frame_size(const uint8_t* p) {
  return static_cast<int32_t>((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
                              (uint32_t{p[2]} << 8) | uint32_t{p[3]});
}

}  // namespace eb::net

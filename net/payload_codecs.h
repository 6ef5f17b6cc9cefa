// The compression codecs of RecordBatch payloads (gzip, snappy-java framing, lz4 frames, zstd):
// bounded streaming inflation and whole-payload compression. Internal to net/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/record_batch.h"

namespace eb::net::detail {

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

// A source for payload `in` of codec `c`; `limit` bounds what it may inflate.
std::unique_ptr<payload_source> make_source(compression c, std::span<const uint8_t> in,
                                            size_t limit);
// Inflates the whole payload: errc::too_large above `limit`.
result<std::vector<char>> inflate_all(compression c, std::span<const uint8_t> in, size_t limit);
// `in` compressed with `c` as a batch payload (none: unchanged).
std::string compress(compression c, std::string_view in);

}  // namespace eb::net::detail

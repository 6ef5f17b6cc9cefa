// libFuzzer target over everything that reads untrusted bytes in net/: request headers and bodies
// of every API and version, response bodies, and record batches (validate, split, decode with
// decompression). Built only with -DEB_FUZZ=ON (clang); run by scripts/fuzz.sh.
//
// Input: byte 0 picks the mode (mod 3), the rest is the payload:
//   0: a request frame without size prefix (header version from its api key/version);
//   1: api key (i16) + api version (i16) + a response frame without size prefix;
//   2: record batch bytes (one or more batches, as in a produce partition); whatever the produce
//      validation accepts must decode completely.
// Every value that decodes is re-encoded, decoded and re-encoded again: the two encodings must be
// identical (an encode/decode asymmetry aborts, like a crash).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <tuple>
#include <vector>

#include "net/messages/messages.h"
#include "net/record_batch.h"

namespace {

using namespace eb::net;

template <class T>
void check_stable(const T& value, int16_t version) {
  writer w1;
  value.encode(w1, version);
  reader r(w1.bytes());
  auto again = T::decode(r, version);
  if (!again || !r.at_end()) std::abort();
  writer w2;
  again->encode(w2, version);
  if (w1.size() != w2.size() ||
      !std::equal(w1.bytes().begin(), w1.bytes().end(), w2.bytes().begin())) {
    std::abort();
  }
}

template <class Tuple, size_t I = 0>
void decode_body(int16_t key, int16_t version, reader& r) {
  if constexpr (I < std::tuple_size_v<Tuple>) {
    using T = std::tuple_element_t<I, Tuple>;
    if (static_cast<int16_t>(T::api) != key) return decode_body<Tuple, I + 1>(key, version, r);
    if (version < T::min_version || version > T::max_version) return;
    auto d = T::decode(r, version);
    if (d) check_stable(*d, version);
  }
}

void fuzz_request(std::span<const uint8_t> b) {
  if (b.size() < 4) return;
  const int16_t key = static_cast<int16_t>((b[0] << 8) | b[1]);
  const int16_t version = static_cast<int16_t>((b[2] << 8) | b[3]);
  const int16_t hv = request_header_version(key, version);
  if (hv < 0) return;
  reader r(b);
  auto h = msg::request_header::decode(r, hv);
  if (!h) return;
  check_stable(*h, hv);
  decode_body<msg::all_requests>(key, version, r);
}

void fuzz_response(std::span<const uint8_t> b) {
  if (b.size() < 4) return;
  const int16_t key = static_cast<int16_t>((b[0] << 8) | b[1]);
  const int16_t version = static_cast<int16_t>((b[2] << 8) | b[3]);
  const int16_t hv = response_header_version(key, version);
  if (hv < 0) return;
  reader r(b.subspan(4));
  auto h = msg::response_header::decode(r, hv);
  if (!h) return;
  decode_body<msg::all_responses>(key, version, r);
}

void fuzz_batches(std::span<const uint8_t> b) {
  (void)validate_batch(b);  // b as exactly one batch
  auto parts = split_batches(b);
  if (!parts) return;
  for (auto p : *parts) {
    auto h = validate_batch(p);
    // A small bound keeps each run fast; bombs must fail with too_large, not allocate.
    auto d = decode_batch(p, 1u << 20);
    if (d && (!h || d->records.size() != static_cast<size_t>(h->record_count))) std::abort();
    // Whatever produce accepts, the decoder that the mirror and Fetch consumers use decodes
    // completely (at the same bound): every announced record, with offset deltas 0..n-1. A batch
    // that passed produce and could not be decoded would stall the mirror for good.
    auto accepted = validate_produce_batch(p, 1u << 20);
    if (!accepted) continue;
    if (!h || !d || accepted->record_count < 1 ||
        d->records.size() != static_cast<size_t>(accepted->record_count)) {
      std::abort();
    }
    for (size_t i = 0; i < d->records.size(); ++i) {
      if (d->records[i].offset_delta != static_cast<int64_t>(i)) std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::span<const uint8_t> payload(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      fuzz_request(payload);
      break;
    case 1:
      fuzz_response(payload);
      break;
    default:
      fuzz_batches(payload);
      break;
  }
  return 0;
}

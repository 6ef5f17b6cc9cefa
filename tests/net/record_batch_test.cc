#include "net/record_batch.h"

#include <gtest/gtest.h>
#include <snappy.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "net/crc32c.h"
#include "net/wire.h"

namespace eb::net {
namespace {

std::span<const uint8_t> span_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
std::span<uint8_t> mut_span(std::string& s) {
  return {reinterpret_cast<uint8_t*>(s.data()), s.size()};
}

batch_builder_input sample_input(compression c, int n = 3) {
  batch_builder_input in;
  in.base_offset = 0;
  in.codec = c;
  in.base_timestamp = 1700000000000;
  in.producer_id = 42;
  in.producer_epoch = 1;
  in.base_sequence = 10;
  for (int i = 0; i < n; ++i) {
    record_input r;
    r.timestamp_delta = i * 5;
    r.key = "key-" + std::to_string(i);
    r.value = std::string(100 + i, static_cast<char>('a' + i % 26));
    if (i % 2 == 0) r.headers.push_back({"h" + std::to_string(i), std::string("hv")});
    if (i == 1) {
      r.key.reset();
      r.headers.push_back({"nullval", std::nullopt});
    }
    in.records.push_back(std::move(r));
  }
  return in;
}

// Recomputes the CRC after a test edits covered bytes on purpose.
void fix_crc(std::string& b) {
  uint32_t c = crc32c(span_of(b).subspan(batch_attributes_offset));
  for (int i = 0; i < 4; ++i) b[batch_crc_offset + i] = static_cast<char>(c >> (24 - 8 * i));
}

void expect_matches(const decoded_batch& d, const batch_builder_input& in) {
  ASSERT_EQ(d.records.size(), in.records.size());
  for (size_t i = 0; i < in.records.size(); ++i) {
    const record& r = d.records[i];
    const record_input& e = in.records[i];
    EXPECT_EQ(r.offset_delta, static_cast<int64_t>(i));
    EXPECT_EQ(r.timestamp_delta, e.timestamp_delta);
    EXPECT_EQ(r.key.has_value(), e.key.has_value());
    if (e.key) {
      EXPECT_EQ(*r.key, *e.key);
    }
    ASSERT_TRUE(r.value);
    EXPECT_EQ(*r.value, *e.value);
    ASSERT_EQ(r.headers.size(), e.headers.size());
    for (size_t h = 0; h < e.headers.size(); ++h) {
      EXPECT_EQ(r.headers[h].key, e.headers[h].first);
      EXPECT_EQ(r.headers[h].value.has_value(), e.headers[h].second.has_value());
      if (e.headers[h].second) {
        EXPECT_EQ(*r.headers[h].value, *e.headers[h].second);
      }
    }
  }
}

class codec_round_trip : public ::testing::TestWithParam<compression> {};

TEST_P(codec_round_trip, encode_validate_decode) {
  const auto in = sample_input(GetParam(), 50);
  const std::string b = encode_batch(in);
  auto h = validate_batch(span_of(b));
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h->codec(), GetParam());
  EXPECT_EQ(h->record_count, 50);
  EXPECT_EQ(h->last_offset_delta, 49);
  EXPECT_EQ(h->producer_id, 42);
  EXPECT_EQ(h->producer_epoch, 1);
  EXPECT_EQ(h->base_sequence, 10);
  EXPECT_EQ(h->last_sequence(), 59);
  EXPECT_EQ(h->base_timestamp, 1700000000000);
  EXPECT_EQ(h->max_timestamp, 1700000000000 + 49 * 5);
  EXPECT_EQ(h->total_size(), b.size());
  if (GetParam() != compression::none) {
    EXPECT_LT(b.size(), 50u * 100u);  // the values compress well
  }
  auto produced = validate_produce_batch(span_of(b));
  ASSERT_TRUE(produced) << produced.error().message();
  auto d = decode_batch(span_of(b));
  ASSERT_TRUE(d) << d.error().message();
  expect_matches(*d, in);
  // Views stay valid after moving the decoded batch and dropping the input.
  decoded_batch moved;
  {
    std::string copy = b;
    auto d2 = decode_batch(span_of(copy));
    ASSERT_TRUE(d2);
    moved = std::move(*d2);
    std::fill(copy.begin(), copy.end(), 'X');
  }
  expect_matches(moved, in);
  EXPECT_EQ(moved.offset_of(moved.records[3]), 3);
  EXPECT_EQ(moved.timestamp_of(moved.records[3]), 1700000000000 + 15);
}

TEST_P(codec_round_trip, decompression_bomb_rejected) {
  batch_builder_input in;
  in.codec = GetParam();
  record_input r;
  r.value = std::string(4u << 20, '\0');  // 4 MiB of zeros compresses to almost nothing
  in.records.push_back(r);
  const std::string b = encode_batch(in);
  auto d = decode_batch(span_of(b), 1u << 20);
  if (GetParam() == compression::none) {
    // Uncompressed data is bounded by the frame itself: no bomb possible, it decodes.
    EXPECT_TRUE(d);
    return;
  }
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error(), make_error_code(errc::too_large));
  auto v = validate_produce_batch(span_of(b), 1u << 20);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error(), make_error_code(errc::too_large));
  auto ok = decode_batch(span_of(b), 8u << 20);
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->records[0].value->size(), 4u << 20);
  // A record far larger than the validator's first window grows it and is accepted.
  auto produced = validate_produce_batch(span_of(b), 8u << 20);
  EXPECT_TRUE(produced) << produced.error().message();
}

TEST_P(codec_round_trip, produce_validation_streams_many_chunks) {
  // 4 MiB of records in 3 KiB values: many reads from the decompressor, records straddling them.
  auto in = sample_input(GetParam(), 0);
  for (int i = 0; i < 1400; ++i) {
    record_input r;
    r.timestamp_delta = i % 17;
    r.value = std::string(3000, static_cast<char>('a' + i % 26)) + std::to_string(i);
    in.records.push_back(std::move(r));
  }
  const std::string b = encode_batch(in);
  auto v = validate_produce_batch(span_of(b), 8u << 20);
  ASSERT_TRUE(v) << v.error().message();
  EXPECT_EQ(v->record_count, 1400);
  auto d = decode_batch(span_of(b), 8u << 20);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->records.size(), 1400u);
  // The same batch over a smaller bound: refused by both.
  EXPECT_EQ(
      validate_produce_batch(span_of(b), 1u << 20).error() == make_error_code(errc::too_large),
      GetParam() != compression::none);
}

TEST_P(codec_round_trip, every_prefix_and_corruption_fails_cleanly) {
  const std::string b = encode_batch(sample_input(GetParam(), 4));
  for (size_t n = 0; n < b.size(); ++n) {
    EXPECT_FALSE(validate_batch(span_of(b).first(n))) << n;
    EXPECT_FALSE(validate_produce_batch(span_of(b).first(n))) << n;
    EXPECT_FALSE(decode_batch(span_of(b).first(n))) << n;
  }
  // Any flipped byte inside the CRC-covered region is caught by the CRC.
  for (size_t i = batch_attributes_offset; i < b.size(); i += 7) {
    std::string c = b;
    c[i] ^= 0x40;
    auto v = validate_batch(span_of(c));
    ASSERT_FALSE(v) << i;
    EXPECT_EQ(v.error(), make_error_code(errc::bad_crc));
  }
  // With the CRC recomputed, corrupt payloads still fail cleanly (or decode to something).
  std::mt19937 rng(3);
  for (int i = 0; i < 300; ++i) {
    std::string c = b;
    const size_t at = batch_header_size + rng() % (b.size() - batch_header_size);
    c[at] = static_cast<char>(rng());
    fix_crc(c);
    auto d = decode_batch(span_of(c), 1u << 20);  // must not crash or leak
    // What produce accepts, the mirror decodes.
    if (auto v = validate_produce_batch(span_of(c), 1u << 20)) {
      ASSERT_TRUE(d) << i;
      EXPECT_EQ(d->records.size(), static_cast<size_t>(v->record_count));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(all, codec_round_trip,
                         ::testing::Values(compression::none, compression::gzip,
                                           compression::snappy, compression::lz4,
                                           compression::zstd));

TEST(record_batch, header_fields_and_attributes) {
  auto in = sample_input(compression::lz4);
  in.base_offset = 1000;
  in.partition_leader_epoch = 7;
  in.transactional = true;
  in.ts_type = timestamp_type::log_append_time;
  in.max_timestamp = 123;
  const std::string b = encode_batch(in);
  auto h = parse_batch_header(span_of(b));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->base_offset, 1000);
  EXPECT_EQ(h->partition_leader_epoch, 7);
  EXPECT_EQ(h->magic, 2);
  EXPECT_TRUE(h->is_transactional());
  EXPECT_FALSE(h->is_control());
  EXPECT_EQ(h->ts_type(), timestamp_type::log_append_time);
  EXPECT_EQ(h->max_timestamp, 123);
  EXPECT_EQ(h->attributes, 3 | 0x8 | 0x10);
  EXPECT_EQ(h->last_offset(), 1002);
  auto d = decode_batch(span_of(b));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->timestamp_of(d->records[0]), 123);  // LogAppendTime: MaxTimestamp for all
}

TEST(record_batch, set_base_offset_keeps_crc) {
  std::string b = encode_batch(sample_input(compression::none));
  set_base_offset(mut_span(b), 0x0102030405060708);
  set_partition_leader_epoch(mut_span(b), 99);
  auto h = validate_batch(span_of(b));
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h->base_offset, 0x0102030405060708);
  EXPECT_EQ(h->partition_leader_epoch, 99);
  EXPECT_EQ(static_cast<uint8_t>(b[0]), 0x01);
  EXPECT_EQ(static_cast<uint8_t>(b[7]), 0x08);
}

TEST(record_batch, old_magic_rejected) {
  std::string b = encode_batch(sample_input(compression::none));
  for (int magic : {0, 1, 3}) {
    std::string c = b;
    c[16] = static_cast<char>(magic);
    auto v = validate_batch(span_of(c));
    ASSERT_FALSE(v);
    EXPECT_EQ(v.error(), make_error_code(errc::bad_magic));
    EXPECT_EQ(split_batches(span_of(c)).error(), make_error_code(errc::bad_magic));
  }
  // A v0 message set is shorter than a v2 header: still reported as bad magic.
  std::string v0(26, '\0');
  v0[11] = 14;
  v0[16] = 0;
  EXPECT_EQ(parse_batch_header(span_of(v0)).error(), make_error_code(errc::bad_magic));
}

TEST(record_batch, counts_must_agree) {
  const std::string b = encode_batch(sample_input(compression::none, 3));
  {
    std::string c = b;
    c[batch_header_size - 1] = 4;  // record_count 3 -> 4 (last byte of the i32)
    fix_crc(c);
    EXPECT_EQ(validate_batch(span_of(c)).error(), make_error_code(errc::count_mismatch));
  }
  {
    std::string c = b;
    c[batch_header_size - 1] = 2;
    c[26] = 1;  // last_offset_delta 2 -> 1 (byte 26 is its last byte)
    fix_crc(c);
    EXPECT_EQ(validate_batch(span_of(c)).error(), make_error_code(errc::count_mismatch));
  }
  {
    std::string c = b;
    c[26] = 5;  // last_offset_delta disagrees with record_count
    fix_crc(c);
    EXPECT_EQ(validate_batch(span_of(c)).error(), make_error_code(errc::count_mismatch));
  }
  {
    std::string c = b;
    c[batch_header_size - 4] = static_cast<char>(0x80);  // negative count
    fix_crc(c);
    EXPECT_EQ(validate_batch(span_of(c)).error(), make_error_code(errc::count_mismatch));
  }
  {
    std::string c = b;
    c[22] |= 0x07;  // compression 7
    fix_crc(c);
    EXPECT_EQ(validate_batch(span_of(c)).error(), make_error_code(errc::unsupported_compression));
  }
}

TEST(record_batch, empty_batch_is_valid) {
  batch_builder_input in;
  const std::string b = encode_batch(in);
  EXPECT_EQ(b.size(), batch_header_size);
  auto h = validate_batch(span_of(b));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->record_count, 0);
  auto d = decode_batch(span_of(b));
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->records.empty());
}

TEST(record_batch, length_must_match_span) {
  std::string b = encode_batch(sample_input(compression::none));
  std::string longer = b + "x";
  EXPECT_EQ(validate_batch(span_of(longer)).error(), make_error_code(errc::trailing_bytes));
  std::string c = b;
  c[11] = 10;  // BatchLength below the fixed header
  c[10] = 0;
  c[9] = 0;
  c[8] = 0;
  EXPECT_EQ(parse_batch_header(span_of(c)).error(), make_error_code(errc::invalid_length));
}

TEST(record_batch, split_batches_several_and_partial) {
  std::string a = encode_batch(sample_input(compression::none, 2));
  std::string b = encode_batch(sample_input(compression::zstd, 5));
  std::string c = encode_batch(sample_input(compression::gzip, 1));
  std::string all = a + b + c;
  auto s = split_batches(span_of(all));
  ASSERT_TRUE(s);
  ASSERT_EQ(s->size(), 3u);
  EXPECT_EQ((*s)[0].size(), a.size());
  EXPECT_EQ((*s)[1].size(), b.size());
  EXPECT_EQ((*s)[2].size(), c.size());
  for (auto part : *s) EXPECT_TRUE(validate_batch(part));
  EXPECT_EQ((*s)[1].data(), reinterpret_cast<const uint8_t*>(all.data()) + a.size());
  for (size_t cut = 1; cut < c.size(); cut += 5) {
    auto t = split_batches(span_of(all).first(all.size() - cut));
    ASSERT_FALSE(t) << cut;
  }
  auto e = split_batches({});
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->empty());
}

TEST(record_batch, uncompressed_record_framing_checked) {
  // One record whose inner length is one byte longer than its fields.
  batch_builder_input in;
  in.records.push_back({0, std::string("k"), std::string("v"), {}});
  std::string b = encode_batch(in);
  // The first record's length varint is right after the header.
  reader r(span_of(b).subspan(batch_header_size));
  const int32_t len = r.read_varint();
  ASSERT_GT(len, 0);
  std::string c = b;
  c[batch_header_size] = static_cast<char>((len - 1) << 1);  // zigzag, fits one byte here
  ASSERT_LT(len, 64);
  fix_crc(c);
  EXPECT_FALSE(validate_batch(span_of(c)));
  // Records not numbered 0..n-1 are refused on the produce path.
  std::string d = b;
  // attributes(1) + timestamp delta(1) then the offset delta varint.
  d[batch_header_size + 1 + 1 + 1] = 2;  // offset delta 1 instead of 0
  fix_crc(d);
  EXPECT_EQ(validate_batch(span_of(d)).error(), make_error_code(errc::invalid_value));
}

TEST(record_batch, snappy_xerial_framing_decoded) {
  // Java's snappy-java framing: magic, version 1, compatible 1, then [len][raw block] chunks.
  const auto in = sample_input(compression::none, 20);
  const std::string plain = encode_batch(in);
  const std::string records = plain.substr(batch_header_size);
  std::string framed("\x82SNAPPY\0\0\0\0\x01\0\0\0\x01", 16);
  // Two chunks, as snappy-java does for inputs above its block size.
  for (std::string_view part :
       {std::string_view(records).substr(0, 700), std::string_view(records).substr(700)}) {
    std::string block;
    snappy::Compress(part.data(), part.size(), &block);
    for (int i = 3; i >= 0; --i) framed.push_back(static_cast<char>(block.size() >> (8 * i)));
    framed += block;
  }
  std::string b = plain.substr(0, batch_header_size) + framed;
  // BatchLength and attributes (codec 2), then CRC.
  const int32_t blen = static_cast<int32_t>(b.size() - batch_log_overhead);
  for (int i = 0; i < 4; ++i) b[8 + i] = static_cast<char>(blen >> (24 - 8 * i));
  b[22] = static_cast<char>((b[22] & ~7) | 2);
  fix_crc(b);
  auto d = decode_batch(span_of(b));
  ASSERT_TRUE(d) << d.error().message();
  expect_matches(*d, in);
  auto v = validate_produce_batch(span_of(b));
  EXPECT_TRUE(v) << v.error().message();
  // A chunk length past the end fails.
  std::string bad = b;
  bad[batch_header_size + 16] = 0x7f;
  fix_crc(bad);
  EXPECT_EQ(decode_batch(span_of(bad)).error(), make_error_code(errc::decompression_failed));
}

}  // namespace
}  // namespace eb::net

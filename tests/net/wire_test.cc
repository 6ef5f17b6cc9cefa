#include "net/wire.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

namespace eb::net {
namespace {

std::vector<uint8_t> bytes(std::initializer_list<int> v) {
  std::vector<uint8_t> out;
  for (int b : v) out.push_back(static_cast<uint8_t>(b));
  return out;
}

TEST(wire, fixed_width_big_endian) {
  writer w;
  w.write_int8(-2);
  w.write_int16(0x0102);
  w.write_int32(-1);
  w.write_int64(0x0102030405060708);
  w.write_uint16(0xfffe);
  w.write_float64(1.5);
  w.write_bool(true);
  EXPECT_EQ(w.bytes().size(), 1u + 2 + 4 + 8 + 2 + 8 + 1);
  const auto b = w.bytes();
  EXPECT_EQ(b[0], 0xfe);
  EXPECT_EQ(b[1], 0x01);
  EXPECT_EQ(b[2], 0x02);
  EXPECT_EQ(b[7], 0x01);
  EXPECT_EQ(b[14], 0x08);
  // 1.5 = 0x3FF8000000000000
  EXPECT_EQ(b[17], 0x3f);
  EXPECT_EQ(b[18], 0xf8);
  reader r(w.bytes());
  EXPECT_EQ(r.read_int8(), -2);
  EXPECT_EQ(r.read_int16(), 0x0102);
  EXPECT_EQ(r.read_int32(), -1);
  EXPECT_EQ(r.read_int64(), 0x0102030405060708);
  EXPECT_EQ(r.read_uint16(), 0xfffe);
  EXPECT_EQ(r.read_float64(), 1.5);
  EXPECT_TRUE(r.read_bool());
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());
}

TEST(wire, truncated_read_is_sticky) {
  auto b = bytes({0, 0, 0});
  reader r(b);
  EXPECT_EQ(r.read_int32(), 0);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error(), make_error_code(errc::truncated));
  // Later reads keep failing without touching memory and keep the first error.
  EXPECT_EQ(r.read_int8(), 0);
  (void)r.read_string(false);
  EXPECT_EQ(r.error(), make_error_code(errc::truncated));
}

TEST(wire, unsigned_varint_known_encodings) {
  struct c {
    uint32_t v;
    std::vector<uint8_t> enc;
  } cases[] = {{0, {0}},
               {1, {1}},
               {127, {0x7f}},
               {128, {0x80, 0x01}},
               {300, {0xac, 0x02}},
               {16383, {0xff, 0x7f}},
               {16384, {0x80, 0x80, 0x01}},
               {UINT32_MAX, {0xff, 0xff, 0xff, 0xff, 0x0f}}};
  for (const auto& k : cases) {
    writer w;
    w.write_uvarint(k.v);
    EXPECT_EQ(std::vector<uint8_t>(w.bytes().begin(), w.bytes().end()), k.enc) << k.v;
    reader r(k.enc);
    EXPECT_EQ(r.read_uvarint(), k.v);
    EXPECT_TRUE(r.ok() && r.at_end());
  }
}

TEST(wire, zigzag_varint_known_encodings) {
  struct c {
    int64_t v;
    std::vector<uint8_t> enc;
  } cases[] = {{0, {0}},     {-1, {1}},     {1, {2}},       {-2, {3}},
               {63, {0x7e}}, {-64, {0x7f}}, {64, {0x80, 1}}};
  for (const auto& k : cases) {
    writer w;
    w.write_varint(static_cast<int32_t>(k.v));
    EXPECT_EQ(std::vector<uint8_t>(w.bytes().begin(), w.bytes().end()), k.enc) << k.v;
    writer wl;
    wl.write_varlong(k.v);
    EXPECT_EQ(std::vector<uint8_t>(wl.bytes().begin(), wl.bytes().end()), k.enc) << k.v;
    reader r(k.enc);
    EXPECT_EQ(r.read_varint(), k.v);
    reader rl(k.enc);
    EXPECT_EQ(rl.read_varlong(), k.v);
  }
  for (int64_t v : {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(),
                    int64_t{-1} << 40, (int64_t{1} << 40) + 3}) {
    writer w;
    w.write_varlong(v);
    reader r(w.bytes());
    EXPECT_EQ(r.read_varlong(), v);
    EXPECT_TRUE(r.ok() && r.at_end());
  }
  for (int32_t v : {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()}) {
    writer w;
    w.write_varint(v);
    EXPECT_EQ(w.size(), 5u);
    reader r(w.bytes());
    EXPECT_EQ(r.read_varint(), v);
  }
}

TEST(wire, overlong_varints_rejected) {
  // Six bytes for a 32-bit varint.
  auto a = bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x01});
  reader r(a);
  (void)r.read_uvarint();
  EXPECT_EQ(r.error(), make_error_code(errc::invalid_varint));
  // Five bytes but more than 32 bits.
  auto b = bytes({0xff, 0xff, 0xff, 0xff, 0x1f});
  reader r2(b);
  (void)r2.read_uvarint();
  EXPECT_EQ(r2.error(), make_error_code(errc::invalid_varint));
  // Eleven bytes for a 64-bit varint, and a 10th byte above 1.
  std::vector<uint8_t> c(10, 0x80);
  c.push_back(0);
  reader r3(c);
  (void)r3.read_uvarlong();
  EXPECT_EQ(r3.error(), make_error_code(errc::invalid_varint));
  std::vector<uint8_t> d(9, 0xff);
  d.push_back(0x02);
  reader r4(d);
  (void)r4.read_uvarlong();
  EXPECT_EQ(r4.error(), make_error_code(errc::invalid_varint));
  // Unterminated.
  auto e = bytes({0x80, 0x80});
  reader r5(e);
  (void)r5.read_uvarint();
  EXPECT_EQ(r5.error(), make_error_code(errc::truncated));
}

TEST(wire, strings_classic_and_compact) {
  writer w;
  w.write_string("abc", false);
  w.write_string("abc", true);
  w.write_nullable_string(std::nullopt, false);
  w.write_nullable_string(std::nullopt, true);
  w.write_nullable_string(std::string(), true);
  const auto expect = bytes({0, 3, 'a', 'b', 'c', 4, 'a', 'b', 'c', 0xff, 0xff, 0, 1});
  EXPECT_EQ(std::vector<uint8_t>(w.bytes().begin(), w.bytes().end()), expect);
  reader r(w.bytes());
  EXPECT_EQ(r.read_string(false), "abc");
  EXPECT_EQ(r.read_string(true), "abc");
  EXPECT_EQ(r.read_nullable_string(false), std::nullopt);
  EXPECT_EQ(r.read_nullable_string(true), std::nullopt);
  EXPECT_EQ(r.read_nullable_string(true), std::string());
  EXPECT_TRUE(r.ok() && r.at_end());
}

TEST(wire, null_where_not_allowed) {
  auto b = bytes({0xff, 0xff});
  reader r(b);
  (void)r.read_string(false);
  EXPECT_EQ(r.error(), make_error_code(errc::unexpected_null));
}

TEST(wire, lengths_never_trusted) {
  // String length larger than the buffer.
  auto a = bytes({0x00, 0x05, 'a'});
  reader r(a);
  (void)r.read_string(false);
  EXPECT_EQ(r.error(), make_error_code(errc::invalid_length));
  // Negative lengths other than -1.
  auto b = bytes({0xff, 0xfe});
  reader r2(b);
  (void)r2.read_nullable_string(false);
  EXPECT_EQ(r2.error(), make_error_code(errc::invalid_length));
  auto c = bytes({0x80, 0x00, 0x00, 0x00});
  reader r3(c);
  (void)r3.read_nullable_bytes(false);
  EXPECT_EQ(r3.error(), make_error_code(errc::invalid_length));
  // A huge compact length.
  auto d = bytes({0xff, 0xff, 0xff, 0xff, 0x0f, 'x'});
  reader r4(d);
  (void)r4.read_bytes(true);
  EXPECT_EQ(r4.error(), make_error_code(errc::invalid_length));
}

TEST(wire, array_count_bounded_by_remaining_bytes) {
  // 2^31-1 elements of int32 announced, 8 bytes present.
  auto a = bytes({0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0, 0, 0, 2});
  reader r(a);
  EXPECT_EQ(r.read_array_length(false, 4), 0);
  EXPECT_EQ(r.error(), make_error_code(errc::invalid_length));
  // Exactly enough.
  auto b = bytes({0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2});
  reader r2(b);
  EXPECT_EQ(r2.read_array_length(false, 4), 2);
  // One element too many for the bytes left.
  auto c = bytes({0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2});
  reader r3(c);
  EXPECT_EQ(r3.read_array_length(false, 4), 0);
  EXPECT_FALSE(r3.ok());
  // Compact: 0 is null, 1 is empty.
  auto d = bytes({0, 1});
  reader r4(d);
  EXPECT_EQ(r4.read_array_length(true, 1), -1);
  EXPECT_EQ(r4.read_array_length(true, 1), 0);
  EXPECT_TRUE(r4.ok());
}

TEST(wire, sub_reader_and_tagged_fields) {
  writer data;
  data.write_int32(7);
  writer w;
  w.write_uvarint(2);
  w.write_tagged(0, data);
  w.write_tagged(5, data);
  w.write_int8(9);
  reader r(w.bytes());
  r.skip_tagged_fields();
  EXPECT_EQ(r.read_int8(), 9);
  EXPECT_TRUE(r.ok() && r.at_end());
  // A tagged field whose size runs past the end.
  auto bad = bytes({1, 0, 10, 1, 2});
  reader r2(bad);
  r2.skip_tagged_fields();
  EXPECT_FALSE(r2.ok());
  reader r3(bad);
  auto s = r3.sub(10);
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(r3.ok());
}

TEST(wire, uuid_round_trip) {
  uuid u{};
  for (size_t i = 0; i < u.size(); ++i) u[i] = static_cast<uint8_t>(i * 17);
  writer w;
  w.write_uuid(u);
  reader r(w.bytes());
  EXPECT_EQ(r.read_uuid(), u);
  reader r2(w.bytes().first(15));
  EXPECT_EQ(r2.read_uuid(), uuid{});
  EXPECT_FALSE(r2.ok());
}

TEST(wire, oversized_classic_string_marks_writer) {
  writer w;
  w.write_string(std::string(40000, 'x'), false);
  EXPECT_FALSE(w.ok());
  writer c;
  c.write_string(std::string(40000, 'x'), true);
  EXPECT_TRUE(c.ok());
  reader r(c.bytes());
  EXPECT_EQ(r.read_string(true).size(), 40000u);
}

TEST(wire, frame_size_patch) {
  writer w;
  const size_t at = w.reserve_int32();
  w.write_int16(1);
  w.patch_int32(at, static_cast<int32_t>(w.size() - 4));
  reader r(w.bytes());
  EXPECT_EQ(r.read_int32(), 2);
}

}  // namespace
}  // namespace eb::net

#include "net/crc32c.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string_view>
#include <vector>

namespace eb::net {
namespace {

std::span<const uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Check values from RFC 3720 (iSCSI) appendix B.4 and the common "123456789" check.
TEST(crc32c, known_vectors) {
  std::vector<uint8_t> zeros(32, 0), ones(32, 0xff), inc(32), dec(32);
  for (int i = 0; i < 32; ++i) {
    inc[i] = static_cast<uint8_t>(i);
    dec[i] = static_cast<uint8_t>(31 - i);
  }
  EXPECT_EQ(crc32c(as_bytes("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c(zeros), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones), 0x62A8AB43u);
  EXPECT_EQ(crc32c(inc), 0x46DD794Eu);
  EXPECT_EQ(crc32c(dec), 0x113FDB5Cu);
  EXPECT_EQ(crc32c({}), 0u);
  EXPECT_EQ(crc32c_extend_table(0, as_bytes("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c_extend_table(0, inc), 0x46DD794Eu);
}

TEST(crc32c, hardware_matches_table_on_all_lengths_and_alignments) {
  if (!crc32c_hardware_available()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  std::mt19937 rng(42);
  std::vector<uint8_t> buf(4096 + 16);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  for (size_t off = 0; off < 9; ++off) {
    for (size_t len = 0; len < 300; ++len) {
      std::span<const uint8_t> s(buf.data() + off, len);
      ASSERT_EQ(crc32c_extend_hardware(0, s), crc32c_extend_table(0, s)) << off << " " << len;
    }
  }
  std::span<const uint8_t> all(buf.data(), 4096);
  EXPECT_EQ(crc32c_extend_hardware(0x12345678, all), crc32c_extend_table(0x12345678, all));
}

TEST(crc32c, extend_equals_whole) {
  std::string_view s = "The quick brown fox jumps over the lazy dog";
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    EXPECT_EQ(crc32c_extend(crc32c(as_bytes(s.substr(0, cut))), as_bytes(s.substr(cut))),
              crc32c(as_bytes(s)));
  }
  EXPECT_EQ(crc32c(as_bytes(s)), 0x22620404u);
}

}  // namespace
}  // namespace eb::net

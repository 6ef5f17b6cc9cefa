// Tests of net/frame.h: request headers and the response prefix.
#include "tests/net/server_fixture.h"

namespace eb::net {
namespace {

TEST(net_frame, parses_header_v1_with_client_id) {
  const auto f = make_request(3, 12, 0x01020304, "cli", {0xaa, 0xbb});
  const auto parsed = parse_request_header(std::span(f).subspan(4), 1);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->header.api_key, 3);
  EXPECT_EQ(parsed->header.api_version, 12);
  EXPECT_EQ(parsed->header.correlation_id, 0x01020304);
  EXPECT_EQ(parsed->header.client_id, "cli");
  EXPECT_EQ(parsed->body_offset, 8u + 2u + 3u);
}

TEST(net_frame, parses_null_client_id_and_v0) {
  const auto f = make_request(18, 3, 7, std::nullopt, {});
  auto parsed = parse_request_header(std::span(f).subspan(4), 1);
  ASSERT_TRUE(parsed);
  EXPECT_FALSE(parsed->header.client_id);
  EXPECT_EQ(parsed->body_offset, 10u);
  parsed = parse_request_header(std::span(f).subspan(4), 0);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->body_offset, 8u);
}

TEST(net_frame, v2_skips_tagged_fields) {
  // Two tagged fields: tag 0 size 2, tag 300 (varint ac 02) size 1.
  const bytes tags{0x02, 0x00, 0x02, 0x11, 0x22, 0xac, 0x02, 0x01, 0x33};
  const auto f = make_request(0, 9, 1, "c", {0x44}, 2, tags);
  const auto parsed = parse_request_header(std::span(f).subspan(4), 2);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(f[4 + parsed->body_offset], 0x44);
  EXPECT_EQ(parsed->body_offset, f.size() - 4 - 1);
}

TEST(net_frame, rejects_truncated_and_bad_headers) {
  auto frame_of = [](bytes f) { return bytes(f.begin() + 4, f.end()); };
  auto code = [](const bytes& f, int hv) { return parse_request_header(f, hv).error(); };
  bytes f = frame_of(make_request(0, 0, 1, "abc", {}));
  EXPECT_EQ(code(bytes(f.begin(), f.begin() + 7), 1), make_error_code(errc::truncated));
  EXPECT_EQ(code(bytes(f.begin(), f.begin() + 9), 1), make_error_code(errc::truncated));
  EXPECT_EQ(code(bytes(f.begin(), f.begin() + 12), 1), make_error_code(errc::truncated));
  bytes bad_len = f;
  bad_len[8] = 0xff;
  bad_len[9] = 0xfe;  // -2
  EXPECT_EQ(code(bad_len, 1), make_error_code(errc::invalid_length));
  // v2: a tag list that promises more than the frame holds.
  EXPECT_EQ(code(frame_of(make_request(0, 9, 1, "c", {}, 2, bytes{0x01, 0x00, 0x05, 0x00})), 2),
            make_error_code(errc::truncated));
  EXPECT_EQ(
      code(frame_of(make_request(0, 9, 1, "c", {}, 2, bytes{0xff, 0xff, 0xff, 0xff, 0xff})), 2),
      make_error_code(errc::invalid_varint));
  EXPECT_EQ(code(f, 3), make_error_code(errc::unsupported_version));
}

TEST(net_frame, response_prefix_golden_bytes) {
  auto v0 = encode_response_prefix(0x0a0b0c0d, 0, 3);
  ASSERT_TRUE(v0);
  const bytes want0{0, 0, 0, 7, 0x0a, 0x0b, 0x0c, 0x0d};
  EXPECT_EQ(bytes(v0->span().begin(), v0->span().end()), want0);
  auto v1 = encode_response_prefix(-1, 1, 0);
  ASSERT_TRUE(v1);
  const bytes want1{0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0x00};
  EXPECT_EQ(bytes(v1->span().begin(), v1->span().end()), want1);
  EXPECT_FALSE(encode_response_prefix(1, 2, 0));
  EXPECT_FALSE(encode_response_prefix(1, 0, size_t{1} << 31));
}

// ---- server ---------------------------------------------------------------------------------

}  // namespace
}  // namespace eb::net

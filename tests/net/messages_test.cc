// Generated message codecs: round trips of every message at every valid version with sample
// values, every proper prefix failing cleanly, garbage never crashing, header versions, and
// hand-derived golden bytes (independent of the generator) for a few messages.
#include "net/messages/messages.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "tests/net/message_samples.h"

namespace eb::net {
namespace {

std::vector<uint8_t> hex(std::string_view h) {
  std::vector<uint8_t> out;
  auto nib = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (size_t i = 0; i + 1 < h.size();) {
    if (h[i] == ' ') {
      ++i;
      continue;
    }
    out.push_back(static_cast<uint8_t>(nib(h[i]) * 16 + nib(h[i + 1])));
    i += 2;
  }
  return out;
}

template <class T>
std::vector<uint8_t> encode(const T& x, int16_t v) {
  writer w;
  x.encode(w, v);
  EXPECT_TRUE(w.ok());
  return w.take();
}

template <class T>
void round_trip_all_versions(bool prefixes) {
  for (int16_t v = T::min_version; v <= T::max_version; ++v) {
    // Defaults round-trip too.
    {
      T x;
      auto b = encode(x, v);
      reader r(b);
      auto d = T::decode(r, v);
      ASSERT_TRUE(d) << typeid(T).name() << " v" << v << " " << d.error().message();
      EXPECT_TRUE(r.at_end());
      EXPECT_EQ(*d, x) << typeid(T).name() << " v" << v;
    }
    for (int seed = 0; seed < 6; ++seed) {
      T x;
      msg::testing::fill(x, v, seed);
      ASSERT_TRUE(x.fits_version(v)) << typeid(T).name() << " v" << v;
      auto b = encode(x, v);
      reader r(b);
      auto d = T::decode(r, v);
      ASSERT_TRUE(d) << typeid(T).name() << " v" << v << " seed " << seed << " "
                     << d.error().message();
      EXPECT_TRUE(r.at_end()) << typeid(T).name() << " v" << v;
      ASSERT_EQ(*d, x) << typeid(T).name() << " v" << v << " seed " << seed;
      // Re-encoding the decoded value gives the same bytes.
      EXPECT_EQ(encode(*d, v), b);
      if (prefixes && seed == 1) {
        for (size_t n = 0; n < b.size(); ++n) {
          reader p(b.data(), n);
          auto e = T::decode(p, v);
          ASSERT_FALSE(e) << typeid(T).name() << " v" << v << " prefix " << n;
        }
      }
    }
  }
}

template <class Tuple, size_t... I>
void round_trip_tuple(bool prefixes, std::index_sequence<I...>) {
  (round_trip_all_versions<std::tuple_element_t<I, Tuple>>(prefixes), ...);
}

TEST(messages, requests_round_trip_every_version) {
  using T = msg::all_requests;
  round_trip_tuple<T>(true, std::make_index_sequence<std::tuple_size_v<T>>{});
}

TEST(messages, responses_round_trip_every_version) {
  using T = msg::all_responses;
  round_trip_tuple<T>(true, std::make_index_sequence<std::tuple_size_v<T>>{});
}

TEST(messages, headers_round_trip) {
  round_trip_all_versions<msg::request_header>(true);
  round_trip_all_versions<msg::response_header>(true);
}

template <class T>
void garbage_never_crashes(std::mt19937& rng) {
  std::vector<uint8_t> buf;
  for (int16_t v = T::min_version; v <= T::max_version; ++v) {
    for (int i = 0; i < 200; ++i) {
      buf.resize(rng() % 64);
      for (auto& b : buf) b = static_cast<uint8_t>(rng() % 4 == 0 ? 0xff : rng() % 8);
      reader r(buf);
      auto d = T::decode(r, v);
      if (d) {
        // Whatever decoded must encode and decode to the same value.
        writer w;
        d->encode(w, v);
        reader r2(w.bytes());
        auto d2 = T::decode(r2, v);
        ASSERT_TRUE(d2);
        EXPECT_EQ(*d2, *d);
      }
    }
  }
}

template <class Tuple, size_t... I>
void garbage_tuple(std::mt19937& rng, std::index_sequence<I...>) {
  (garbage_never_crashes<std::tuple_element_t<I, Tuple>>(rng), ...);
}

TEST(messages, random_bytes_fail_cleanly) {
  std::mt19937 rng(7);
  using Q = msg::all_requests;
  using S = msg::all_responses;
  garbage_tuple<Q>(rng, std::make_index_sequence<std::tuple_size_v<Q>>{});
  garbage_tuple<S>(rng, std::make_index_sequence<std::tuple_size_v<S>>{});
}

TEST(messages, api_metadata) {
  EXPECT_EQ(msg::produce_request::api, api_key::produce);
  EXPECT_EQ(msg::produce_request::min_version, 0);
  EXPECT_EQ(msg::produce_request::max_version, 11);
  EXPECT_EQ(msg::produce_request::first_flexible_version, 9);
  EXPECT_EQ(msg::sasl_handshake_request::first_flexible_version, -1);
  EXPECT_EQ(msg::describe_cluster_request::first_flexible_version, 0);
  EXPECT_EQ(all_apis().size(), 35u);
  // KIP-848's APIs, copied from kafka-clients 4.1.1 (commonStructs nested in the message).
  EXPECT_EQ(msg::consumer_group_heartbeat_request::max_version, 1);
  EXPECT_EQ(msg::consumer_group_describe_response::first_flexible_version, 0);
  ASSERT_NE(find_api(68), nullptr);
  EXPECT_EQ(find_api(68)->name, "ConsumerGroupHeartbeat");
  const api_info* f = find_api(1);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->name, "Fetch");
  EXPECT_EQ(f->max_version, 17);
  EXPECT_EQ(find_api(99), nullptr);
  EXPECT_EQ(find_api(-1), nullptr);
}

TEST(messages, header_versions) {
  // ApiVersions: request header follows flexibility, response header always v0 (KIP-511).
  EXPECT_EQ(request_header_version(18, 0), 1);
  EXPECT_EQ(request_header_version(18, 3), 2);
  EXPECT_EQ(request_header_version(18, 9), 2);  // newer than we know: still parseable
  EXPECT_EQ(response_header_version(18, 0), 0);
  EXPECT_EQ(response_header_version(18, 3), 0);
  EXPECT_EQ(response_header_version(18, 4), 0);
  EXPECT_EQ(request_header_version(0, 8), 1);
  EXPECT_EQ(request_header_version(0, 9), 2);
  EXPECT_EQ(response_header_version(0, 8), 0);
  EXPECT_EQ(response_header_version(0, 9), 1);
  EXPECT_EQ(response_header_version(3, 9), 1);
  EXPECT_EQ(response_header_version(17, 1), 0);  // SaslHandshake is never flexible
  EXPECT_EQ(request_header_version(60, 0), 2);   // DescribeCluster is flexible from v0
  EXPECT_EQ(request_header_version(1234, 0), -1);
  EXPECT_EQ(response_header_version(1234, 0), -1);
}

TEST(messages, fits_version_honours_ignorable) {
  msg::produce_request p;
  p.transactional_id = "tx";  // v3+, not ignorable
  EXPECT_FALSE(p.fits_version(2));
  EXPECT_TRUE(p.fits_version(3));
  msg::fetch_response f;
  f.throttle_time_ms = 5;  // v1+, ignorable
  EXPECT_TRUE(f.fits_version(0));
  f.session_id = 9;  // v7+, not ignorable
  EXPECT_FALSE(f.fits_version(6));
  EXPECT_TRUE(f.fits_version(7));
  // Nested: a non-ignorable nested field at a version lacking it.
  msg::fetch_response g;
  g.responses.emplace_back().partitions.emplace_back().preferred_read_replica = 3;  // v11+
  EXPECT_FALSE(g.fits_version(10));
  EXPECT_TRUE(g.fits_version(11));
}

// --- Regressions found by the fuzzer (tests/net/fuzz_request.cc) ---

// Decodes `b` as T at version v, then checks what the fuzz target checks: the encoding decodes
// again, completely, to the same value, and re-encodes to the same bytes.
template <class T>
void expect_stable_round_trip(const T& x, int16_t v) {
  const auto w1 = encode(x, v);
  reader r(w1);
  auto again = T::decode(r, v);
  ASSERT_TRUE(again) << typeid(T).name() << " v" << v << " " << again.error().message();
  EXPECT_TRUE(r.at_end());
  EXPECT_EQ(*again, x);
  EXPECT_EQ(encode(*again, v), w1);
}

std::vector<uint8_t> read_source_file(const std::filesystem::path& rel) {
  const char* src = std::getenv("EB_SOURCE_DIR");
  std::ifstream in(std::filesystem::path(src != nullptr ? src : ".") / rel, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The fuzzer's input: a DescribeConfigs v4 request (mode byte, header v2, body) whose resource
// has 29 configuration keys, 13 of them empty, followed by spare bytes. The generated decoder
// bounded the key count by bytes-left / 2 (the classic int16 string prefix) even in compact
// versions, where an empty string is 1 byte: the spare bytes let the first decode pass, but the
// re-encoded request (no spare bytes) was rejected as invalid_length.
TEST(fuzz_regression, describe_configs_v4_empty_keys_round_trip) {
  const auto input =
      read_source_file("tests/net/fuzz_corpus/regression_describe_configs_v4_empty_keys");
  ASSERT_EQ(input.size(), 231u) << "fuzz corpus file missing (EB_SOURCE_DIR unset?)";
  ASSERT_EQ(input[0] % 3, 0);  // request mode
  reader r(std::span<const uint8_t>(input).subspan(1));
  auto h = msg::request_header::decode(r, 2);
  ASSERT_TRUE(h) << h.error().message();
  ASSERT_EQ(h->request_api_key, static_cast<int16_t>(api_key::describe_configs));
  ASSERT_EQ(h->request_api_version, 4);
  ASSERT_EQ(request_header_version(h->request_api_key, h->request_api_version), 2);
  expect_stable_round_trip(*h, 2);
  auto d = msg::describe_configs_request::decode(r, 4);
  ASSERT_TRUE(d) << d.error().message();
  ASSERT_EQ(d->resources.size(), 1u);
  ASSERT_TRUE(d->resources[0].configuration_keys);
  const auto& keys = *d->resources[0].configuration_keys;
  EXPECT_EQ(keys.size(), 29u);
  EXPECT_EQ(std::count(keys.begin(), keys.end(), std::string()), 13);
  expect_stable_round_trip(*d, 4);
}

// The same bug, hand-built: a compact array of empty strings takes 1 byte per element, so ten
// of them with nothing after but the struct's and message's trailers must decode.
TEST(fuzz_regression, compact_array_of_empty_strings_decodes) {
  msg::describe_configs_request q;
  auto& res = q.resources.emplace_back();
  res.resource_type = 2;
  res.resource_name = "t";
  res.configuration_keys.emplace(10, std::string());
  // From the spec: resources count+1, type, name len+1 "t", keys count+1, ten empty keys (len+1
  // = 01), resource tags; IncludeSynonyms, IncludeDocumentation, message tags.
  EXPECT_EQ(encode(q, 4), hex("02 02 02 74 0b 01010101010101010101 00 00 00 00"));
  expect_stable_round_trip(q, 4);
  // Classic versions keep the tighter bound: an int16 string prefix is 2 bytes, so a count of
  // ten with fewer than 20 bytes left is rejected before anything is allocated.
  expect_stable_round_trip(q, 3);
  const auto classic = hex("00000001 02 0001 74 0000000a 0000 0000 0000 0000 0000 0000 0000 00");
  reader r(classic);
  auto bad = msg::describe_configs_request::decode(r, 3);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), make_error_code(errc::invalid_length));
}

// --- Hand-derived golden bytes (from the JSON specs, not from our generator) ---

TEST(golden_hand, request_header_v1_and_v2) {
  msg::request_header h;
  h.request_api_key = 18;
  h.request_api_version = 3;
  h.correlation_id = 1;
  h.client_id = "ab";
  // v2: ClientId keeps its int16 length even though the header is flexible; then tagged fields.
  EXPECT_EQ(encode(h, 2), hex("0012 0003 00000001 0002 6162 00"));
  EXPECT_EQ(encode(h, 1), hex("0012 0003 00000001 0002 6162"));
  h.client_id.reset();
  EXPECT_EQ(encode(h, 1), hex("0012 0003 00000001 ffff"));
  EXPECT_EQ(encode(h, 0), hex("0012 0003 00000001"));
}

TEST(golden_hand, api_versions_v3_request) {
  msg::api_versions_request q;
  q.client_software_name = "k";
  q.client_software_version = "1.0";
  EXPECT_EQ(encode(q, 3), hex("02 6b 04 312e30 00"));
  EXPECT_EQ(encode(q, 0), hex(""));
  auto b = hex("02 6b 04 312e30 01 07 02 ab cd");  // one unknown tag (7): skipped
  reader r(b);
  auto d = msg::api_versions_request::decode(r, 3);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->client_software_name, "k");
  EXPECT_TRUE(r.at_end());
}

TEST(golden_hand, api_versions_v3_response_tagged_fields) {
  msg::api_versions_response s;
  s.error_code = 0;
  s.api_keys.push_back({18, 0, 4});
  s.throttle_time_ms = 0;
  // error, compact array(1 elem)=02, {key, min, max, tags}, throttle, tags=0
  EXPECT_EQ(encode(s, 3), hex("0000 02 0012 0000 0004 00 00000000 00"));
  EXPECT_EQ(encode(s, 0), hex("0000 00000001 0012 0000 0004"));
  s.finalized_features_epoch = 7;  // tag 1, int64
  EXPECT_EQ(encode(s, 3), hex("0000 02 0012 0000 0004 00 00000000 01 01 08 0000000000000007"));
  const auto bytes = encode(s, 3);
  reader r(bytes);
  auto d = msg::api_versions_response::decode(r, 3);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->finalized_features_epoch, 7);
}

TEST(golden_hand, metadata_v1_request_null_vs_empty) {
  msg::metadata_request q;
  q.topics.reset();  // v1+: null = all topics
  EXPECT_EQ(encode(q, 1), hex("ffffffff"));
  q.topics.emplace();
  EXPECT_EQ(encode(q, 1), hex("00000000"));
  q.topics->push_back({});
  q.topics->back().name = "t";
  EXPECT_EQ(encode(q, 1), hex("00000001 0001 74"));
  // v0 cannot carry null: decoding a null array at v0 fails.
  auto b = hex("ffffffff");
  reader r(b);
  EXPECT_FALSE(msg::metadata_request::decode(r, 0));
  reader r1(b);
  auto d = msg::metadata_request::decode(r1, 1);
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->topics.has_value());
}

TEST(golden_hand, produce_v3_and_v9_request) {
  msg::produce_request q;
  q.transactional_id.reset();
  q.acks = -1;
  q.timeout_ms = 30000;
  auto& t = q.topic_data.emplace_back();
  t.name = "t";
  auto& p = t.partition_data.emplace_back();
  p.index = 0;
  p.records = std::string("\x01\x02", 2);
  EXPECT_EQ(encode(q, 3),
            hex("ffff ffff 00007530 00000001 0001 74 00000001 00000000 00000002 0102"));
  EXPECT_EQ(encode(q, 9), hex("00 ffff 00007530 02 02 74 02 00000000 03 0102 00 00 00"));
}

TEST(golden_hand, find_coordinator_v0_and_v3) {
  msg::find_coordinator_request q;
  q.key = "g";
  EXPECT_EQ(encode(q, 0), hex("0001 67"));
  q.key_type = 0;
  EXPECT_EQ(encode(q, 3), hex("02 67 00 00"));
  msg::find_coordinator_response s;
  s.node_id = 1;
  s.host = "h";
  s.port = 9092;
  s.error_message.reset();
  EXPECT_EQ(encode(s, 0), hex("0000 00000001 0001 68 00002384"));
  EXPECT_EQ(encode(s, 3), hex("00000000 0000 00 00000001 02 68 00002384 00"));
}

TEST(golden_hand, init_producer_id_v0_and_v4_response) {
  msg::init_producer_id_response s;
  s.producer_id = 5;
  s.producer_epoch = 0;
  EXPECT_EQ(encode(s, 0), hex("00000000 0000 0000000000000005 0000"));
  EXPECT_EQ(encode(s, 4), hex("00000000 0000 0000000000000005 0000 00"));
}

}  // namespace
}  // namespace eb::net

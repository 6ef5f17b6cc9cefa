// Golden frames captured from REAL clients (kcat/librdkafka 2.0.2, the Java client 3.9.1) and the
// REAL Apache Kafka 3.9.1 broker by tests/net/capture/capture_golden.sh. Every frame must decode
// with our generated codecs, consume every byte, and re-encode to the identical bytes; every
// proper prefix must fail cleanly; the record batches inside must validate and decode to what the
// clients sent.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "net/messages/messages.h"
#include "net/record_batch.h"

namespace eb::net {
namespace {

namespace fs = std::filesystem;

fs::path golden_dir() {
  const char* src = std::getenv("EB_SOURCE_DIR");
  return fs::path(src != nullptr ? src : ".") / "tests" / "net" / "golden";
}

std::vector<uint8_t> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string snake(std::string_view camel) {
  std::string out;
  for (char c : camel) {
    if (std::isupper(static_cast<unsigned char>(c))) {
      if (!out.empty()) out.push_back('_');
      out.push_back(static_cast<char>(std::tolower(c)));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

struct frame_file {
  fs::path path;
  std::string client;
  std::string api;
  int16_t key = -1;
  int16_t version = -1;
  bool request = false;
  std::string codec;  // produce requests saved per codec
};

std::vector<frame_file> golden_files() {
  std::vector<frame_file> out;
  const std::regex re(R"(([a-z_]+)_v(\d+)(?:_([a-z0-9]+))?_(request|response)\.bin)");
  for (const auto& e : fs::recursive_directory_iterator(golden_dir())) {
    if (!e.is_regular_file()) continue;
    std::smatch m;
    const std::string name = e.path().filename().string();
    if (!std::regex_match(name, m, re)) continue;
    frame_file f;
    f.path = e.path();
    f.client = e.path().parent_path().filename().string();
    f.api = m[1];
    f.version = static_cast<int16_t>(std::stoi(m[2]));
    f.codec = m[3];
    f.request = m[4] == "request";
    for (const auto& a : all_apis()) {
      if (snake(a.name) == f.api) f.key = static_cast<int16_t>(a.key);
    }
    out.push_back(f);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  return out;
}

// Decodes body bytes as the request or response type of `key` and re-encodes them.
// Returns the error, or the re-encoded bytes.
template <class Tuple, size_t I = 0>
result<std::vector<uint8_t>> round_trip_body(int16_t key, int16_t version, reader& r) {
  if constexpr (I == std::tuple_size_v<Tuple>) {
    return make_error_code(errc::unknown_api_key);
  } else {
    using T = std::tuple_element_t<I, Tuple>;
    if (static_cast<int16_t>(T::api) != key) return round_trip_body<Tuple, I + 1>(key, version, r);
    if (version < T::min_version || version > T::max_version) {
      return make_error_code(errc::unsupported_version);
    }
    auto d = T::decode(r, version);
    if (!d) return d.error();
    writer w;
    d->encode(w, version);
    return w.take();
  }
}

// Full frame (header + body) round trip; returns re-encoded bytes or the error.
result<std::vector<uint8_t>> round_trip_frame(const frame_file& f, std::span<const uint8_t> b) {
  reader r(b);
  writer w;
  if (f.request) {
    const int16_t hv = request_header_version(f.key, f.version);
    auto h = msg::request_header::decode(r, hv);
    if (!h) return h.error();
    if (h->request_api_key != f.key || h->request_api_version != f.version) {
      return make_error_code(errc::invalid_value);
    }
    h->encode(w, hv);
    auto body = round_trip_body<msg::all_requests>(f.key, f.version, r);
    if (!body) return body.error();
    if (!r.at_end()) return make_error_code(errc::trailing_bytes);
    w.write_raw(*body);
  } else {
    const int16_t hv = response_header_version(f.key, f.version);
    auto h = msg::response_header::decode(r, hv);
    if (!h) return h.error();
    h->encode(w, hv);
    auto body = round_trip_body<msg::all_responses>(f.key, f.version, r);
    if (!body) return body.error();
    if (!r.at_end()) return make_error_code(errc::trailing_bytes);
    w.write_raw(*body);
  }
  return w.take();
}

TEST(golden, every_captured_frame_round_trips_byte_exact) {
  const auto files = golden_files();
  ASSERT_GT(files.size(), 100u) << "golden frames missing under " << golden_dir();
  for (const auto& f : files) {
    SCOPED_TRACE(f.path.string());
    ASSERT_GE(f.key, 0);
    const auto b = read_file(f.path);
    auto out = round_trip_frame(f, b);
    ASSERT_TRUE(out) << out.error().message();
    EXPECT_EQ(*out, b);
  }
}

TEST(golden, every_prefix_of_every_frame_fails_cleanly) {
  for (const auto& f : golden_files()) {
    SCOPED_TRACE(f.path.string());
    const auto b = read_file(f.path);
    for (size_t n = 0; n < b.size(); ++n) {
      auto out = round_trip_frame(f, std::span<const uint8_t>(b).first(n));
      ASSERT_FALSE(out) << "prefix " << n << " of " << b.size();
    }
  }
}

TEST(golden, required_versions_are_covered) {
  std::set<std::pair<std::string, int>> have;
  for (const auto& f : golden_files()) {
    if (f.codec.empty()) have.insert({f.api + (f.request ? "_req" : "_resp"), f.version});
  }
  const std::map<std::string, std::vector<int>> need = {
      {"api_versions", {0, 3}},     {"metadata", {1, 9, 12}},     {"produce", {3, 7, 9}},
      {"init_producer_id", {0, 4}}, {"fetch", {4, 11, 12}},       {"join_group", {0, 6}},
      {"offset_commit", {2, 8}},    {"find_coordinator", {0, 3}},
  };
  for (const auto& [api, versions] : need) {
    for (int v : versions) {
      EXPECT_TRUE(have.count({api + "_req", v})) << api << " v" << v << " request";
      EXPECT_TRUE(have.count({api + "_resp", v})) << api << " v" << v << " response";
    }
  }
}

struct batch_stats {
  int batches = 0;
  int records = 0;
};

// Checks the records the capture script's producers send: key<i> / value-<i>-<...codec>.
void check_batches(std::string_view records, std::string_view codec, const std::string& what,
                   batch_stats& st, bool allow_partial_tail) {
  std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(records.data()), records.size());
  auto parts = split_batches(bytes);
  if (!parts && allow_partial_tail) {
    // A fetch response may end in a partial batch (the broker cuts at max_bytes): keep the whole.
    std::vector<std::span<const uint8_t>> whole;
    size_t pos = 0;
    while (pos < bytes.size()) {
      auto h = parse_batch_header(bytes.subspan(pos));
      if (!h || h->total_size() > bytes.size() - pos) break;
      whole.push_back(bytes.subspan(pos, h->total_size()));
      pos += h->total_size();
    }
    parts = whole;
  }
  ASSERT_TRUE(parts) << what << ": " << parts.error().message();
  for (auto b : *parts) {
    auto v = validate_batch(b);
    ASSERT_TRUE(v) << what << ": " << v.error().message();
    auto d = decode_batch(b);
    ASSERT_TRUE(d) << what << ": " << d.error().message();
    if (v->is_control()) continue;  // consumer offsets / transaction markers carry no user data
    ++st.batches;
    if (!codec.empty()) {
      EXPECT_EQ(static_cast<int>(d->header.codec()), codec == "none"     ? 0
                                                     : codec == "gzip"   ? 1
                                                     : codec == "snappy" ? 2
                                                     : codec == "lz4"    ? 3
                                                                         : 4)
          << what;
    }
    for (const auto& r : d->records) {
      ++st.records;
      ASSERT_TRUE(r.key && r.value) << what;
      ASSERT_EQ(r.key->substr(0, 3), "key") << what;
      const std::string i(r.key->substr(3));
      EXPECT_EQ(r.value->substr(0, 7 + i.size()), "value-" + i + "-") << what;
      if (!codec.empty()) {
        EXPECT_TRUE(r.value->ends_with(codec)) << what << " " << *r.value;
      }
    }
  }
}

TEST(golden, produce_batches_from_real_clients_decode_for_every_codec) {
  std::map<std::string, int> per_codec;
  bool java_xerial = false;
  for (const auto& f : golden_files()) {
    if (f.api != "produce" || !f.request || f.codec.empty()) continue;
    SCOPED_TRACE(f.path.string());
    const auto b = read_file(f.path);
    reader r(b);
    auto h = msg::request_header::decode(r, request_header_version(0, f.version));
    ASSERT_TRUE(h);
    auto p = msg::produce_request::decode(r, f.version);
    ASSERT_TRUE(p);
    batch_stats st;
    for (const auto& t : p->topic_data) {
      for (const auto& pd : t.partition_data) {
        ASSERT_TRUE(pd.records);
        check_batches(*pd.records, f.codec, f.path.string(), st, false);
        if (f.client == "java" && f.codec == "snappy") {
          // Java's snappy is the xerial framing: make sure this test really covers it.
          java_xerial = pd.records->substr(batch_header_size, 8) == std::string("\x82SNAPPY\0", 8);
        }
      }
    }
    EXPECT_GE(st.records, 1);
    per_codec[f.client + "/" + f.codec] += st.records;
  }
  for (const char* k : {"librdkafka/none", "librdkafka/gzip", "librdkafka/snappy", "librdkafka/lz4",
                        "librdkafka/zstd", "java/none", "java/gzip", "java/snappy", "java/lz4",
                        "java/zstd", "librdkafka-old/gzip"}) {
    EXPECT_GE(per_codec[k], 1) << k;
  }
  EXPECT_TRUE(java_xerial);
}

TEST(golden, fetch_responses_carry_decodable_batches) {
  int with_records = 0;
  for (const auto& f : golden_files()) {
    if (f.api != "fetch" || f.request) continue;
    SCOPED_TRACE(f.path.string());
    const auto b = read_file(f.path);
    reader r(b);
    auto h = msg::response_header::decode(r, response_header_version(1, f.version));
    ASSERT_TRUE(h);
    auto resp = msg::fetch_response::decode(r, f.version);
    ASSERT_TRUE(resp);
    batch_stats st;
    for (const auto& t : resp->responses) {
      for (const auto& p : t.partitions) {
        EXPECT_EQ(p.error_code, 0);
        if (p.records && !p.records->empty()) {
          check_batches(*p.records, "", f.path.string(), st, true);
        }
      }
    }
    if (st.records > 0) ++with_records;
  }
  EXPECT_GE(with_records, 3);
}

TEST(golden, broker_api_versions_response_content) {
  for (const auto& f : golden_files()) {
    if (f.api != "api_versions" || f.request) continue;
    SCOPED_TRACE(f.path.string());
    const auto b = read_file(f.path);
    reader r(b);
    auto h = msg::response_header::decode(r, 0);  // always v0 (KIP-511)
    ASSERT_TRUE(h);
    auto resp = msg::api_versions_response::decode(r, f.version);
    ASSERT_TRUE(resp);
    EXPECT_EQ(resp->error_code, 0);
    bool saw = false;
    for (const auto& a : resp->api_keys) {
      if (a.api_key == 18) {
        saw = true;
        EXPECT_EQ(a.min_version, 0);
        EXPECT_EQ(a.max_version, 4);  // Kafka 3.9.1
      }
    }
    EXPECT_TRUE(saw);
  }
}

}  // namespace
}  // namespace eb::net

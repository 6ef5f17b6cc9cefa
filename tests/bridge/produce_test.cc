// The Kafka front end in process: real server, router, handlers and RocksDB storage, driven over a
// real socket with exactly the bytes each test chooses.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

#include "bridge/app.h"
#include "bridge/handlers/api_versions.h"
#include "net/crc32c.h"
#include "net/messages/messages.h"
#include "net/record_batch.h"
#include "storage/storage.h"
#include "tests/bridge/kafka_client.h"

namespace {

using eb::test::wire_client;
namespace msg = eb::net::msg;
using error_code = eb::net::error_code;

class BridgeTest : public ::testing::Test {
 protected:
  void SetUp() override { start(true); }
  void TearDown() override {
    stop();
    std::filesystem::remove_all(_dir);
  }

  void start(bool auto_create) {
    _dir = std::filesystem::temp_directory_path() /
           ("eb-bridge-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    _cfg.storage.data_dir = _dir;
    _cfg.topics.auto_create = auto_create;
    _cfg.server.host = "127.0.0.1";
    _cfg.server.port = 0;
    _cfg.http.port = 0;
    _cfg.server.io_threads = 2;
    _cfg.server.max_request_bytes = 1 << 20;
    _cfg.advertised_host = "edge.example";
    _cfg.advertised_port = 19092;
    auto app = eb::bridge::app::start(_cfg);
    ASSERT_TRUE(app) << app.error().message();
    _app = std::move(*app);
  }
  void stop() { _app.reset(); }

  uint16_t port() const { return _app->port(); }
  eb::storage::log_store& store() { return _app->store(); }

  static std::string batch(int records, int64_t producer_id = -1, int16_t epoch = -1,
                           int32_t sequence = -1) {
    eb::net::batch_builder_input b;
    b.producer_id = producer_id;
    b.producer_epoch = epoch;
    b.base_sequence = sequence;
    b.base_timestamp = 1'700'000'000'000;
    for (int i = 0; i < records; ++i) {
      b.records.push_back({.timestamp_delta = i,
                           .key = "key-" + std::to_string(i),
                           .value = "value-" + std::to_string(i),
                           .headers = {{"h", std::string("v")}}});
    }
    return eb::net::encode_batch(b);
  }

  static msg::produce_request produce(const std::string& topic, std::optional<std::string> records,
                                      int16_t acks = -1, int32_t partition = 0) {
    msg::produce_request req;
    req.acks = acks;
    req.timeout_ms = 5000;
    auto& t = req.topic_data.emplace_back();
    t.name = topic;
    auto& p = t.partition_data.emplace_back();
    p.index = partition;
    p.records = std::move(records);
    return req;
  }

  static const msg::produce_response::topic_produce_response::partition_produce_response&
  only_partition(const msg::produce_response& r) {
    EXPECT_EQ(r.responses.size(), 1u);
    EXPECT_EQ(r.responses.at(0).partition_responses.size(), 1u);
    return r.responses.at(0).partition_responses.at(0);
  }

  int64_t high_watermark(const std::string& topic) {
    auto o = store().offsets(topic, 0);
    return o ? o->high_watermark : -1;
  }

  std::filesystem::path _dir;
  eb::config::bridge_config _cfg;
  std::unique_ptr<eb::bridge::app> _app;
};

TEST_F(BridgeTest, ApiVersionsListsTheHandlerTable) {
  wire_client c(port());
  for (int16_t v : {0, 1, 2, 3, 4}) {
    c.send(msg::api_versions_request{}, v, 100 + v);
    auto resp = c.receive<msg::api_versions_response>(v, 100 + v);
    EXPECT_EQ(resp.error_code, 0);
    auto supported = eb::bridge::supported_apis();
    ASSERT_EQ(resp.api_keys.size(), supported.size());
    bool has_produce_from_0 = false;
    for (auto& k : resp.api_keys) {
      if (k.api_key == 0) has_produce_from_0 = k.min_version == 0 && k.max_version >= 7;
    }
    EXPECT_TRUE(has_produce_from_0);
  }
}

TEST_F(BridgeTest, TooNewApiVersionsGetsTheKip511Answer) {
  wire_client c(port());
  // v7 of a request we cannot parse: the body is garbage to us.
  eb::net::writer w;
  w.write_int32(0);
  w.write_int16(18);
  w.write_int16(7);
  w.write_int32(42);
  w.write_nullable_string(std::string("future-client"), false);
  w.write_uvarint(0);
  w.write_raw(std::string_view("\x05\x01\x02\x03", 4));
  auto bytes = w.take();
  uint32_t size = htonl(uint32_t(bytes.size() - 4));
  std::memcpy(bytes.data(), &size, 4);
  c.send_raw(bytes);
  auto resp = c.receive<msg::api_versions_response>(0, 42);
  EXPECT_EQ(resp.error_code, int16_t(error_code::unsupported_version));
  ASSERT_EQ(resp.api_keys.size(), 1u);
  EXPECT_EQ(resp.api_keys[0].api_key, 18);
  EXPECT_EQ(resp.api_keys[0].max_version, 4);
}

TEST_F(BridgeTest, MetadataAutoCreatesAndAdvertises) {
  wire_client c(port());
  msg::metadata_request req;
  req.topics.emplace().emplace_back().name = "sensors";
  c.send(req, 9, 1);
  auto resp = c.receive<msg::metadata_response>(9, 1);
  ASSERT_EQ(resp.brokers.size(), 1u);
  EXPECT_EQ(resp.brokers[0].host, "edge.example");
  EXPECT_EQ(resp.brokers[0].port, 19092);
  EXPECT_EQ(resp.controller_id, resp.brokers[0].node_id);
  ASSERT_EQ(resp.topics.size(), 1u);
  EXPECT_EQ(resp.topics[0].error_code, 0);
  ASSERT_EQ(resp.topics[0].partitions.size(), 1u);
  EXPECT_EQ(resp.topics[0].partitions[0].leader_id, resp.brokers[0].node_id);
  EXPECT_TRUE(store().find_topic("sensors"));

  // v1+: null lists every topic; v0: an empty list does.
  msg::metadata_request every;
  every.topics = std::nullopt;
  c.send(every, 1, 2);
  auto all = c.receive<msg::metadata_response>(1, 2);
  ASSERT_EQ(all.topics.size(), 1u);
  msg::metadata_request v0;
  v0.topics.emplace();
  c.send(v0, 0, 3);
  EXPECT_EQ(c.receive<msg::metadata_response>(0, 3).topics.size(), 1u);
}

TEST_F(BridgeTest, MetadataRejectsInvalidTopicNames) {
  wire_client c(port());
  msg::metadata_request req;
  req.topics.emplace().emplace_back().name = "bad/name";
  c.send(req, 4, 1);
  auto resp = c.receive<msg::metadata_response>(4, 1);
  ASSERT_EQ(resp.topics.size(), 1u);
  EXPECT_EQ(resp.topics[0].error_code, int16_t(error_code::invalid_topic_exception));
}

TEST_F(BridgeTest, ProduceStoresAndAssignsOffsets) {
  wire_client c(port());
  for (int i = 0; i < 3; ++i) {
    c.send(produce("events", batch(10)), 7, i);
    auto p_resp = c.receive<msg::produce_response>(7, i);
    auto& p = only_partition(p_resp);
    EXPECT_EQ(p.error_code, 0);
    EXPECT_EQ(p.base_offset, i * 10);
  }
  EXPECT_EQ(high_watermark("events"), 30);
  auto read = store().read("events", 0, 15, 1 << 20);
  ASSERT_TRUE(read);
  ASSERT_FALSE(read->empty());
  EXPECT_EQ(read->front().base_offset, 10);
  auto decoded = eb::net::decode_batch(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(read->front().bytes.data()), read->front().bytes.size()));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->header.base_offset, 10);
  ASSERT_EQ(decoded->records.size(), 10u);
  EXPECT_EQ(decoded->records[3].key, "key-3");
}

TEST_F(BridgeTest, ProduceFlexibleVersionAndAcksZero) {
  wire_client c(port());
  c.send(produce("events", batch(1), 0), 9, 1);  // acks=0: no response at all
  c.send(produce("events", batch(1), 1), 9, 2);
  auto p_resp = c.receive<msg::produce_response>(9, 2);
  auto& p = only_partition(p_resp);
  EXPECT_EQ(p.error_code, 0);
  EXPECT_EQ(p.base_offset, 1);
}

TEST_F(BridgeTest, WrongCrcIsCorruptAndNothingIsStored) {
  wire_client c(port());
  auto b = batch(5);
  b[b.size() - 1] ^= 0x5a;  // a payload byte: covered by the CRC
  c.send(produce("events", b), 7, 1);
  EXPECT_EQ(only_partition(c.receive<msg::produce_response>(7, 1)).error_code,
            int16_t(error_code::corrupt_message));
  // The connection and the topic stay usable.
  c.send(produce("events", batch(5)), 7, 2);
  auto ok_resp = c.receive<msg::produce_response>(7, 2);
  auto& ok = only_partition(ok_resp);
  EXPECT_EQ(ok.error_code, 0);
  EXPECT_EQ(ok.base_offset, 0);
}

TEST_F(BridgeTest, OldMagicIsRejected) {
  wire_client c(port());
  auto b = batch(1);
  b[16] = 1;  // magic
  c.send(produce("events", b), 7, 1);
  EXPECT_EQ(only_partition(c.receive<msg::produce_response>(7, 1)).error_code,
            int16_t(error_code::corrupt_message));
  EXPECT_EQ(high_watermark("events"), 0);
}

TEST_F(BridgeTest, CountsThatDoNotAddUpAreRejected) {
  wire_client c(port());
  auto b = batch(3);
  // LastOffsetDelta (bytes 23..26) claims 5 records while 3 are present; fix the CRC so only
  // the count is wrong.
  b[26] = 4;
  auto crc = eb::net::crc32c(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(b.data()) + 21, b.size() - 21));
  for (int i = 0; i < 4; ++i) b[17 + i] = char((crc >> (24 - 8 * i)) & 0xff);
  c.send(produce("events", b), 7, 1);
  auto code = only_partition(c.receive<msg::produce_response>(7, 1)).error_code;
  EXPECT_THAT(code, ::testing::AnyOf(int16_t(error_code::invalid_record),
                                     int16_t(error_code::corrupt_message)));
  EXPECT_EQ(high_watermark("events"), 0);
}

// Hostile batches: each has a valid CRC, so only looking inside the payload finds the problem.
// None may be stored (the mirror could not decode it and would stall on it).

// One record as a producer writes it, with the offset delta and timestamp delta chosen.
std::string record_bytes(int32_t offset_delta, int64_t timestamp_delta, std::string_view value) {
  eb::net::writer body;
  body.write_int8(0);
  body.write_varlong(timestamp_delta);
  body.write_varint(offset_delta);
  body.write_varint(-1);  // null key
  body.write_varint(static_cast<int32_t>(value.size()));
  body.write_raw(value);
  body.write_varint(0);  // no headers
  eb::net::writer w;
  w.write_varint(static_cast<int32_t>(body.size()));
  w.write_raw(body.bytes());
  return std::string(w.view());
}

constexpr int64_t k_base_ts = 1'700'000'000'000;

// A v2 batch around `payload` (already compressed with `codec`) with the header fields given and
// a correct CRC.
std::string crafted_batch(eb::net::compression codec, std::string_view payload, int32_t count,
                          int32_t last_offset_delta, int64_t max_timestamp) {
  eb::net::writer w;
  w.write_int64(0);
  w.write_int32(static_cast<int32_t>(eb::net::batch_header_size - 12 + payload.size()));
  w.write_int32(-1);
  w.write_int8(2);
  const size_t crc_at = w.reserve_int32();
  w.write_int16(static_cast<int16_t>(codec));
  w.write_int32(last_offset_delta);
  w.write_int64(k_base_ts);
  w.write_int64(max_timestamp);
  w.write_int64(-1);
  w.write_int16(-1);
  w.write_int32(-1);
  w.write_int32(count);
  w.write_raw(payload);
  w.patch_int32(crc_at, static_cast<int32_t>(eb::net::crc32c(w.bytes().subspan(21))));
  return std::string(w.view());
}

// `n` records with offset deltas 0..n-1 and timestamp deltas 0..n-1.
std::string good_records(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += record_bytes(i, i, "value-" + std::to_string(i));
  return out;
}

constexpr eb::net::compression k_codecs[] = {eb::net::compression::gzip,
                                             eb::net::compression::snappy,
                                             eb::net::compression::lz4, eb::net::compression::zstd};

class HostileBatchTest : public BridgeTest {
 protected:
  // Sends `bad` for topic "bad" and a good batch for topic "good" in one request: the bad
  // partition gets `expected`, the good one is stored.
  void expect_refused(const std::string& bad, error_code expected, const std::string& what) {
    SCOPED_TRACE(what);
    wire_client c(port());
    msg::produce_request req = produce("bad", bad);
    auto good = produce("good", batch(2));
    req.topic_data.push_back(std::move(good.topic_data.front()));
    c.send(req, 9, ++_corr);
    auto resp = c.receive<msg::produce_response>(9, _corr);
    ASSERT_EQ(resp.responses.size(), 2u);
    EXPECT_EQ(resp.responses[0].partition_responses.at(0).error_code, int16_t(expected));
    EXPECT_EQ(resp.responses[1].partition_responses.at(0).error_code, 0);
    EXPECT_EQ(high_watermark("bad"), 0);
    EXPECT_EQ(high_watermark("good"), 2 * _corr);
  }
  int32_t _corr = 0;
};

TEST_F(HostileBatchTest, PayloadThatIsNotACompressedStreamIsCorrupt) {
  for (auto codec : k_codecs) {
    std::string junk = "this is not a compressed stream of any codec, just bytes 0123456789";
    expect_refused(crafted_batch(codec, junk, 1, 0, k_base_ts), error_code::corrupt_message,
                   "codec " + std::to_string(int(codec)));
  }
}

TEST_F(HostileBatchTest, StreamThatIsNotRecordsIsInvalid) {
  for (auto codec : k_codecs) {
    // A well-formed stream of the codec whose content does not parse as records.
    auto payload = eb::net::compress_payload(codec, std::string(300, '\x7f'));
    expect_refused(crafted_batch(codec, payload, 1, 0, k_base_ts), error_code::invalid_record,
                   "codec " + std::to_string(int(codec)));
  }
}

TEST_F(HostileBatchTest, RecordCountDisagreeingWithHeaderIsInvalid) {
  for (auto codec : k_codecs) {
    const auto tag = "codec " + std::to_string(int(codec));
    auto three = eb::net::compress_payload(codec, good_records(3));
    // Header says 5 (consistently with LastOffsetDelta), the payload holds 3.
    expect_refused(crafted_batch(codec, three, 5, 4, k_base_ts + 2), error_code::invalid_record,
                   tag + " fewer");
    // Header says 2, the payload holds 3.
    expect_refused(crafted_batch(codec, three, 2, 1, k_base_ts + 2), error_code::invalid_record,
                   tag + " more");
    // A record cut short at the end of the stream.
    auto cut = good_records(3);
    cut.resize(cut.size() - 2);
    expect_refused(crafted_batch(codec, eb::net::compress_payload(codec, cut), 3, 2, k_base_ts + 2),
                   error_code::invalid_record, tag + " cut");
  }
}

TEST_F(HostileBatchTest, OffsetDeltasAndMaxTimestampMustMatchTheHeader) {
  for (auto codec :
       {eb::net::compression::none, eb::net::compression::zstd, eb::net::compression::gzip}) {
    const auto tag = "codec " + std::to_string(int(codec));
    auto payload = [&](const std::string& recs) { return eb::net::compress_payload(codec, recs); };
    const auto out_of_order =
        record_bytes(0, 0, "a") + record_bytes(2, 1, "b") + record_bytes(1, 2, "c");
    expect_refused(crafted_batch(codec, payload(out_of_order), 3, 2, k_base_ts + 2),
                   error_code::invalid_record, tag + " offsets out of order");
    const auto repeated = record_bytes(0, 0, "a") + record_bytes(0, 1, "b");
    expect_refused(crafted_batch(codec, payload(repeated), 2, 1, k_base_ts + 1),
                   error_code::invalid_record, tag + " offset repeated");
    // MaxTimestamp below and above the largest record timestamp (k_base_ts + 2).
    expect_refused(crafted_batch(codec, payload(good_records(3)), 3, 2, k_base_ts + 1),
                   error_code::invalid_record, tag + " max timestamp too small");
    expect_refused(crafted_batch(codec, payload(good_records(3)), 3, 2, k_base_ts + 9),
                   error_code::invalid_record, tag + " max timestamp too large");
    // An empty batch: LastOffsetDelta 0 announces one record.
    expect_refused(crafted_batch(codec, payload(""), 0, 0, k_base_ts), error_code::invalid_record,
                   tag + " empty");
    // The same records with the right header are accepted, and decode completely.
    wire_client c(port());
    c.send(produce("fine", crafted_batch(codec, payload(good_records(3)), 3, 2, k_base_ts + 2)), 9,
           100);
    EXPECT_EQ(only_partition(c.receive<msg::produce_response>(9, 100)).error_code, 0) << tag;
  }
  EXPECT_EQ(high_watermark("fine"), 9);
  auto read = store().read("fine", 0, 0, 1 << 20);
  ASSERT_TRUE(read);
  ASSERT_EQ(read->size(), 3u);
  for (auto& b : *read) {
    auto d = eb::net::decode_batch(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(b.bytes.data()), b.bytes.size()));
    ASSERT_TRUE(d) << d.error().message();
    EXPECT_EQ(d->records.size(), 3u);
  }
}

// Decompression bombs: records of `record_bytes` zero bytes each, `records` of them, that a
// compressor squeezes to a few bytes each. Built chunk by chunk so that the test never holds the
// inflated size. The records are valid: only the server's bound can stop them.
std::string zstd_bomb(int records, size_t value_bytes) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 1);
  std::string out;
  std::vector<char> buf(ZSTD_CStreamOutSize());
  const std::string zeros(1 << 20, '\0');
  auto feed = [&](std::string_view in, ZSTD_EndDirective mode) {
    ZSTD_inBuffer src{in.data(), in.size(), 0};
    for (;;) {
      ZSTD_outBuffer dst{buf.data(), buf.size(), 0};
      const size_t left = ZSTD_compressStream2(cctx, &dst, &src, mode);
      EXPECT_FALSE(ZSTD_isError(left));
      out.append(buf.data(), dst.pos);
      if (mode == ZSTD_e_end ? left == 0 : src.pos == src.size) break;
    }
  };
  for (int i = 0; i < records; ++i) {
    // The record's framing, then its value as zeros fed a MiB at a time.
    eb::net::writer body;
    body.write_int8(0);
    body.write_varlong(0);
    body.write_varint(i);
    body.write_varint(-1);
    body.write_varint(static_cast<int32_t>(value_bytes));
    eb::net::writer framed;
    framed.write_varint(static_cast<int32_t>(body.size() + value_bytes + 1));
    framed.write_raw(body.bytes());
    feed(framed.view(), ZSTD_e_continue);
    for (size_t left = value_bytes; left > 0;) {
      const size_t n = std::min(left, zeros.size());
      feed(std::string_view(zeros).substr(0, n), ZSTD_e_continue);
      left -= n;
    }
    feed(std::string_view("\0", 1), ZSTD_e_continue);  // header count 0
  }
  feed({}, ZSTD_e_end);
  ZSTD_freeCCtx(cctx);
  return out;
}

std::string gzip_bomb(int records, size_t value_bytes) {
  z_stream zs{};
  // Run-length matches reach deflate's best ratio (about 1000:1) on zeros, and quickly.
  EXPECT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_RLE), Z_OK);
  std::string out;
  std::vector<unsigned char> buf(1 << 16);
  const std::string zeros(1 << 20, '\0');
  auto feed = [&](std::string_view in, int flush) {
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    for (;;) {
      zs.next_out = buf.data();
      zs.avail_out = static_cast<uInt>(buf.size());
      const int rc = deflate(&zs, flush);
      EXPECT_NE(rc, Z_STREAM_ERROR);
      out.append(reinterpret_cast<char*>(buf.data()), buf.size() - zs.avail_out);
      if (flush == Z_FINISH ? rc == Z_STREAM_END : (zs.avail_in == 0 && zs.avail_out != 0)) break;
    }
  };
  for (int i = 0; i < records; ++i) {
    eb::net::writer body;
    body.write_int8(0);
    body.write_varlong(0);
    body.write_varint(i);
    body.write_varint(-1);
    body.write_varint(static_cast<int32_t>(value_bytes));
    eb::net::writer framed;
    framed.write_varint(static_cast<int32_t>(body.size() + value_bytes + 1));
    framed.write_raw(body.bytes());
    feed(framed.view(), Z_NO_FLUSH);
    for (size_t left = value_bytes; left > 0;) {
      const size_t n = std::min(left, zeros.size());
      feed(std::string_view(zeros).substr(0, n), Z_NO_FLUSH);
      left -= n;
    }
    feed(std::string_view("\0", 1), Z_NO_FLUSH);
  }
  feed({}, Z_FINISH);
  deflateEnd(&zs);
  return out;
}

TEST_F(HostileBatchTest, DecompressionBombsAreRefusedAtTheBound) {
  // 2 GiB of zstd records in a few hundred KiB; 512 MiB of gzip (deflate stops at ~1000:1) in
  // about half a MiB: both fit the 1 MiB request limit, and both are valid record streams.
  const auto zstd = zstd_bomb(2048, 1 << 20);
  ASSERT_LT(zstd.size(), 900u << 10);
  const auto gzip = gzip_bomb(512, 1 << 20);
  ASSERT_LT(gzip.size(), 900u << 10);
  const auto t0 = std::chrono::steady_clock::now();
  expect_refused(crafted_batch(eb::net::compression::zstd, zstd, 2048, 2047, k_base_ts),
                 error_code::invalid_record, "zstd bomb");
  expect_refused(crafted_batch(eb::net::compression::gzip, gzip, 512, 511, k_base_ts),
                 error_code::invalid_record, "gzip bomb");
  // Inflating 2.5 GiB would take many seconds; stopping at the bound (8 x 1 MiB) takes little.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST_F(BridgeTest, TruncatedBatchIsCorrupt) {
  wire_client c(port());
  auto b = batch(3);
  b.resize(b.size() - 7);
  c.send(produce("events", b), 7, 1);
  EXPECT_EQ(only_partition(c.receive<msg::produce_response>(7, 1)).error_code,
            int16_t(error_code::corrupt_message));
}

TEST_F(BridgeTest, ProduceV2IsUnsupported) {
  wire_client c(port());
  c.send(produce("events", batch(1)), 2, 1);
  EXPECT_EQ(only_partition(c.receive<msg::produce_response>(2, 1)).error_code,
            int16_t(error_code::unsupported_version));
}

TEST_F(BridgeTest, UnknownPartitionIsRejected) {
  wire_client c(port());
  c.send(produce("events", batch(1), -1, 3), 7, 1);
  EXPECT_EQ(only_partition(c.receive<msg::produce_response>(7, 1)).error_code,
            int16_t(error_code::unknown_topic_or_partition));
}

TEST_F(BridgeTest, IdempotentRetryGetsTheOriginalOffset) {
  wire_client c(port());
  c.send(
      msg::init_producer_id_request{.transactional_id = std::nullopt, .transaction_timeout_ms = -1},
      4, 1);
  auto pid = c.receive<msg::init_producer_id_response>(4, 1);
  ASSERT_EQ(pid.error_code, 0);
  ASSERT_GE(pid.producer_id, 0);

  auto first = batch(4, pid.producer_id, pid.producer_epoch, 0);
  c.send(produce("events", first), 7, 2);
  EXPECT_EQ(only_partition(c.receive<msg::produce_response>(7, 2)).base_offset, 0);
  c.send(produce("events", batch(2, pid.producer_id, pid.producer_epoch, 4)), 7, 3);
  EXPECT_EQ(only_partition(c.receive<msg::produce_response>(7, 3)).base_offset, 4);
  // The client did not see the first answer and sends the same batch again.
  c.send(produce("events", first), 7, 4);
  auto retry_resp = c.receive<msg::produce_response>(7, 4);
  auto& retry = only_partition(retry_resp);
  EXPECT_EQ(retry.error_code, 0);
  EXPECT_EQ(retry.base_offset, 0);
  EXPECT_EQ(high_watermark("events"), 6);
  // A gap in the sequence.
  c.send(produce("events", batch(1, pid.producer_id, pid.producer_epoch, 9)), 7, 5);
  EXPECT_EQ(only_partition(c.receive<msg::produce_response>(7, 5)).error_code,
            int16_t(error_code::out_of_order_sequence_number));
  EXPECT_EQ(high_watermark("events"), 6);

  // Producer ids never repeat, also across a restart.
  c.send(msg::init_producer_id_request{.transactional_id = std::nullopt}, 4, 6);
  auto second = c.receive<msg::init_producer_id_response>(4, 6);
  EXPECT_GT(second.producer_id, pid.producer_id);
}

TEST_F(BridgeTest, ProducerIdsNeverRepeatAcrossRestarts) {
  int64_t before;
  {
    wire_client c(port());
    c.send(msg::init_producer_id_request{.transactional_id = std::nullopt}, 0, 1);
    before = c.receive<msg::init_producer_id_response>(0, 1).producer_id;
  }
  stop();
  start(true);
  wire_client c(port());
  c.send(msg::init_producer_id_request{.transactional_id = std::nullopt}, 0, 1);
  EXPECT_GT(c.receive<msg::init_producer_id_response>(0, 1).producer_id, before);
}

TEST_F(BridgeTest, UnknownTopicWithAutoCreateOff) {
  stop();
  start(false);
  wire_client c(port());
  c.send(produce("nobody-made-me", batch(1)), 7, 1);
  EXPECT_EQ(only_partition(c.receive<msg::produce_response>(7, 1)).error_code,
            int16_t(error_code::unknown_topic_or_partition));
  EXPECT_FALSE(store().find_topic("nobody-made-me"));
}

TEST_F(BridgeTest, CreateTopicsHonoursPartitionsAndRejectsDuplicates) {
  wire_client c(port());
  msg::create_topics_request req;
  auto& t = req.topics.emplace_back();
  t.name = "made";
  t.num_partitions = 4;
  t.replication_factor = 1;
  c.send(req, 5, 1);
  auto resp = c.receive<msg::create_topics_response>(5, 1);
  ASSERT_EQ(resp.topics.size(), 1u);
  EXPECT_EQ(resp.topics[0].error_code, 0);
  EXPECT_EQ(store().find_topic("made")->config.partitions, 4);
  c.send(req, 5, 2);
  EXPECT_EQ(c.receive<msg::create_topics_response>(5, 2).topics[0].error_code,
            int16_t(error_code::topic_already_exists));
  t.replication_factor = 3;
  t.name = "made-3";
  c.send(req, 5, 3);
  EXPECT_EQ(c.receive<msg::create_topics_response>(5, 3).topics[0].error_code,
            int16_t(error_code::invalid_replication_factor));
}

class TopicLimitsTest : public BridgeTest {
 protected:
  void SetUp() override {}
  void restart_with(size_t max_topics, int32_t max_partitions, std::vector<std::string> allow) {
    _cfg.topics.max_topics = max_topics;
    _cfg.topics.max_partitions = max_partitions;
    _cfg.topics.create_allow = std::move(allow);
    start(true);
  }
  int16_t create(wire_client& c, const std::string& name, int32_t partitions,
                 bool validate_only = false) {
    msg::create_topics_request req;
    req.validate_only = validate_only;
    auto& t = req.topics.emplace_back();
    t.name = name;
    t.num_partitions = partitions;
    t.replication_factor = 1;
    c.send(req, 5, ++_corr);
    auto resp = c.receive<msg::create_topics_response>(5, _corr);
    return resp.topics.at(0).error_code;
  }
  int16_t auto_create(wire_client& c, const std::string& name) {
    msg::metadata_request req;
    req.topics.emplace().emplace_back().name = name;
    c.send(req, 9, ++_corr);
    return c.receive<msg::metadata_response>(9, _corr).topics.at(0).error_code;
  }
  int32_t _corr = 0;
};

TEST_F(TopicLimitsTest, PartitionsAboveTheLimitAreInvalid) {
  restart_with(10, 8, {"*"});
  wire_client c(port());
  EXPECT_EQ(create(c, "wide", 9, true), int16_t(error_code::invalid_partitions));
  EXPECT_EQ(create(c, "wide", 9), int16_t(error_code::invalid_partitions));
  EXPECT_FALSE(store().find_topic("wide"));
  EXPECT_EQ(create(c, "wide", 8), 0);
}

TEST_F(TopicLimitsTest, NoTopicBeyondMaxTopicsByAnyPath) {
  restart_with(3, 8, {"*"});
  wire_client c(port());
  EXPECT_EQ(create(c, "a", 1), 0);
  EXPECT_EQ(auto_create(c, "b"), 0);
  c.send(produce("c", batch(1)), 7, ++_corr);
  EXPECT_EQ(only_partition(c.receive<msg::produce_response>(7, _corr)).error_code, 0);
  // The fourth topic, by each path.
  EXPECT_EQ(create(c, "d", 1), int16_t(error_code::policy_violation));
  EXPECT_EQ(auto_create(c, "e"), int16_t(error_code::unknown_topic_or_partition));
  c.send(produce("f", batch(1)), 7, ++_corr);
  EXPECT_EQ(only_partition(c.receive<msg::produce_response>(7, _corr)).error_code,
            int16_t(error_code::unknown_topic_or_partition));
  EXPECT_EQ(store().topics().size(), 3u);
}

TEST_F(TopicLimitsTest, ConcurrentAutoCreationsCannotOvershoot) {
  restart_with(5, 8, {"*"});
  // 16 connections, each auto-creating its own topics, all at once.
  std::vector<std::thread> devices;
  for (int d = 0; d < 16; ++d) {
    devices.emplace_back([this, d] {
      wire_client c(port());
      for (int i = 0; i < 4; ++i) {
        msg::metadata_request req;
        req.topics.emplace().emplace_back().name =
            "dev" + std::to_string(d) + "-" + std::to_string(i);
        c.send(req, 9, i + 1);
        (void)c.receive<msg::metadata_response>(9, i + 1);
      }
    });
  }
  for (auto& t : devices) t.join();
  EXPECT_EQ(store().topics().size(), 5u);
}

TEST_F(TopicLimitsTest, BatchesAboveMaxMessageBytesAreTooLarge) {
  _cfg.topics.max_message_bytes = 4096;
  restart_with(100, 8, {"*"});
  wire_client c(port());
  // One partition's batch is too large, the other's fits: only the first is refused.
  eb::net::batch_builder_input big;
  big.base_timestamp = 1'700'000'000'000;
  std::string noise(5000, '\0');
  uint32_t x = 12345;
  for (auto& ch : noise) ch = static_cast<char>((x = x * 1103515245 + 12345) >> 24);
  big.records.push_back({.value = noise});
  msg::produce_request req = produce("sized", eb::net::encode_batch(big));
  auto& small = req.topic_data.emplace_back();
  small.name = "sized-ok";
  small.partition_data.emplace_back().records = batch(3);
  c.send(req, 8, ++_corr);  // v8+: error_message
  auto resp = c.receive<msg::produce_response>(8, _corr);
  auto& refused = resp.responses.at(0).partition_responses.at(0);
  EXPECT_EQ(refused.error_code, int16_t(error_code::message_too_large));
  EXPECT_THAT(refused.error_message.value_or(""), ::testing::HasSubstr("max_message_bytes"));
  EXPECT_EQ(resp.responses.at(1).partition_responses.at(0).error_code, 0);
  EXPECT_EQ(store().offsets("sized", 0)->high_watermark, 0);
  EXPECT_EQ(store().offsets("sized-ok", 0)->high_watermark, 3);
}

TEST_F(TopicLimitsTest, OnlyAllowedNamesAreCreated) {
  _cfg.topics.overrides["alarms"] = {};
  restart_with(100, 8, {"sensors.*", "cam-?"});
  wire_client c(port());
  EXPECT_EQ(auto_create(c, "sensors.temp"), 0);
  EXPECT_EQ(auto_create(c, "cam-1"), 0);
  EXPECT_EQ(auto_create(c, "alarms"), 0) << "topics named in overrides may always be created";
  EXPECT_EQ(auto_create(c, "junk"), int16_t(error_code::unknown_topic_or_partition));
  EXPECT_EQ(auto_create(c, "cam-12"), int16_t(error_code::unknown_topic_or_partition));
  EXPECT_EQ(create(c, "junk", 1), int16_t(error_code::policy_violation));
  EXPECT_FALSE(store().find_topic("junk"));
  EXPECT_EQ(store().topics().size(), 3u);
}

TEST_F(BridgeTest, UnknownApiKeyClosesOnlyThatConnection) {
  wire_client bystander(port());
  wire_client c(port());
  eb::net::writer w;
  w.write_int32(10);
  w.write_int16(999);
  w.write_int16(0);
  w.write_int32(1);
  w.write_int16(-1);
  c.send_raw(w.take());
  EXPECT_TRUE(c.closed_by_peer());
  bystander.send(produce("events", batch(1)), 7, 1);
  EXPECT_EQ(only_partition(bystander.receive<msg::produce_response>(7, 1)).error_code, 0);
}

TEST_F(BridgeTest, MalformedBodyClosesTheConnection) {
  wire_client c(port());
  // Produce v7 header, then a topic array claiming a million entries.
  eb::net::writer w;
  w.write_int32(0);
  w.write_int16(0);
  w.write_int16(7);
  w.write_int32(1);
  w.write_int16(-1);
  w.write_int16(-1);    // transactional id: null
  w.write_int16(1);     // acks
  w.write_int32(1000);  // timeout
  w.write_int32(1'000'000);
  auto bytes = w.take();
  uint32_t size = htonl(uint32_t(bytes.size() - 4));
  std::memcpy(bytes.data(), &size, 4);
  c.send_raw(bytes);
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(BridgeTest, OversizedFrameClosesTheConnection) {
  wire_client c(port());
  c.send_raw({0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 7});
  EXPECT_TRUE(c.closed_by_peer());
}

}  // namespace

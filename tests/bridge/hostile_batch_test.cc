// Produce validates every record of compressed batches like Kafka's LogValidator: crafted
// payloads, counts, offsets, timestamps and decompression bombs over a real socket.
#include "tests/bridge/bridge_fixture.h"

namespace {

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

}  // namespace

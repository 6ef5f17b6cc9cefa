// The librdkafka the project links (scripts/librdkafka: Debian's 2.0.2 with the project's patch)
// sends a partition's next idempotent request while the previous one is still in flight, and
// still delivers every message once and in order. Unpatched, the producer counts the partition's
// in-flight messages against the five-request window: once a request is out, nothing more of the
// partition goes until every request of it is answered.
//
// librdkafka's mock cluster, because the check needs a round trip long enough to watch and the
// producer's own view of its partition (statistics: msgs_inflight).
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <memory>
#include <regex>
#include <string>
#include <vector>

namespace {

// Statistics and delivery reports are both served by rd_kafka_poll() on the test's thread, so
// no lock: what the statistics said before the first report is well defined.
struct observed {
  int inflight_now = 0;              // the partition's messages in flight, last statistics
  int most_before_first_report = 0;  // the most in flight before any request was answered
  std::vector<int64_t> offsets;
  int errors = 0;
};

int on_stats(rd_kafka_t*, char* json, size_t len, void* opaque) {
  auto* o = static_cast<observed*>(opaque);
  static const std::regex inflight(R"("msgs_inflight":\s*(\d+))");
  std::string s(json, len);
  int most = 0;
  for (std::sregex_iterator it(s.begin(), s.end(), inflight), end; it != end; ++it) {
    most = std::max(most, std::stoi((*it)[1].str()));
  }
  o->inflight_now = most;
  if (o->offsets.empty() && o->errors == 0) {
    o->most_before_first_report = std::max(o->most_before_first_report, most);
  }
  return 0;
}

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* o = static_cast<observed*>(opaque);
  if (m->err) {
    ++o->errors;
  } else {
    o->offsets.push_back(m->offset);
  }
}

void set(rd_kafka_conf_t* conf, const char* key, const std::string& value) {
  std::array<char, 256> err{};
  ASSERT_EQ(rd_kafka_conf_set(conf, key, value.c_str(), err.data(), err.size()), RD_KAFKA_CONF_OK)
      << key << ": " << err.data();
}

TEST(RdkafkaPipeline, IdempotentProducerSendsAPartitionsNextRequestWhileOneIsInFlight) {
  observed seen;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "test.mock.num.brokers", "1");
  set(conf, "enable.idempotence", "true");
  set(conf, "enable.gapless.guarantee", "true");
  set(conf, "acks", "all");
  set(conf, "max.in.flight.requests.per.connection", "5");
  set(conf, "linger.ms", "5");
  set(conf, "statistics.interval.ms", "100");
  rd_kafka_conf_set_opaque(conf, &seen);
  rd_kafka_conf_set_stats_cb(conf, &on_stats);
  rd_kafka_conf_set_dr_msg_cb(conf, &on_delivery);
  std::array<char, 512> err{};
  std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)> rk(
      rd_kafka_new(RD_KAFKA_PRODUCER, conf, err.data(), err.size()), &rd_kafka_destroy);
  ASSERT_TRUE(rk) << err.data();
  rd_kafka_mock_cluster_t* mock = rd_kafka_handle_mock_cluster(rk.get());
  ASSERT_NE(mock, nullptr);
  ASSERT_EQ(rd_kafka_mock_topic_create(mock, "pipelined", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  // Long enough for several statistics (every 100 ms) while a request is out.
  ASSERT_EQ(rd_kafka_mock_broker_set_rtt(mock, -1, 2000), RD_KAFKA_RESP_ERR_NO_ERROR);

  constexpr int per_batch = 32;
  const std::string value(1024, 'v');
  auto produce = [&](int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(rd_kafka_producev(rk.get(), RD_KAFKA_V_TOPIC("pipelined"), RD_KAFKA_V_PARTITION(0),
                                  RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                  RD_KAFKA_V_END),
                RD_KAFKA_RESP_ERR_NO_ERROR);
    }
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto poll_until = [&](auto done) {
    while (!done() && std::chrono::steady_clock::now() < deadline) rd_kafka_poll(rk.get(), 20);
    return done();
  };
  // The first batch goes (after linger.ms) and is seen in flight...
  produce(per_batch);
  ASSERT_TRUE(poll_until([&] { return seen.inflight_now >= per_batch; }));
  // ...then the second is produced while the first waits for its answer.
  produce(per_batch);
  ASSERT_TRUE(poll_until(
      [&] { return static_cast<int>(seen.offsets.size()) + seen.errors == 2 * per_batch; }));
  EXPECT_GE(seen.most_before_first_report, 2 * per_batch)
      << "the second request waited for the first: the unpatched librdkafka?";
  EXPECT_EQ(seen.errors, 0);
  ASSERT_EQ(static_cast<int>(seen.offsets.size()), 2 * per_batch);
  // Once and in order: offsets 0..n-1 in delivery order.
  for (int i = 0; i < 2 * per_batch; ++i) EXPECT_EQ(seen.offsets[i], i);
}

}  // namespace

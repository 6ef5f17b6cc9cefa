// The stand-in cloud is a real Kafka broker: records produced with librdkafka come back intact.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <memory>
#include <string>

#include "tests/support/cloud_kafka.h"

namespace {

using namespace std::chrono_literals;

struct kafka_deleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using kafka_handle = std::unique_ptr<rd_kafka_t, kafka_deleter>;

kafka_handle make_client(rd_kafka_type_t type,
                         std::initializer_list<std::pair<const char*, std::string>> props) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (auto& [k, v] : props) {
    EXPECT_EQ(rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err), RD_KAFKA_CONF_OK) << err;
  }
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  EXPECT_NE(rk, nullptr) << err;
  return kafka_handle(rk);
}

TEST(CloudKafka, RoundTripsRecordsWithLibrdkafka) {
  const std::string bootstrap = eb::test::cloud_bootstrap();
  const std::string topic =
      "roundtrip-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  constexpr int count = 1000;

  auto producer = make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap}});
  for (int i = 0; i < count; ++i) {
    std::string key = "key-" + std::to_string(i), value = "value-" + std::to_string(i);
    rd_kafka_resp_err_t err;
    do {
      err = rd_kafka_producev(producer.get(), RD_KAFKA_V_TOPIC(topic.c_str()),
                              RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_KEY(key.data(), key.size()),
                              RD_KAFKA_V_VALUE(value.data(), value.size()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_HEADER("seq", key.data(), key.size()), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) rd_kafka_poll(producer.get(), 10);
    } while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
    ASSERT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(err);
  }
  ASSERT_EQ(rd_kafka_flush(producer.get(), 60'000), RD_KAFKA_RESP_ERR_NO_ERROR);

  auto consumer = make_client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap},
                                                  {"group.id", "roundtrip"},
                                                  {"enable.auto.commit", "false"}});
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, topic.c_str(), 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  ASSERT_EQ(rd_kafka_assign(consumer.get(), parts), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(parts);

  int next = 0;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (next < count && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer.get(), 500);
    if (!m) continue;
    std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> guard(
        m, rd_kafka_message_destroy);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
    ASSERT_EQ(m->err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_message_errstr(m);
    EXPECT_EQ(m->offset, next);
    EXPECT_EQ(std::string(static_cast<char*>(m->key), m->key_len), "key-" + std::to_string(next));
    EXPECT_EQ(std::string(static_cast<char*>(m->payload), m->len), "value-" + std::to_string(next));
    ++next;
  }
  EXPECT_EQ(next, count);
  rd_kafka_consumer_close(consumer.get());
}

}  // namespace

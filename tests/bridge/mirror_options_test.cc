// mirror_options: defaults, topic mapping and validate()'s messages.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "bridge/mirror/options.h"

namespace eb::bridge {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<std::string> problems(const std::function<void(mirror_options&)>& change) {
  mirror_options o;
  o.bootstrap = "cloud:9092";
  change(o);
  return validate(o);
}

TEST(MirrorOptions, DefaultsAreValidAndInactiveWithoutBootstrap) {
  mirror_options o;
  EXPECT_THAT(validate(o), IsEmpty());
  EXPECT_FALSE(o.active());
  o.bootstrap = "cloud:9092";
  EXPECT_TRUE(o.active());
  o.enabled = false;
  EXPECT_FALSE(o.active());
  EXPECT_EQ(mirror_options{}.compression, "zstd");
  EXPECT_EQ(mirror_options{}.max_inflight_bytes, 64u << 20);
  EXPECT_EQ(mirror_options{}.batch_bytes, 4u << 20);
  EXPECT_EQ(mirror_options{}.cursor_commit_interval, std::chrono::milliseconds(500));
  EXPECT_EQ(mirror_options{}.linger, std::chrono::milliseconds(50));
}

TEST(MirrorOptions, MapsTopicsThroughTemplateAndOverrides) {
  mirror_options o;
  o.site_id = "plant-7";
  EXPECT_EQ(o.target_topic("temps"), "plant-7.temps");
  EXPECT_EQ(o.gaps_target(), "plant-7.edgebridge.gaps");
  o.topic_template = "edge-{topic}-{site}";
  o.topic_overrides["alarms"] = "cloud.alarms";
  EXPECT_EQ(o.target_topic("temps"), "edge-temps-plant-7");
  EXPECT_EQ(o.target_topic("alarms"), "cloud.alarms");
}

TEST(MirrorOptions, ValidateNamesTheKey) {
  EXPECT_THAT(problems([](auto& o) { o.compression = "brotli"; }),
              Contains(HasSubstr("mirror.compression:")));
  EXPECT_THAT(problems([](auto& o) { o.topic_template = "{site}.all"; }),
              Contains(HasSubstr("mirror.topic_template: must contain {topic}")));
  EXPECT_THAT(problems([](auto& o) { o.topic_template = "{site}.{topik}.{topic}"; }),
              Contains(HasSubstr("mirror.topic_template:")));
  EXPECT_THAT(problems([](auto& o) { o.topic_template = "{site}/{topic}"; }),
              Contains(HasSubstr("mirror.topic_template: gives illegal topic names")));
  EXPECT_THAT(problems([](auto& o) { o.gaps_topic = "{topic}.gaps"; }),
              Contains(HasSubstr("mirror.gaps_topic:")));
  EXPECT_THAT(problems([](auto& o) { o.site_id = "a b"; }), Contains(HasSubstr("mirror.site_id:")));
  EXPECT_THAT(problems([](auto& o) { o.topic_overrides["x"] = "bad name"; }),
              Contains(HasSubstr("mirror.topic_overrides:")));
  EXPECT_THAT(problems([](auto& o) { o.max_inflight_bytes = 1000; }),
              Contains(HasSubstr("mirror.max_inflight_bytes:")));
  EXPECT_THAT(problems([](auto& o) {
                o.retry_backoff_min = std::chrono::seconds(5);
                o.retry_backoff_max = std::chrono::seconds(1);
              }),
              Contains(HasSubstr("mirror.retry_backoff_max:")));
  EXPECT_THAT(problems([](auto& o) { o.cursor_commit_interval = std::chrono::milliseconds(1); }),
              Contains(HasSubstr("mirror.cursor_commit_interval:")));
  EXPECT_THAT(problems([](auto& o) { o.linger = std::chrono::milliseconds(-1); }),
              Contains(HasSubstr("mirror.linger:")));
}

TEST(MirrorOptions, PropertiesAreCheckedByLibrdkafkaAndGuarded) {
  // Passed through: TLS/SASL and tuning.
  EXPECT_THAT(problems([](auto& o) {
                o.properties = {{"security.protocol", "SASL_SSL"},
                                {"sasl.mechanisms", "PLAIN"},
                                {"batch.size", "500000"},
                                {"max.in.flight.requests.per.connection", "3"}};
              }),
              IsEmpty());
  EXPECT_THAT(problems([](auto& o) {
                o.properties = {{"sasl.mechanismz", "PLAIN"}};
              }),
              Contains(HasSubstr("mirror.properties.sasl.mechanismz:")));
  EXPECT_THAT(problems([](auto& o) {
                o.properties = {{"batch.size", "big"}};
              }),
              Contains(HasSubstr("mirror.properties.batch.size:")));
  for (const char* owned : {"enable.idempotence", "acks", "transactional.id", "message.timeout.ms",
                            "bootstrap.servers", "compression.type", "queue.buffering.max.kbytes",
                            "enable.gapless.guarantee", "linger.ms"}) {
    EXPECT_THAT(problems([&](auto& o) {
                  o.properties = {{owned, "1"}};
                }),
                Contains(HasSubstr(std::string("mirror.properties.") + owned + ":")))
        << owned;
  }
  EXPECT_THAT(problems([](auto& o) {
                o.properties = {{"max.in.flight.requests.per.connection", "10"}};
              }),
              Contains(HasSubstr("must be <= 5")));
}

}  // namespace
}  // namespace eb::bridge

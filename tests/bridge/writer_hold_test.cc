// While storage's writer thread is held (every write waits), the io side keeps answering: writes
// from handlers (produce, InitProducerId, CreateTopics, OffsetCommit, topic auto-create) are
// awaited, never waited for on an io thread, and reads run on the reader pool. With two io
// threads, any handler blocking on the writer would leave others unanswered.
#include <gtest/gtest.h>

#include <chrono>

#include "storage/test_hooks.h"
#include "tests/bridge/consumer_fixture.h"

namespace eb::test {
namespace {

using namespace std::chrono_literals;

class WriterHoldTest : public ConsumerFixture {
 protected:
  // The response to `correlation_id`, or a failure naming `what` after `timeout`.
  template <class Response>
  std::optional<Response> answer(wire_client& c, int16_t version, int32_t correlation_id,
                                 const char* what, std::chrono::milliseconds timeout = 10s) {
    auto frame = c.read_frame(timeout);
    if (!frame) {
      ADD_FAILURE() << what << ": no answer within " << timeout.count() << " ms";
      return std::nullopt;
    }
    net::reader r(*frame);
    EXPECT_EQ(r.read_int32(), correlation_id) << what;
    if (net::response_header_version(static_cast<int16_t>(Response::api), version) == 1) {
      r.skip_tagged_fields();
    }
    auto resp = Response::decode(r, version);
    if (!resp) {
      ADD_FAILURE() << what << ": undecodable answer";
      return std::nullopt;
    }
    return *resp;
  }
};

TEST_F(WriterHoldTest, IoThreadsAnswerWhileTheWriterIsHeld) {
  ASSERT_EQ(_cfg.server.io_threads, 2);
  wire_client setup(port());
  create_topic(setup, "stored", 2);
  ASSERT_EQ(produce(setup, "stored", batch(4), 1), 0);

  storage::testing::writer_hold hold(store());

  // Five writes from five connections: each handler now waits for the writer.
  wire_client producer(port()), init(port()), creator(port()), committer(port()), autoc(port());
  msg::produce_request produce_req;
  produce_req.acks = -1;
  produce_req.timeout_ms = 30000;
  auto& pt = produce_req.topic_data.emplace_back();
  pt.name = "stored";
  auto& pp = pt.partition_data.emplace_back();
  pp.index = 0;
  pp.records = batch(3);
  producer.send(produce_req, 7, 1);

  init.send(msg::init_producer_id_request{.transactional_id = std::nullopt}, 4, 1);

  msg::create_topics_request create_req;
  auto& ct = create_req.topics.emplace_back();
  ct.name = "fresh";
  ct.num_partitions = 3;
  ct.replication_factor = 1;
  create_req.timeout_ms = 30000;
  creator.send(create_req, 5, 1);

  msg::offset_commit_request commit_req;  // standalone: generation -1, no member
  commit_req.group_id = "held-group";
  commit_req.generation_id_or_member_epoch = -1;
  auto& oc = commit_req.topics.emplace_back();
  oc.name = "stored";
  auto& ocp = oc.partitions.emplace_back();
  ocp.partition_index = 1;
  ocp.committed_offset = 2;
  committer.send(commit_req, 8, 1);

  msg::metadata_request auto_req;  // auto-creates "auto"
  auto_req.topics.emplace().emplace_back().name = "auto";
  autoc.send(auto_req, 9, 1);

  ASSERT_TRUE(hold.wait_held(5, 10s))
      << "the five writes did not all reach the held writer within 10 s";

  // Another connection: ApiVersions, Metadata of an existing topic and a Fetch of stored data
  // in another partition are answered while those five writes wait.
  wire_client other(port());
  other.send(msg::api_versions_request{}, 3, 1);
  auto versions = answer<msg::api_versions_response>(other, 3, 1, "ApiVersions");
  ASSERT_TRUE(versions);
  EXPECT_EQ(versions->error_code, 0);

  msg::metadata_request md;
  md.topics.emplace().emplace_back().name = "stored";
  md.allow_auto_topic_creation = false;
  other.send(md, 9, 2);
  auto meta = answer<msg::metadata_response>(other, 9, 2, "Metadata");
  ASSERT_TRUE(meta);
  ASSERT_EQ(meta->topics.size(), 1u);
  EXPECT_EQ(meta->topics[0].error_code, 0);
  EXPECT_EQ(meta->topics[0].partitions.size(), 2u);

  msg::fetch_request fetch;
  fetch.max_wait_ms = 0;
  fetch.min_bytes = 1;
  fetch.max_bytes = 1 << 20;
  auto& ft = fetch.topics.emplace_back();
  ft.topic = "stored";
  auto& fp = ft.partitions.emplace_back();
  fp.partition = 1;
  fp.fetch_offset = 0;
  fp.partition_max_bytes = 1 << 20;
  other.send(fetch, 11, 3);
  auto fetched = answer<msg::fetch_response>(other, 11, 3, "Fetch");
  ASSERT_TRUE(fetched);
  ASSERT_EQ(fetched->responses.size(), 1u);
  auto& part = fetched->responses[0].partitions.at(0);
  EXPECT_EQ(part.error_code, 0);
  EXPECT_EQ(part.high_watermark, 4);
  EXPECT_TRUE(part.records && !part.records->empty());

  // Nothing held has happened yet.
  EXPECT_EQ(store().offsets("stored", 0)->high_watermark, 0);
  EXPECT_FALSE(store().find_topic("fresh"));
  EXPECT_FALSE(store().find_topic("auto"));

  hold.release();

  auto produced = answer<msg::produce_response>(producer, 7, 1, "held Produce");
  ASSERT_TRUE(produced);
  auto& pr = produced->responses.at(0).partition_responses.at(0);
  EXPECT_EQ(pr.error_code, 0);
  EXPECT_EQ(pr.base_offset, 0);

  auto id = answer<msg::init_producer_id_response>(init, 4, 1, "held InitProducerId");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->error_code, 0);
  EXPECT_GE(id->producer_id, 0);

  auto created = answer<msg::create_topics_response>(creator, 5, 1, "held CreateTopics");
  ASSERT_TRUE(created);
  EXPECT_EQ(created->topics.at(0).error_code, 0);
  EXPECT_EQ(created->topics.at(0).num_partitions, 3);

  auto committed = answer<msg::offset_commit_response>(committer, 8, 1, "held OffsetCommit");
  ASSERT_TRUE(committed);
  EXPECT_EQ(committed->topics.at(0).partitions.at(0).error_code, 0);

  auto auto_created = answer<msg::metadata_response>(autoc, 9, 1, "held auto-create Metadata");
  ASSERT_TRUE(auto_created);
  ASSERT_EQ(auto_created->topics.size(), 1u);
  EXPECT_EQ(auto_created->topics[0].error_code, 0);

  EXPECT_EQ(store().offsets("stored", 0)->high_watermark, 3);
  EXPECT_TRUE(store().find_topic("fresh"));
  EXPECT_TRUE(store().find_topic("auto"));
  auto offsets = store().group_offsets("held-group");
  ASSERT_EQ(offsets.count({"stored", 1}), 1u);
  EXPECT_EQ(offsets.at({"stored", 1}).offset, 2);
}

}  // namespace
}  // namespace eb::test

// Classic consumer groups over a real socket: the coordinator's state machine (join, sync,
// heartbeat, leave, session expiry, rebalance timeout) and offset commit/fetch with restarts.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/bridge/consumer_fixture.h"

namespace eb::test {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using eb::bridge::groups::group_state;

class GroupTest : public ConsumerFixture {
 protected:
  static msg::join_group_request join_req(const std::string& group, const std::string& member,
                                          int32_t session_ms = 10'000,
                                          int32_t rebalance_ms = 10'000,
                                          const std::string& meta = "meta") {
    msg::join_group_request req;
    req.group_id = group;
    req.member_id = member;
    req.session_timeout_ms = session_ms;
    req.rebalance_timeout_ms = rebalance_ms;
    req.protocol_type = "consumer";
    req.protocols.push_back({"range", meta + "-range"});
    req.protocols.push_back({"roundrobin", meta + "-rr"});
    return req;
  }

  // Sends a JoinGroup without waiting for the answer (it may wait for a rebalance).
  int32_t send_join(wire_client& c, const msg::join_group_request& req, int16_t v = 5) {
    c.send(req, v, ++_correlation);
    return _correlation;
  }
  msg::join_group_response recv_join(wire_client& c, int32_t corr, int16_t v = 5) {
    return c.receive<msg::join_group_response>(v, corr);
  }

  // KIP-394 two-step join of a new member into an empty or stable group; returns the response
  // (which waits for the rebalance if the group has other members).
  msg::join_group_response join_new(wire_client& c, const std::string& group,
                                    int32_t session_ms = 10'000, int32_t rebalance_ms = 10'000) {
    auto first =
        call<msg::join_group_response>(c, join_req(group, "", session_ms, rebalance_ms), 5);
    EXPECT_EQ(first.error_code, code(error_code::member_id_required));
    EXPECT_FALSE(first.member_id.empty());
    return call<msg::join_group_response>(
        c, join_req(group, first.member_id, session_ms, rebalance_ms), 5);
  }

  msg::sync_group_response sync(wire_client& c, const std::string& group, int32_t generation,
                                const std::string& member,
                                std::vector<std::pair<std::string, std::string>> assignments = {},
                                int16_t v = 3) {
    msg::sync_group_request req;
    req.group_id = group;
    req.generation_id = generation;
    req.member_id = member;
    for (auto& [m, a] : assignments) req.assignments.push_back({m, a});
    return call<msg::sync_group_response>(c, req, v);
  }

  int16_t heartbeat(wire_client& c, const std::string& group, int32_t generation,
                    const std::string& member, int16_t v = 3) {
    msg::heartbeat_request req;
    req.group_id = group;
    req.generation_id = generation;
    req.member_id = member;
    return call<msg::heartbeat_response>(c, req, v).error_code;
  }

  msg::offset_commit_response commit(wire_client& c, const std::string& group, int32_t generation,
                                     const std::string& member, const std::string& topic,
                                     std::vector<std::pair<int32_t, int64_t>> offsets,
                                     int16_t v = 8) {
    msg::offset_commit_request req;
    req.group_id = group;
    req.generation_id_or_member_epoch = generation;
    req.member_id = member;
    auto& t = req.topics.emplace_back();
    t.name = topic;
    for (auto& [p, o] : offsets) {
      auto& pp = t.partitions.emplace_back();
      pp.partition_index = p;
      pp.committed_offset = o;
      pp.committed_metadata = "m" + std::to_string(o);
    }
    return call<msg::offset_commit_response>(c, req, v);
  }

  int16_t commit_error(wire_client& c, const std::string& group, int32_t generation,
                       const std::string& member, const std::string& topic, int64_t offset) {
    auto r = commit(c, group, generation, member, topic, {{0, offset}});
    return r.topics.at(0).partitions.at(0).error_code;
  }

  // Committed offset of partition p, -1 for none.
  int64_t committed(wire_client& c, const std::string& group, const std::string& topic,
                    int32_t p = 0, int16_t v = 5) {
    msg::offset_fetch_request req;
    req.group_id = group;
    auto& t = req.topics.emplace().emplace_back();
    t.name = topic;
    t.partition_indexes = {p};
    auto r = call<msg::offset_fetch_response>(c, req, v);
    EXPECT_EQ(r.error_code, 0);
    auto& out = r.topics.at(0).partitions.at(0);
    EXPECT_EQ(out.error_code, 0);
    return out.committed_offset;
  }
};

TEST_F(GroupTest, SingleMemberJoinsSyncsHeartbeatsAndLeaves) {
  wire_client c(port());
  auto joined = join_new(c, "solo");
  ASSERT_EQ(joined.error_code, 0);
  EXPECT_EQ(joined.generation_id, 1);
  EXPECT_EQ(joined.leader, joined.member_id);
  EXPECT_EQ(joined.protocol_name, "range");
  ASSERT_EQ(joined.members.size(), 1u);
  EXPECT_EQ(joined.members[0].metadata, "meta-range");
  EXPECT_EQ(describe("solo").state, group_state::completing_rebalance);

  auto synced = sync(c, "solo", 1, joined.member_id, {{joined.member_id, "all-partitions"}});
  EXPECT_EQ(synced.error_code, 0);
  EXPECT_EQ(synced.assignment, "all-partitions");
  EXPECT_EQ(describe("solo").state, group_state::stable);

  EXPECT_EQ(heartbeat(c, "solo", 1, joined.member_id), 0);
  EXPECT_EQ(heartbeat(c, "solo", 2, joined.member_id), code(error_code::illegal_generation));
  EXPECT_EQ(heartbeat(c, "solo", 1, "stranger"), code(error_code::unknown_member_id));
  // A rejoin that changes nothing (follower or not) answers at once with the same generation.
  auto again = sync(c, "solo", 1, joined.member_id);
  EXPECT_EQ(again.assignment, "all-partitions");

  msg::leave_group_request leave;
  leave.group_id = "solo";
  leave.member_id = joined.member_id;
  EXPECT_EQ(call<msg::leave_group_response>(c, leave, 1).error_code, 0);
  EXPECT_EQ(heartbeat(c, "solo", 1, joined.member_id), code(error_code::unknown_member_id));
  EXPECT_EQ(describe("solo").state, group_state::dead) << "an empty group is dropped";
}

TEST_F(GroupTest, OldJoinVersionsNeedNoMemberIdRoundTrip) {
  wire_client c(port());
  for (int16_t v : {0, 1, 3}) {
    const std::string group = "old-" + std::to_string(v);
    auto req = join_req(group, "");
    auto r = call<msg::join_group_response>(c, req, v);
    ASSERT_EQ(r.error_code, 0) << "v" << v;
    EXPECT_EQ(r.generation_id, 1);
    EXPECT_FALSE(r.member_id.empty());
    EXPECT_EQ(sync(c, group, 1, r.member_id, {{r.member_id, "x"}}, 0).assignment, "x");
  }
}

TEST_F(GroupTest, SecondMemberTriggersARebalanceThatCompletesWhenAllRejoin) {
  wire_client a(port()), b(port());
  auto ja = join_new(a, "pair");
  ASSERT_EQ(ja.error_code, 0);
  ASSERT_EQ(sync(a, "pair", 1, ja.member_id, {{ja.member_id, "A1"}}).error_code, 0);

  // b's second join waits for a to rejoin.
  auto first = call<msg::join_group_response>(b, join_req("pair", ""), 5);
  ASSERT_EQ(first.error_code, code(error_code::member_id_required));
  const int32_t pending = send_join(b, join_req("pair", first.member_id, 10'000, 10'000, "b"));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(describe("pair").state, group_state::preparing_rebalance);
  EXPECT_EQ(heartbeat(a, "pair", 1, ja.member_id), code(error_code::rebalance_in_progress));
  // Commits of the old generation are still accepted while rebalancing (consumers commit
  // before they rejoin).
  produce(a, "pair-topic", batch(3));
  EXPECT_EQ(commit_error(a, "pair", 1, ja.member_id, "pair-topic", 3), 0);

  auto ra = call<msg::join_group_response>(a, join_req("pair", ja.member_id), 5);
  auto rb = recv_join(b, pending);
  ASSERT_EQ(ra.error_code, 0);
  ASSERT_EQ(rb.error_code, 0);
  EXPECT_EQ(ra.generation_id, 2);
  EXPECT_EQ(rb.generation_id, 2);
  EXPECT_EQ(ra.leader, ja.member_id) << "the first member stays leader";
  EXPECT_EQ(rb.leader, ja.member_id);
  EXPECT_EQ(ra.members.size(), 2u);
  EXPECT_TRUE(rb.members.empty()) << "only the leader gets the member list";

  // The follower's sync waits for the leader's.
  msg::sync_group_request fs;
  fs.group_id = "pair";
  fs.generation_id = 2;
  fs.member_id = rb.member_id;
  b.send(fs, 3, ++_correlation);
  const int32_t follower_corr = _correlation;
  std::this_thread::sleep_for(100ms);
  auto leader_sync = sync(a, "pair", 2, ja.member_id, {{ja.member_id, "A2"}, {rb.member_id, "B2"}});
  EXPECT_EQ(leader_sync.assignment, "A2");
  auto follower_sync = b.receive<msg::sync_group_response>(3, follower_corr);
  EXPECT_EQ(follower_sync.error_code, 0);
  EXPECT_EQ(follower_sync.assignment, "B2");
  EXPECT_EQ(describe("pair").state, group_state::stable);
  EXPECT_EQ(heartbeat(a, "pair", 2, ja.member_id), 0);
  EXPECT_EQ(heartbeat(b, "pair", 2, rb.member_id), 0);
  // The old generation is gone.
  EXPECT_EQ(commit_error(a, "pair", 1, ja.member_id, "pair-topic", 3),
            code(error_code::illegal_generation));
}

TEST_F(GroupTest, AMemberThatStopsHeartbeatingIsRemovedAndSurvivorsRebalance) {
  wire_client a(port()), b(port());
  const int32_t session = 600;
  auto ja = join_new(a, "expiry", session, 5'000);
  ASSERT_EQ(ja.error_code, 0);
  ASSERT_EQ(sync(a, "expiry", 1, ja.member_id, {{ja.member_id, "all"}}).error_code, 0);
  // b joins; a rejoins; generation 2 with both.
  auto first = call<msg::join_group_response>(b, join_req("expiry", "", session, 5'000), 5);
  const int32_t pending = send_join(b, join_req("expiry", first.member_id, session, 5'000));
  std::this_thread::sleep_for(50ms);
  auto ra = call<msg::join_group_response>(a, join_req("expiry", ja.member_id, session, 5'000), 5);
  auto rb = recv_join(b, pending);
  ASSERT_EQ(ra.generation_id, 2);
  ASSERT_EQ(rb.generation_id, 2);
  b.send(
      msg::sync_group_request{.group_id = "expiry", .generation_id = 2, .member_id = rb.member_id},
      3, ++_correlation);
  const int32_t bsync = _correlation;
  ASSERT_EQ(
      sync(a, "expiry", 2, ja.member_id, {{ja.member_id, "a"}, {rb.member_id, "b"}}).error_code, 0);
  ASSERT_EQ(b.receive<msg::sync_group_response>(3, bsync).assignment, "b");

  // b goes silent; a keeps heartbeating and learns of the rebalance after b's session.
  const auto silent_since = steady::now();
  int16_t hb = 0;
  while (steady::now() - silent_since < 5s) {
    hb = heartbeat(a, "expiry", 2, ja.member_id);
    if (hb != 0) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(hb, code(error_code::rebalance_in_progress));
  EXPECT_GE(steady::now() - silent_since, std::chrono::milliseconds(session - 100));
  auto survivor =
      call<msg::join_group_response>(a, join_req("expiry", ja.member_id, session, 5'000), 5);
  ASSERT_EQ(survivor.error_code, 0);
  EXPECT_EQ(survivor.generation_id, 3);
  ASSERT_EQ(survivor.members.size(), 1u);
  EXPECT_EQ(survivor.members[0].member_id, ja.member_id);
  EXPECT_EQ(sync(a, "expiry", 3, ja.member_id, {{ja.member_id, "all"}}).assignment, "all");
  EXPECT_EQ(describe("expiry").state, group_state::stable);
  EXPECT_EQ(heartbeat(b, "expiry", 2, rb.member_id), code(error_code::unknown_member_id));
}

TEST_F(GroupTest, RebalanceTimeoutCompletesWithoutMembersThatDoNotRejoin) {
  wire_client a(port()), b(port()), c(port());
  const int32_t session = 10'000, rebalance = 800;
  auto ja = join_new(a, "slow", session, rebalance);
  ASSERT_EQ(sync(a, "slow", 1, ja.member_id, {{ja.member_id, "x"}}).error_code, 0);
  auto fb = call<msg::join_group_response>(b, join_req("slow", "", session, rebalance), 5);
  const int32_t pb = send_join(b, join_req("slow", fb.member_id, session, rebalance));
  std::this_thread::sleep_for(50ms);
  auto ra =
      call<msg::join_group_response>(a, join_req("slow", ja.member_id, session, rebalance), 5);
  auto rb = recv_join(b, pb);
  ASSERT_EQ(ra.generation_id, 2);
  b.send(msg::sync_group_request{.group_id = "slow", .generation_id = 2, .member_id = rb.member_id},
         3, ++_correlation);
  const int32_t bsync = _correlation;
  ASSERT_EQ(sync(a, "slow", 2, ja.member_id, {{ja.member_id, "a"}, {rb.member_id, "b"}}).error_code,
            0);
  ASSERT_EQ(b.receive<msg::sync_group_response>(3, bsync).error_code, 0);

  // c joins; a rejoins; b never does (it still heartbeats, but too late to matter).
  auto fc = call<msg::join_group_response>(c, join_req("slow", "", session, rebalance), 5);
  const auto start = steady::now();
  const int32_t pc = send_join(c, join_req("slow", fc.member_id, session, rebalance));
  std::this_thread::sleep_for(50ms);
  const int32_t pa = send_join(a, join_req("slow", ja.member_id, session, rebalance));
  auto rc = recv_join(c, pc);
  auto ra3 = recv_join(a, pa);
  const auto took = steady::now() - start;
  ASSERT_EQ(rc.error_code, 0);
  ASSERT_EQ(ra3.error_code, 0);
  EXPECT_EQ(rc.generation_id, 3);
  EXPECT_GE(took, 700ms) << "completed before the rebalance timeout";
  EXPECT_LT(took, 5s);
  std::set<std::string> members;
  for (auto& m : ra3.members) members.insert(m.member_id);
  EXPECT_EQ(members, (std::set<std::string>{ja.member_id, fc.member_id}));
  EXPECT_EQ(heartbeat(b, "slow", 2, rb.member_id), code(error_code::unknown_member_id));
}

TEST_F(GroupTest, AMemberWhoseConnectionDiesInJoinDoesNotHoldUpTheRebalance) {
  wire_client a(port()), c(port());
  auto b = std::make_unique<wire_client>(port());
  const int32_t session = 600, rebalance = 30'000;
  auto ja = join_new(a, "dying", session, rebalance);
  ASSERT_EQ(sync(a, "dying", 1, ja.member_id, {{ja.member_id, "x"}}).error_code, 0);
  auto fb = call<msg::join_group_response>(*b, join_req("dying", "", session, rebalance), 5);
  const int32_t pb = send_join(*b, join_req("dying", fb.member_id, session, rebalance));
  std::this_thread::sleep_for(50ms);
  auto ra =
      call<msg::join_group_response>(a, join_req("dying", ja.member_id, session, rebalance), 5);
  auto rb = recv_join(*b, pb);
  ASSERT_EQ(ra.generation_id, 2);
  b->send(
      msg::sync_group_request{.group_id = "dying", .generation_id = 2, .member_id = rb.member_id},
      3, ++_correlation);
  const int32_t bsync = _correlation;
  ASSERT_EQ(
      sync(a, "dying", 2, ja.member_id, {{ja.member_id, "a"}, {rb.member_id, "b"}}).error_code, 0);
  ASSERT_EQ(b->receive<msg::sync_group_response>(3, bsync).error_code, 0);

  // c joins; b rejoins and dies while its JoinGroup waits; a rejoins.
  auto fc = call<msg::join_group_response>(c, join_req("dying", "", session, rebalance), 5);
  const int32_t pc = send_join(c, join_req("dying", fc.member_id, session, rebalance));
  // b's rejoin must reach a rebalancing group (in Stable it would be answered at once).
  const auto wait_start = steady::now();
  while (describe("dying").state != group_state::preparing_rebalance &&
         steady::now() - wait_start < 2s) {
    std::this_thread::sleep_for(5ms);
  }
  send_join(*b, join_req("dying", rb.member_id, session, rebalance));
  std::this_thread::sleep_for(50ms);
  b.reset();
  const auto start = steady::now();
  auto ra3 =
      call<msg::join_group_response>(a, join_req("dying", ja.member_id, session, rebalance), 5);
  auto rc = recv_join(c, pc);
  // The dead member counted as rejoined: no wait for the 30 s rebalance timeout.
  EXPECT_LT(steady::now() - start, 3s);
  ASSERT_EQ(ra3.error_code, 0);
  EXPECT_EQ(ra3.generation_id, 3);
  EXPECT_EQ(ra3.members.size(), 3u);
  // It never syncs nor heartbeats: its session expires and the group rebalances without it.
  c.send(
      msg::sync_group_request{.group_id = "dying", .generation_id = 3, .member_id = rc.member_id},
      3, 999);
  ASSERT_EQ(
      sync(a, "dying", 3, ja.member_id, {{ja.member_id, "a"}, {rc.member_id, "c"}}).error_code, 0);
  EXPECT_EQ(c.receive<msg::sync_group_response>(3, 999).assignment, "c");
  int16_t hb = 0;
  const auto expiry_start = steady::now();
  while (steady::now() - expiry_start < 5s) {
    hb = heartbeat(a, "dying", 3, ja.member_id);
    (void)heartbeat(c, "dying", 3, rc.member_id);  // keeps c's session; its answer races a's
    if (hb != 0) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(hb, code(error_code::rebalance_in_progress));
  const int32_t pc4 = send_join(c, join_req("dying", rc.member_id, session, rebalance));
  auto ra4 =
      call<msg::join_group_response>(a, join_req("dying", ja.member_id, session, rebalance), 5);
  EXPECT_EQ(recv_join(c, pc4).generation_id, 4);
  EXPECT_EQ(ra4.generation_id, 4);
  EXPECT_EQ(ra4.members.size(), 2u);
}

TEST_F(GroupTest, LeaveDuringStableRebalancesTheRest) {
  wire_client a(port()), b(port());
  auto ja = join_new(a, "leavers");
  ASSERT_EQ(sync(a, "leavers", 1, ja.member_id, {{ja.member_id, "x"}}).error_code, 0);
  auto fb = call<msg::join_group_response>(b, join_req("leavers", ""), 5);
  const int32_t pb = send_join(b, join_req("leavers", fb.member_id));
  std::this_thread::sleep_for(50ms);
  auto ra = call<msg::join_group_response>(a, join_req("leavers", ja.member_id), 5);
  auto rb = recv_join(b, pb);
  ASSERT_EQ(ra.generation_id, 2);
  b.send(
      msg::sync_group_request{.group_id = "leavers", .generation_id = 2, .member_id = rb.member_id},
      3, ++_correlation);
  const int32_t bsync = _correlation;
  sync(a, "leavers", 2, ja.member_id, {{ja.member_id, "a"}, {rb.member_id, "b"}});
  b.receive<msg::sync_group_response>(3, bsync);

  // v3+ batch leave: b by member id, plus an unknown one.
  msg::leave_group_request leave;
  leave.group_id = "leavers";
  leave.members.push_back({.member_id = rb.member_id});
  leave.members.push_back({.member_id = "ghost"});
  auto lr = call<msg::leave_group_response>(b, leave, 4);
  EXPECT_EQ(lr.error_code, 0);
  ASSERT_EQ(lr.members.size(), 2u);
  EXPECT_EQ(lr.members[0].error_code, 0);
  EXPECT_EQ(lr.members[1].error_code, code(error_code::unknown_member_id));
  EXPECT_EQ(heartbeat(a, "leavers", 2, ja.member_id), code(error_code::rebalance_in_progress));
  auto alone = call<msg::join_group_response>(a, join_req("leavers", ja.member_id), 5);
  EXPECT_EQ(alone.generation_id, 3);
  EXPECT_EQ(alone.members.size(), 1u);
}

TEST_F(GroupTest, StaticMembersWorkAndANewInstanceReplacesTheOld) {
  wire_client a(port()), a2(port());
  auto req = join_req("static", "");
  req.group_instance_id = "instance-1";
  auto ja = call<msg::join_group_response>(a, req, 5);
  ASSERT_EQ(ja.error_code, 0) << "static members join without the member id round trip";
  ASSERT_EQ(sync(a, "static", 1, ja.member_id, {{ja.member_id, "x"}}).error_code, 0);
  // The same instance restarts with a fresh connection and no member id.
  auto jb = call<msg::join_group_response>(a2, req, 7);
  ASSERT_EQ(jb.error_code, 0);
  EXPECT_NE(jb.member_id, ja.member_id);
  EXPECT_GT(jb.generation_id, 1);
  ASSERT_EQ(jb.members.size(), 1u);
  EXPECT_EQ(jb.members[0].group_instance_id, "instance-1");
  EXPECT_EQ(heartbeat(a, "static", 1, ja.member_id), code(error_code::unknown_member_id));
  // Leave by instance id alone (v3+).
  msg::leave_group_request leave;
  leave.group_id = "static";
  leave.members.push_back({.member_id = "", .group_instance_id = "instance-1"});
  auto lr = call<msg::leave_group_response>(a2, leave, 5);
  ASSERT_EQ(lr.members.size(), 1u);
  EXPECT_EQ(lr.members[0].error_code, 0);
}

TEST_F(GroupTest, JoinErrors) {
  wire_client c(port());
  auto bad_session = call<msg::join_group_response>(c, join_req("g", "", 10), 5);
  EXPECT_EQ(bad_session.error_code, code(error_code::invalid_session_timeout));
  auto no_group = call<msg::join_group_response>(c, join_req("", ""), 5);
  EXPECT_EQ(no_group.error_code, code(error_code::invalid_group_id));
  auto unknown = call<msg::join_group_response>(c, join_req("g", "made-up-id"), 5);
  EXPECT_EQ(unknown.error_code, code(error_code::unknown_member_id));

  auto ja = join_new(c, "typed");
  ASSERT_EQ(ja.error_code, 0);
  wire_client other(port());
  auto wrong = join_req("typed", "");
  wrong.protocol_type = "connect";
  EXPECT_EQ(call<msg::join_group_response>(other, wrong, 5).error_code,
            code(error_code::inconsistent_group_protocol));
  auto disjoint = join_req("typed", "");
  disjoint.protocols = {{"sticky", "s"}};
  EXPECT_EQ(call<msg::join_group_response>(other, disjoint, 5).error_code,
            code(error_code::inconsistent_group_protocol));
  // Flexible versions encode the error response with a null protocol name.
  auto v9 = call<msg::join_group_response>(other, wrong, 9);
  EXPECT_EQ(v9.error_code, code(error_code::inconsistent_group_protocol));
  EXPECT_FALSE(v9.protocol_name.has_value());
}

TEST_F(GroupTest, ServerStopAnswersAWaitingJoin) {
  wire_client a(port()), b(port());
  auto ja = join_new(a, "stopping");
  ASSERT_EQ(sync(a, "stopping", 1, ja.member_id, {{ja.member_id, "x"}}).error_code, 0);
  auto fb = call<msg::join_group_response>(b, join_req("stopping", "", 10'000, 60'000), 5);
  const int32_t pb = send_join(b, join_req("stopping", fb.member_id, 10'000, 60'000));
  std::this_thread::sleep_for(100ms);
  const auto start = steady::now();
  std::thread stopper([&] { _app->stop(); });
  auto r = b.receive<msg::join_group_response>(5, pb);
  stopper.join();
  EXPECT_EQ(r.error_code, code(error_code::coordinator_not_available));
  EXPECT_LT(steady::now() - start, 3s);
}

TEST_F(GroupTest, OffsetCommitAndFetch) {
  wire_client c(port());
  create_topic(c, "orders", 2);
  // Standalone consumer: generation -1, no member.
  for (int16_t v : {0, 2, 5, 8, 9}) {
    auto r = commit(c, "standalone", -1, "", "orders", {{0, 10 + v}, {1, 20 + v}}, v);
    ASSERT_EQ(r.topics.size(), 1u);
    for (auto& p : r.topics[0].partitions) EXPECT_EQ(p.error_code, 0) << "v" << v;
    for (int16_t fv : {1, 3, 6, 7}) {
      EXPECT_EQ(committed(c, "standalone", "orders", 0, fv), 10 + v);
      EXPECT_EQ(committed(c, "standalone", "orders", 1, fv), 20 + v);
    }
  }
  EXPECT_EQ(committed(c, "nobody", "orders"), -1);
  EXPECT_EQ(committed(c, "standalone", "unknown-topic"), -1);
  // Metadata comes back; a null topic list (v2+) lists everything committed.
  msg::offset_fetch_request all;
  all.group_id = "standalone";
  all.topics.reset();
  auto every = call<msg::offset_fetch_response>(c, all, 6);
  ASSERT_EQ(every.topics.size(), 1u);
  ASSERT_EQ(every.topics[0].partitions.size(), 2u);
  EXPECT_EQ(every.topics[0].partitions[0].committed_offset, 19);
  EXPECT_EQ(every.topics[0].partitions[0].metadata, "m19");

  // Unknown partitions fail alone; the rest is stored.
  auto mixed = commit(c, "standalone", -1, "", "orders", {{0, 50}, {9, 1}});
  EXPECT_EQ(mixed.topics[0].partitions[0].error_code, 0);
  EXPECT_EQ(mixed.topics[0].partitions[1].error_code, code(error_code::unknown_topic_or_partition));
  EXPECT_EQ(committed(c, "standalone", "orders"), 50);

  // Group members: credentials are checked.
  auto j = join_new(c, "members");
  ASSERT_EQ(j.error_code, 0);
  // Between JoinGroup and SyncGroup the member has no assignment yet.
  EXPECT_EQ(commit_error(c, "members", 1, j.member_id, "orders", 5),
            code(error_code::rebalance_in_progress));
  ASSERT_EQ(sync(c, "members", 1, j.member_id, {{j.member_id, "x"}}).error_code, 0);
  EXPECT_EQ(commit_error(c, "members", 1, j.member_id, "orders", 5), 0);
  EXPECT_EQ(committed(c, "members", "orders"), 5);
  EXPECT_EQ(commit_error(c, "members", 7, j.member_id, "orders", 6),
            code(error_code::illegal_generation));
  EXPECT_EQ(commit_error(c, "members", 1, "intruder", "orders", 6),
            code(error_code::unknown_member_id));
  EXPECT_EQ(commit_error(c, "members", -1, "", "orders", 6), code(error_code::unknown_member_id))
      << "a standalone commit into a group with members";
  EXPECT_EQ(committed(c, "members", "orders"), 5);
  EXPECT_EQ(commit_error(c, "", -1, "", "orders", 1), code(error_code::invalid_group_id));
}

TEST_F(GroupTest, CommittedOffsetsSurviveARestart) {
  {
    wire_client c(port());
    produce(c, "durable", batch(10));
    auto j = join_new(c, "keeper");
    ASSERT_EQ(sync(c, "keeper", 1, j.member_id, {{j.member_id, "x"}}).error_code, 0);
    ASSERT_EQ(commit_error(c, "keeper", 1, j.member_id, "durable", 7), 0);
    ASSERT_EQ(commit_error(c, "solo-keeper", -1, "", "durable", 3), 0);
  }
  restart();
  wire_client c(port());
  EXPECT_EQ(committed(c, "keeper", "durable"), 7);
  EXPECT_EQ(committed(c, "solo-keeper", "durable"), 3);
  // Membership did not survive: the old member learns it must rejoin.
  EXPECT_EQ(commit_error(c, "keeper", 1, "old-member", "durable", 8),
            code(error_code::illegal_generation));
  auto j = join_new(c, "keeper");
  ASSERT_EQ(j.error_code, 0);
  EXPECT_EQ(j.generation_id, 1);
}

}  // namespace
}  // namespace eb::test

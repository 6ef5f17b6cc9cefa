// The consumer group protocol's pure parts (KIP-848): the assignors and one group's state
// machine (epochs, revocation before reassignment, leave, static members, expiry, offsets).
#include "bridge/groups/consumer_group.h"

#include <gtest/gtest.h>

#include "bridge/groups/assignor.h"
#include "bridge/groups/errc.h"

namespace eb::bridge::groups {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

topic_uuid uid(uint8_t n) {
  topic_uuid u{};
  u[15] = n;
  return u;
}

topic_snapshot topics(std::initializer_list<std::pair<std::string, int32_t>> list) {
  topic_snapshot out;
  uint8_t n = 1;
  for (auto& [name, parts] : list) out[name] = {name, uid(n++), parts};
  return out;
}

// Every partition of `ts` named in `names` exactly once across `result`.
void expect_partitioned(const std::map<std::string, assignment>& result, const topic_snapshot& ts,
                        const std::set<std::string>& names) {
  std::map<std::pair<topic_uuid, int32_t>, int> seen;
  for (auto& [m, a] : result) {
    for (auto& [id, ps] : a) {
      for (int32_t p : ps) ++seen[{id, p}];
    }
  }
  size_t want = 0;
  for (auto& n : names) {
    auto& t = ts.at(n);
    want += t.partitions;
    for (int32_t p = 0; p < t.partitions; ++p) EXPECT_EQ((seen[{t.id, p}]), 1) << n << "-" << p;
  }
  EXPECT_EQ(seen.size(), want);
}

TEST(Assignor, UniformBalancesAndIsSticky) {
  auto ts = topics({{"a", 4}, {"b", 3}});
  std::vector<assignor_member> two = {{"m1", {"a", "b"}}, {"m2", {"a", "b"}}};
  auto first = assign("uniform", two, ts, {});
  expect_partitioned(first, ts, {"a", "b"});
  EXPECT_EQ(partition_count(first["m1"]) + partition_count(first["m2"]), 7u);
  EXPECT_LE(std::abs(static_cast<int>(partition_count(first["m1"])) -
                     static_cast<int>(partition_count(first["m2"]))),
            1);
  // A third member: each keeps what it can, the newcomer gets its share from them.
  auto three = two;
  three.push_back({"m3", {"a", "b"}});
  auto second = assign("uniform", three, ts, first);
  expect_partitioned(second, ts, {"a", "b"});
  for (auto& id : {"m1", "m2", "m3"}) {
    EXPECT_GE(partition_count(second[id]), 2u) << id;
    EXPECT_LE(partition_count(second[id]), 3u) << id;
  }
  for (auto& id : {"m1", "m2"}) {
    EXPECT_TRUE(minus(second[id], first[id]).empty()) << id << " got a partition it did not have";
  }
  // Four partitions, three members then two: nobody idles while another has three.
  auto ts4 = topics({{"t", 4}});
  auto with3 = assign("uniform", {{"x", {"t"}}, {"y", {"t"}}, {"z", {"t"}}}, ts4, {});
  expect_partitioned(with3, ts4, {"t"});
  auto with2 = assign("uniform", {{"x", {"t"}}, {"y", {"t"}}}, ts4, with3);
  EXPECT_EQ(partition_count(with2["x"]), 2u);
  EXPECT_EQ(partition_count(with2["y"]), 2u);
}

TEST(Assignor, UniformHeterogeneousSubscriptions) {
  auto ts = topics({{"a", 2}, {"b", 6}});
  auto r = assign("uniform", {{"m1", {"a"}}, {"m2", {"a", "b"}}, {"m3", {"b"}}}, ts, {});
  expect_partitioned(r, ts, {"a", "b"});
  EXPECT_FALSE(r["m1"].contains(uid(2))) << "m1 got a topic it does not subscribe to";
  EXPECT_FALSE(r["m3"].contains(uid(1)));
}

TEST(Assignor, RangeGivesContiguousRanges) {
  auto ts = topics({{"t", 5}});
  auto r = assign("range", {{"b", {"t"}}, {"a", {"t"}}}, ts, {});
  EXPECT_EQ(r["a"][uid(1)], (std::set<int32_t>{0, 1, 2}));
  EXPECT_EQ(r["b"][uid(1)], (std::set<int32_t>{3, 4}));
  EXPECT_TRUE(known_assignor("range") && known_assignor("uniform") && !known_assignor("sticky"));
}

TEST(Assignor, NoSubscriberNoAssignment) {
  auto ts = topics({{"t", 3}});
  auto r = assign("uniform", {{"m", {}}}, ts, {});
  EXPECT_TRUE(r["m"].empty());
}

consumer_heartbeat_args join(const std::string& id, std::vector<std::string> topics) {
  consumer_heartbeat_args hb;
  hb.member_id = id;
  hb.member_epoch = 0;
  hb.rebalance_timeout_ms = 60'000;
  hb.topic_names = std::move(topics);
  hb.owned = assignment{};
  return hb;
}

consumer_heartbeat_args beat(const std::string& id, int32_t epoch,
                             std::optional<assignment> owned = std::nullopt) {
  consumer_heartbeat_args hb;
  hb.member_id = id;
  hb.member_epoch = epoch;
  hb.owned = std::move(owned);
  return hb;
}

struct Group : ::testing::Test {
  topic_snapshot ts = topics({{"t", 4}});
  consumer_group g{"g", {}};
  clock::time_point now = clock::now();
};

TEST_F(Group, FirstMemberGetsEverything) {
  auto r = g.heartbeat(join("m1", {"t"}), ts, now);
  ASSERT_FALSE(r.error) << r.error.message();
  EXPECT_GT(r.member_epoch, 0);
  EXPECT_EQ(r.heartbeat_interval_ms, 5000);
  ASSERT_TRUE(r.assigned);
  EXPECT_EQ(partition_count(*r.assigned), 4u);
  EXPECT_EQ(g.state(), "Stable");
  // A heartbeat with nothing new repeats no assignment.
  auto again = g.heartbeat(beat("m1", r.member_epoch), ts, now);
  EXPECT_FALSE(again.error);
  EXPECT_FALSE(again.assigned);
}

TEST_F(Group, PartitionMovesOnlyAfterTheOwnerReleasedIt) {
  auto a = g.heartbeat(join("m1", {"t"}), ts, now);
  const assignment all = *a.assigned;
  auto b = g.heartbeat(join("m2", {"t"}), ts, now);
  ASSERT_FALSE(b.error);
  // m2 is at the new epoch but gets nothing yet: m1 still owns every partition.
  EXPECT_TRUE(b.assigned && b.assigned->empty());
  EXPECT_EQ(g.state_of("m2"), member_state::unreleased_partitions);
  // m1 is told to keep two; its epoch stays until it has revoked the other two.
  auto a2 = g.heartbeat(beat("m1", a.member_epoch), ts, now);
  ASSERT_FALSE(a2.error);
  EXPECT_EQ(a2.member_epoch, a.member_epoch);
  ASSERT_TRUE(a2.assigned);
  EXPECT_EQ(partition_count(*a2.assigned), 2u);
  EXPECT_EQ(g.state_of("m1"), member_state::unrevoked_partitions);
  // m2 still waits: the two are being revoked, not released.
  auto b2 = g.heartbeat(beat("m2", b.member_epoch), ts, now);
  EXPECT_FALSE(b2.assigned);
  EXPECT_EQ(g.state(), "Reconciling");
  // m1 reports it owns only its two: released; m1 moves to the new epoch.
  auto a3 = g.heartbeat(beat("m1", a.member_epoch, *a2.assigned), ts, now);
  ASSERT_FALSE(a3.error);
  EXPECT_EQ(a3.member_epoch, b.member_epoch);
  // Now m2 gets the other two, disjoint from m1's.
  auto b3 = g.heartbeat(beat("m2", b.member_epoch), ts, now);
  ASSERT_TRUE(b3.assigned);
  EXPECT_EQ(partition_count(*b3.assigned), 2u);
  EXPECT_TRUE(intersect(*b3.assigned, *a2.assigned).empty());
  auto both = *b3.assigned;
  add_all(both, *a2.assigned);
  EXPECT_EQ(both, all);
  EXPECT_EQ(g.state(), "Stable");
}

TEST_F(Group, LeaveHandsEverythingToTheOther) {
  auto a = g.heartbeat(join("m1", {"t"}), ts, now);
  auto b = g.heartbeat(join("m2", {"t"}), ts, now);
  auto a2 = g.heartbeat(beat("m1", a.member_epoch), ts, now);
  g.heartbeat(beat("m1", a.member_epoch, *a2.assigned), ts, now);
  auto b2 = g.heartbeat(beat("m2", b.member_epoch), ts, now);
  ASSERT_EQ(partition_count(*b2.assigned), 2u);
  auto left = g.heartbeat(beat("m2", b2.member_epoch), ts, now);
  auto bye = g.heartbeat(beat("m2", -1), ts, now);
  EXPECT_FALSE(bye.error);
  EXPECT_EQ(bye.member_epoch, -1);
  (void)left;
  auto a4 = g.heartbeat(beat("m1", g.describe().members[0].member_epoch), ts, now);
  ASSERT_FALSE(a4.error) << a4.error.message();
  ASSERT_TRUE(a4.assigned);
  EXPECT_EQ(partition_count(*a4.assigned), 4u);
  EXPECT_EQ(g.size(), 1u);
}

TEST_F(Group, EpochErrors) {
  auto a = g.heartbeat(join("m1", {"t"}), ts, now);
  EXPECT_EQ(g.heartbeat(beat("m1", a.member_epoch + 5), ts, now).error,
            make_error_code(errc::fenced_member_epoch));
  EXPECT_EQ(g.heartbeat(beat("nobody", 3), ts, now).error,
            make_error_code(errc::unknown_member_id));
  // Offsets: the member's epoch, not another.
  EXPECT_FALSE(g.validate_offsets("m1", a.member_epoch, true));
  EXPECT_EQ(g.validate_offsets("m1", a.member_epoch - 1, true),
            make_error_code(errc::stale_member_epoch));
  EXPECT_EQ(g.validate_offsets("x", a.member_epoch, true),
            make_error_code(errc::unknown_member_id));
  EXPECT_EQ(g.validate_offsets("", -1, true), make_error_code(errc::unknown_member_id));
  EXPECT_FALSE(g.validate_offsets("", -1, false));
  // A fenced member rejoins with epoch 0 under the same id and gets its partitions again.
  auto again = g.heartbeat(join("m1", {"t"}), ts, now);
  ASSERT_FALSE(again.error);
  EXPECT_EQ(partition_count(*again.assigned), 4u);
}

TEST_F(Group, NewTopicsAndPartitionsAreAssignedAtTheNextHeartbeat) {
  consumer_heartbeat_args hb = join("m1", {});
  hb.topic_names.reset();
  hb.topic_regex = "orders-.*";
  auto a = g.heartbeat(hb, ts, now);
  ASSERT_FALSE(a.error);
  EXPECT_TRUE(a.assigned->empty());
  auto more = ts;
  more["orders-1"] = {"orders-1", uid(9), 2};
  auto a2 = g.heartbeat(beat("m1", a.member_epoch), more, now);
  ASSERT_TRUE(a2.assigned);
  EXPECT_EQ((*a2.assigned)[uid(9)], (std::set<int32_t>{0, 1}));
  EXPECT_GT(a2.member_epoch, a.member_epoch);
  more["orders-1"].partitions = 3;
  auto a3 = g.heartbeat(beat("m1", a2.member_epoch), more, now);
  ASSERT_TRUE(a3.assigned);
  EXPECT_EQ((*a3.assigned)[uid(9)], (std::set<int32_t>{0, 1, 2}));
}

TEST_F(Group, StaticMembers) {
  auto hb = join("s1", {"t"});
  hb.instance_id = "inst";
  auto a = g.heartbeat(hb, ts, now);
  ASSERT_FALSE(a.error);
  auto other = join("s2", {"t"});
  other.instance_id = "inst";
  EXPECT_EQ(g.heartbeat(other, ts, now).error, make_error_code(errc::unreleased_instance_id));
  // -2: the member steps out but keeps its partitions for its replacement.
  auto out = beat("s1", -2);
  out.instance_id = "inst";
  auto left = g.heartbeat(out, ts, now);
  EXPECT_FALSE(left.error);
  EXPECT_EQ(left.member_epoch, -2);
  auto back = g.heartbeat(other, ts, now);
  ASSERT_FALSE(back.error) << back.error.message();
  EXPECT_EQ(partition_count(*back.assigned), 4u);
  EXPECT_EQ(g.size(), 1u);
}

TEST_F(Group, SessionExpiryAndMaxSize) {
  consumer_group small{"s",
                       {.heartbeat_interval = 1s, .session_timeout = 10s, .max_group_size = 1}};
  auto a = small.heartbeat(join("m1", {"t"}), ts, now);
  ASSERT_FALSE(a.error);
  EXPECT_EQ(small.heartbeat(join("m2", {"t"}), ts, now).error,
            make_error_code(errc::group_max_size_reached));
  EXPECT_TRUE(small.expire(now + 9s).empty());
  EXPECT_EQ(small.expire(now + 11s), std::vector<std::string>{"m1"});
  EXPECT_TRUE(small.empty());
}

TEST_F(Group, RevocationDeadlineRemovesAStuckMember) {
  // Sessions longer than the rebalance timeout (60 s in join()), so only the revocation expires.
  consumer_group slow{"r", {.session_timeout = 300s}};
  auto a = slow.heartbeat(join("m1", {"t"}), ts, now);
  slow.heartbeat(join("m2", {"t"}), ts, now);
  slow.heartbeat(beat("m1", a.member_epoch), ts, now);  // told to revoke two
  ASSERT_EQ(slow.state_of("m1"), member_state::unrevoked_partitions);
  EXPECT_TRUE(slow.expire(now + 30s).empty());
  EXPECT_EQ(slow.expire(now + 61s), std::vector<std::string>{"m1"});
}

TEST(ConsumerHeartbeatChecks, Malformed) {
  std::string msg;
  auto hb = join("m", {"t"});
  EXPECT_FALSE(check_heartbeat(hb, 1, msg));
  auto no_id = hb;
  no_id.member_id.clear();
  EXPECT_EQ(check_heartbeat(no_id, 1, msg), make_error_code(errc::invalid_request));
  EXPECT_FALSE(check_heartbeat(no_id, 0, msg));
  auto no_timeout = hb;
  no_timeout.rebalance_timeout_ms = -1;
  EXPECT_EQ(check_heartbeat(no_timeout, 1, msg), make_error_code(errc::invalid_request));
  auto no_sub = hb;
  no_sub.topic_names.reset();
  EXPECT_EQ(check_heartbeat(no_sub, 1, msg), make_error_code(errc::invalid_request));
  auto owned = hb;
  owned.owned = assignment{{uid(1), {0}}};
  EXPECT_EQ(check_heartbeat(owned, 1, msg), make_error_code(errc::invalid_request));
  auto bad_epoch = beat("m", -3);
  EXPECT_EQ(check_heartbeat(bad_epoch, 1, msg), make_error_code(errc::invalid_request));
  auto assignor = hb;
  assignor.server_assignor = "cooperative-sticky";
  EXPECT_EQ(check_heartbeat(assignor, 1, msg), make_error_code(errc::unsupported_assignor));
  auto regex = hb;
  regex.topic_regex = "orders-(";
  EXPECT_EQ(check_heartbeat(regex, 1, msg), make_error_code(errc::invalid_regular_expression));
}

}  // namespace
}  // namespace eb::bridge::groups

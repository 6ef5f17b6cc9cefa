// delete_topic: everything keyed by the topic goes in one write (checked in RocksDB itself), a
// topic created again starts empty at offset 0 with nothing of the old one, ops queued before the
// deletion answer unknown_topic and write nothing, readers holding the topic do not crash, and
// a kill -9 at any moment of delete/recreate cycles leaves one whole generation or none.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <future>
#include <random>
#include <thread>

#include "storage/storage.h"
#include "tests/storage/log_store_fixture.h"

namespace eb::storage::test_fixture {
namespace {

class storage_topic_delete : public storage_log_store {
 protected:
  // Every key of the closed store's log and meta column families, by column family.
  struct raw_keys {
    std::vector<std::string> log, meta;
  };
  raw_keys read_raw() {
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
        {rocksdb::kDefaultColumnFamilyName, {}}, {"log", {}}, {"meta", {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    auto st = rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), opts().data_dir.string(), cfs,
                                           &handles, &raw);
    EXPECT_TRUE(st.ok()) << st.ToString();
    raw_keys out;
    if (!st.ok()) return out;
    std::unique_ptr<rocksdb::DB> db(raw);
    for (int i : {1, 2}) {
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, handles[i]));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        (i == 1 ? out.log : out.meta).push_back(it->key().ToString());
      }
    }
    for (auto* h : handles) (void)db->DestroyColumnFamilyHandle(h);
    return out;
  }
};

uint32_t be32(const std::string& s, size_t at) {
  return static_cast<uint32_t>(test::get_be(s, at, 4));
}

// Keys of the log and of meta's id-keyed entries (segments, log starts, cursors) under `id`.
size_t keys_of_id(const std::vector<std::string>& log, const std::vector<std::string>& meta,
                  uint32_t id) {
  size_t n = 0;
  for (auto& k : log) n += k.size() >= 4 && be32(k, 0) == id;
  for (auto& k : meta) {
    if (k.size() >= 5 && (k[0] == 'x' || k[0] == 's' || k[0] == 'm') && be32(k, 1) == id) ++n;
    if (k.size() == 17 && k[0] == 'p' && be32(k, 9) == id) ++n;
  }
  return n;
}

std::vector<std::string> payloads(log_store& s, const std::string& t, int32_t p) {
  std::vector<std::string> out;
  auto r = s.read(t, p, 0, 1 << 20);
  EXPECT_TRUE(r) << t;
  if (!r) return out;
  for (auto& b : *r) out.push_back(test::payload_of(b.bytes));
  return out;
}

TEST_F(storage_topic_delete, removes_every_key_and_a_recreated_topic_starts_empty) {
  uint32_t old_id = 0, newest_id = 0;
  {
    auto s = open();
    topic_config cfg{.partitions = 2};
    cfg.settings["retention.ms"] = "1000";
    auto t = s->create_topic("t", cfg);
    ASSERT_TRUE(t);
    old_id = t->id;
    ASSERT_TRUE(s->create_topic("u", topic_config{.partitions = 1}));
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(append_one(*s, make_request("t", 0, payload("old" + std::to_string(i)))));
      ASSERT_TRUE(append_one(*s, make_request("t", 1, payload("old"))));
    }
    ASSERT_TRUE(append_one(*s, make_request("t", 0, idem(7, 0, 0))));
    ASSERT_TRUE(append_one(*s, make_request("u", 0, payload("keep"))));
    ASSERT_TRUE(s->commit_mirror_cursors({{{"t", 0}, 2}, {{"u", 0}, 1}}));
    ASSERT_TRUE(s->commit_group_offsets("g", {{{"t", 0}, {3, "m"}}, {{"u", 0}, {1, "n"}}}));
    ASSERT_TRUE(s->commit_group_offsets("h", {{{"t", 1}, {1, ""}}}));
    ASSERT_TRUE(s->add_gap(gap{.topic = "t", .partition = 0, .last_offset = 1, .reason = "x"}));
    ASSERT_TRUE(s->add_gap(gap{.topic = "u", .partition = 0, .last_offset = 0, .reason = "y"}));

    auto deleted = s->delete_topic("t");
    ASSERT_TRUE(deleted) << deleted.error().message();
    EXPECT_EQ(deleted->id, old_id);
    EXPECT_EQ(deleted->config.settings.at("retention.ms"), "1000");
    EXPECT_FALSE(s->find_topic("t"));
    EXPECT_EQ(s->topics().size(), 1u);
    EXPECT_EQ(s->offsets("t", 0).error(), errc::unknown_topic);
    EXPECT_EQ(s->read("t", 0, 0, 1000).error(), errc::unknown_topic);
    EXPECT_FALSE(s->mirror_cursor("t", 0));
    EXPECT_EQ(append_one(*s, make_request("t", 0, payload("late"))).error(), errc::unknown_topic);
    EXPECT_EQ(s->delete_records("t", 0, 1).error(), errc::unknown_topic);
    EXPECT_EQ(s->delete_topic("t").error(), errc::unknown_topic);
    auto g = s->group_offsets("g");
    ASSERT_EQ(g.size(), 1u);
    EXPECT_EQ(g.begin()->first, std::make_pair(std::string("u"), 0));
    EXPECT_EQ(g.begin()->second.metadata, "n");
    EXPECT_TRUE(s->group_offsets("h").empty());
    auto gaps = s->gaps_after(0);
    ASSERT_EQ(gaps.size(), 1u);
    EXPECT_EQ(gaps[0].topic, "u");
    // Other topics are untouched.
    EXPECT_EQ(payloads(*s, "u", 0), std::vector<std::string>{"keep"});
    EXPECT_EQ(s->mirror_cursor("u", 0), 1);

    // Created again: empty at 0, a new id, no old producer state, the default config.
    auto again = s->create_topic("t", topic_config{.partitions = 1});
    ASSERT_TRUE(again);
    EXPECT_GT(again->id, old_id);
    EXPECT_TRUE(again->config.settings.empty());
    EXPECT_EQ(s->offsets("t", 0)->high_watermark, 0);
    EXPECT_FALSE(s->mirror_cursor("t", 0));
    // Producer 7's state went with the old topic: sequence 1 is not a continuation.
    EXPECT_EQ(append_one(*s, make_request("t", 0, idem(7, 0, 1))).error(),
              errc::unknown_producer_id);
    auto first = append_one(*s, make_request("t", 0, payload("new")));
    ASSERT_TRUE(first);
    EXPECT_EQ(first->base_offset, 0);
    EXPECT_EQ(payloads(*s, "t", 0), std::vector<std::string>{"new"});
    EXPECT_TRUE(s->delete_topic("u"));
    auto newest = s->create_topic("w", topic_config{.partitions = 1});
    ASSERT_TRUE(newest);
    newest_id = newest->id;
    EXPECT_TRUE(s->delete_topic("w"));  // the newest id before the reopen below: not reused
    s->close();
  }
  auto raw = read_raw();
  EXPECT_EQ(keys_of_id(raw.log, raw.meta, old_id), 0u);
  for (auto& k : raw.meta) {
    EXPECT_TRUE(k[0] != 'l') << "gap entries of deleted topics are gone";
  }
  {
    auto s = open();
    EXPECT_EQ(s->topics().size(), 1u);
    EXPECT_EQ(payloads(*s, "t", 0), std::vector<std::string>{"new"});
    EXPECT_FALSE(s->find_topic("u"));
    auto next = s->create_topic("v", topic_config{.partitions = 1});
    ASSERT_TRUE(next);
    EXPECT_GT(next->id, newest_id) << "w's id is not given again";
    EXPECT_EQ(s->offsets("v", 0)->high_watermark, 0);
  }
}

// Ops queued before the deletion, in the same group: the append before it is stored (and goes
// with the topic), everything after it answers unknown_topic, and a create after it starts anew.
TEST_F(storage_topic_delete, ops_around_a_deletion_in_one_group) {
  auto s = open();
  ASSERT_TRUE(s->create_topic("t", topic_config{.partitions = 1}));
  ASSERT_TRUE(append_one(*s, make_request("t", 0, payload("a"))));
  ASSERT_TRUE(append_one(*s, make_request("t", 0, payload("b"))));

  testing::writer_hold hold(*s);
  std::promise<result<int64_t>> pid;
  s->allocate_producer_id([&](result<int64_t> r) { pid.set_value(r); });
  ASSERT_TRUE(hold.wait_held(1, std::chrono::seconds(10)));  // the writer holds [pid]

  auto async_append = [&](std::string p) {
    auto pr = std::make_shared<std::promise<result<append_ack>>>();
    std::vector<append_request> v;
    v.push_back(make_request("t", 0, payload(std::move(p))));
    s->append(std::move(v), [pr](auto r) { pr->set_value(r.at(0)); });
    return pr->get_future();
  };
  std::promise<result<topic_info>> del, created;
  std::promise<result<void>> cursor;
  std::promise<result<int64_t>> dr;
  auto before = async_append("c");
  s->delete_topic("t", [&](auto r) { del.set_value(r); });
  auto after = async_append("d");
  s->commit_mirror_cursors({{{"t", 0}, 1}}, [&](auto r) { cursor.set_value(r); });
  s->delete_records("t", 0, 1, [&](auto r) { dr.set_value(r); });
  s->create_topic("t", topic_config{.partitions = 1}, [&](auto r) { created.set_value(r); });
  ASSERT_TRUE(hold.wait_held(7, std::chrono::seconds(10)));
  hold.release();

  auto b = eb::test::get_within(std::move(before), "append");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->base_offset, 2);
  ASSERT_TRUE(eb::test::get_within(del.get_future(), "delete"));
  EXPECT_EQ(eb::test::get_within(std::move(after), "append").error(), errc::unknown_topic);
  EXPECT_EQ(eb::test::get_within(cursor.get_future(), "cursor").error(), errc::unknown_topic);
  EXPECT_EQ(eb::test::get_within(dr.get_future(), "delete_records").error(), errc::unknown_topic);
  ASSERT_TRUE(eb::test::get_within(created.get_future(), "create"));
  auto e = append_one(*s, make_request("t", 0, payload("e")));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->base_offset, 0);
  EXPECT_EQ(payloads(*s, "t", 0), std::vector<std::string>{"e"});
  EXPECT_FALSE(s->mirror_cursor("t", 0));
  ASSERT_TRUE(testing::check_log_ends(*s));
  s.reset();
  s = open();
  EXPECT_EQ(payloads(*s, "t", 0), std::vector<std::string>{"e"});
  EXPECT_EQ(s->offsets("t", 0)->log_start, 0);
}

// Readers, appenders and listeners hold the topic while it is deleted and created again: no
// crash, only clean errors, and listeners hear -1 for each deleted partition.
TEST_F(storage_topic_delete, concurrent_readers_and_appenders_see_clean_errors) {
  auto s = open();
  ASSERT_TRUE(s->create_topic("t", topic_config{.partitions = 2}));
  std::atomic<int> gone_notices{0};
  auto token = s->subscribe([&](const std::string& t, int32_t, int64_t hw) {
    if (t == "t" && hw == -1) ++gone_notices;
  });
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  auto ok_or_gone = [&](std::error_code ec) {
    if (ec != errc::unknown_topic && ec != errc::offset_out_of_range &&
        ec != errc::unknown_partition) {
      ++bad;
    }
  };
  std::thread reader([&] {
    for (int i = 0; i < 100'000 && !stop; ++i) {
      if (auto r = s->read("t", i % 2, 0, 4096); !r) ok_or_gone(r.error());
      if (auto o = s->offsets("t", i % 2); !o) ok_or_gone(o.error());
      (void)s->mirror_cursor("t", 0);
    }
  });
  std::thread appender([&] {
    for (int i = 0; i < 100'000 && !stop; ++i) {
      if (auto r = append_one(*s, make_request("t", i % 2, payload("x"))); !r) {
        ok_or_gone(r.error());
      }
      if (auto c = s->commit_mirror_cursors({{{"t", 0}, 0}}); !c) ok_or_gone(c.error());
    }
  });
  constexpr int rounds = 20;
  for (int i = 0; i < rounds; ++i) {
    ASSERT_TRUE(s->delete_topic("t"));
    ASSERT_TRUE(s->create_topic("t", topic_config{.partitions = 2}));
  }
  stop = true;
  reader.join();
  appender.join();
  EXPECT_EQ(bad.load(), 0);
  s->unsubscribe(token);
  EXPECT_EQ(gone_notices.load(), rounds * 2);
  ASSERT_TRUE(testing::check_log_ends(*s));
}

// kill -9 during delete/recreate cycles: after the restart the topic is one whole generation
// (its batches, group offset and cursor all of it) or absent, and no key of another generation
// is left.
TEST_F(storage_topic_delete, kill_during_delete_leaves_one_generation_or_none) {
  std::mt19937 rng(std::random_device{}());
  for (int round = 0; round < 6; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(fds[0]);
      auto st = log_store::open(opts());
      if (!st) _exit(2);
      auto& s = **st;
      for (int gen = 0; gen < 100'000; ++gen) {
        const auto tag = "g" + std::to_string(round) + "-" + std::to_string(gen);
        if (s.find_topic("t") && !s.delete_topic("t")) _exit(3);
        if (!s.create_topic("t", topic_config{.partitions = 1})) _exit(4);
        for (int i = 0; i < 3; ++i) {
          if (!append_one(s, make_request("t", 0, payload(tag)))) _exit(5);
        }
        if (!s.commit_group_offsets("g", {{{"t", 0}, {2, tag}}})) _exit(6);
        if (!s.commit_mirror_cursors({{{"t", 0}, 1}})) _exit(7);
        if (gen == 2 && write(fds[1], "r", 1) != 1) _exit(8);
      }
      _exit(0);
    }
    close(fds[1]);
    char c = 0;
    ASSERT_EQ(read(fds[0], &c, 1), 1) << "the child runs";
    close(fds[0]);
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 30'000));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "exit " << WEXITSTATUS(status);

    uint32_t id = 0;
    {
      auto s = open();
      ASSERT_TRUE(s);
      ASSERT_TRUE(testing::check_log_ends(*s));
      auto g = s->group_offsets("g");
      if (auto t = s->find_topic("t")) {
        id = t->id;
        auto p = payloads(*s, "t", 0);
        ASSERT_LE(p.size(), 3u);
        for (auto& x : p) EXPECT_EQ(x, p[0]) << "one generation's batches only";
        if (auto it = g.find({"t", 0}); it != g.end()) {
          EXPECT_EQ(p.size(), 3u);
          EXPECT_EQ(it->second.metadata, p[0]) << "the offset is of the same generation";
        }
        if (s->mirror_cursor("t", 0)) {
          EXPECT_TRUE(g.contains({"t", 0}));
        }
      } else {
        EXPECT_TRUE(g.empty()) << "no offsets of a deleted topic";
      }
      s->close();
    }
    auto raw = read_raw();
    size_t all = 0;
    for (auto& k : raw.log) all += be32(k, 0) != id;
    for (auto& k : raw.meta) {
      if ((k[0] == 'x' || k[0] == 's' || k[0] == 'm') && be32(k, 1) != id) ++all;
    }
    EXPECT_EQ(all, 0u) << "keys of another generation than topic id " << id;
    ASSERT_TRUE(std::filesystem::remove_all(opts().data_dir) > 0);
  }
}

}  // namespace
}  // namespace eb::storage::test_fixture

// Source cursors: an opaque meta entry stored in the same write as its append, exactly when the
// batch is stored (the downlink's exactly-once rests on it), and across a reopen.
#include <gtest/gtest.h>

#include "storage/storage.h"
#include "tests/storage/log_store_fixture.h"

namespace eb::storage::test_fixture {
namespace {

class storage_source_cursor : public storage_log_store {};

append_request with_cursor(append_request r, std::string key, std::string value) {
  r.source_key = std::move(key);
  r.source_value = std::move(value);
  return r;
}

TEST_F(storage_source_cursor, source_cursor_is_stored_with_its_batch_only) {
  auto s = open();
  ASSERT_TRUE(s->create_topic("t", topic_config{.partitions = 1}));
  ASSERT_TRUE(append_one(*s, with_cursor(make_request("t", 0, payload("a", 3)), "dl/t/0", "3 c")));
  EXPECT_EQ(s->source_cursors("dl/"), (std::map<std::string, std::string>{{"dl/t/0", "3 c"}}));

  // A refused request (unknown partition) writes no cursor; nor does an invalid one.
  auto r = append_one(*s, with_cursor(make_request("t", 5, payload("b")), "dl/t/5", "9 c"));
  EXPECT_FALSE(r);
  auto bad = make_request("t", 0, payload("b"));
  bad.record_count = 7;  // not the batch's count
  EXPECT_FALSE(append_one(*s, with_cursor(std::move(bad), "dl/t/0", "99 c")));
  EXPECT_FALSE(append_one(*s, with_cursor(make_request("t", 0, payload("b")),
                                          std::string(max_source_cursor_bytes + 1, 'k'), "1")));
  EXPECT_EQ(s->source_cursors("dl/").at("dl/t/0"), "3 c");

  // An idempotent retry is not stored again and leaves the cursor as it was.
  ASSERT_TRUE(append_one(*s, with_cursor(make_request("t", 0, idem(7, 0, 0)), "dl/t/0", "4 c")));
  auto dup = append_one(*s, with_cursor(make_request("t", 0, idem(7, 0, 0)), "dl/t/0", "5 c"));
  ASSERT_TRUE(dup);
  EXPECT_TRUE(dup->duplicate);
  EXPECT_EQ(s->source_cursors("dl/").at("dl/t/0"), "4 c");

  // Set and removed alone; other prefixes are not listed.
  ASSERT_TRUE(s->put_source_cursors({{"dl/o/t", "cloud"}, {"other", "x"}}));
  EXPECT_EQ(s->source_cursors("dl/o/").size(), 1u);
  ASSERT_TRUE(s->put_source_cursors({{"other", ""}}));
  EXPECT_TRUE(s->source_cursors("other").empty());

  s->close();
  s.reset();
  s = open();
  EXPECT_EQ(s->source_cursors("dl/"),
            (std::map<std::string, std::string>{{"dl/o/t", "cloud"}, {"dl/t/0", "4 c"}}));
  EXPECT_EQ(s->offsets("t", 0)->high_watermark, 4);
}

TEST_F(storage_source_cursor, source_cursor_is_not_written_when_the_quota_refuses_the_batch) {
  auto o = opts();
  o.segment_bytes = 4096;
  o.max_disk_bytes = 4 * 4096;
  auto s = open(o);
  ASSERT_TRUE(s->create_topic("t", topic_config{.partitions = 1}));
  ASSERT_TRUE(append_one(*s, with_cursor(make_request("t", 0, payload("a")), "k", "1")));
  auto r = append_one(
      *s, with_cursor(make_request("t", 0, payload(std::string(4 * 4096, 'x'))), "k", "2"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::disk_full);
  EXPECT_EQ(s->source_cursors("k").at("k"), "1");
}

}  // namespace
}  // namespace eb::storage::test_fixture

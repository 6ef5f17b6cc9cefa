#pragma once
// The fixture of the log_store tests: a store in a temporary directory, reopened at will.
#include <gtest/gtest.h>

#include <atomic>
#include <climits>
#include <latch>
#include <mutex>
#include <set>

#include "storage/storage.h"
#include "storage/test_hooks.h"
#include "tests/storage/batch_util.h"
#include "tests/storage/test_util.h"
#include "tests/support/bounded_wait.h"

namespace eb::storage::test_fixture {
// One fixture class for every file of the storage_log_store suite (gtest requires the same
// class for a suite), so nothing here is in an anonymous namespace.

using test::append_one;
using test::append_sync;
using test::batch_spec;
using test::make_request;

class storage_log_store : public ::testing::Test {
 protected:
  options opts() const {
    options o;
    o.data_dir = _dir.path() / "data";
    o.block_cache_bytes = 1 << 20;
    o.write_buffer_bytes = 1 << 20;
    return o;
  }
  std::unique_ptr<log_store> open(const options& o) {
    auto s = log_store::open(o);
    EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().message());
    return s ? std::move(*s) : nullptr;
  }
  std::unique_ptr<log_store> open() { return open(opts()); }

  test::temp_dir _dir;
};

inline batch_spec payload(std::string p, int32_t records = 1) {
  batch_spec b;
  b.payload = std::move(p);
  b.records = records;
  return b;
}

inline batch_spec idem(int64_t pid, int16_t epoch, int32_t seq, int32_t records = 1) {
  batch_spec b;
  b.producer_id = pid;
  b.epoch = epoch;
  b.base_sequence = seq;
  b.records = records;
  b.payload = "p" + std::to_string(pid) + "e" + std::to_string(epoch) + "s" + std::to_string(seq);
  return b;
}

}  // namespace eb::storage::test_fixture

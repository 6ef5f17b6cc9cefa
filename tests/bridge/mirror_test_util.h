#pragma once
// What the mirror tests against the real broker share: includes, timestamps, log and cloud checks.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <future>
#include <set>
#include <thread>

#include "bridge/mirror/mirror.h"
#include "storage/test_hooks.h"
#include "tests/bridge/mirror_support.h"
#include "tests/support/bounded_wait.h"
#include "tests/support/cloud_kafka.h"

namespace eb::bridge {
namespace {

using namespace std::chrono_literals;
using test::mirrored_record;
using ::testing::HasSubstr;

constexpr net::compression all_codecs[] = {net::compression::none, net::compression::gzip,
                                           net::compression::snappy, net::compression::lz4,
                                           net::compression::zstd};

// Record timestamps near now: old ones would be deleted by retention (edge and cloud) mid-test.
inline int64_t base_ts() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

const mirror_partition_status* find_partition(const mirror_status& s, const std::string& topic,
                                              int32_t partition) {
  for (auto& p : s.partitions) {
    if (p.topic == topic && p.partition == partition) return &p;
  }
  return nullptr;
}

inline int count_lines(const test::captured_log& log, const std::string& text) {
  int n = 0;
  for (auto& l : log.lines()) n += l.find(text) != std::string::npos;
  return n;
}

// The cloud must hold exactly the stored records, in order, each once, with provenance.
inline void expect_cloud_matches(const std::string& bootstrap, const storage::log_store& store,
                                 const std::string& site, const std::string& topic,
                                 const std::string& target, int32_t partition) {
  auto edge = test::stored_records(store, topic, partition);
  auto cloud = test::cloud_records(bootstrap, target, partition);
  ASSERT_EQ(cloud.size(), edge.size()) << target << "[" << partition << "]";
  for (size_t i = 0; i < edge.size(); ++i) {
    auto expected =
        test::with_provenance(edge[i], site, topic, partition, store.find_topic(topic)->id);
    auto got = cloud[i];
    got.offset = expected.offset;  // cloud offsets are the cloud's own
    ASSERT_EQ(got, expected) << "record " << i << " of " << target << "[" << partition << "]";
  }
}

class MirrorCodecs : public ::testing::TestWithParam<std::string> {};

// Every source codec, through each uplink codec; records appended before and while mirroring.

}  // namespace
}  // namespace eb::bridge

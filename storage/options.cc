#include <string>
#include <vector>

#include "storage/storage.h"

namespace eb::storage {

std::vector<std::string> validate(const options& o) {
  std::vector<std::string> problems;
  auto bad = [&](const char* key, const std::string& why) {
    problems.push_back(std::string("storage.") + key + ": " + why);
  };
  if (o.data_dir.empty()) bad("data_dir", "must not be empty");
  if (o.fsync == fsync_policy::interval &&
      (o.fsync_interval.count() <= 0 || o.fsync_interval > std::chrono::minutes(10))) {
    bad("fsync_interval", "must be in (0 ms, 10 min] when fsync is interval");
  }
  if (o.max_disk_bytes != 0 && o.max_disk_bytes < 4 * o.segment_bytes) {
    bad("max_disk_bytes", "must be 0 (no quota) or at least 4 x segment_bytes");
  }
  if (o.block_cache_bytes < (1ull << 20)) bad("block_cache_bytes", "must be at least 1 MiB");
  if (o.write_buffer_bytes < (256ull << 10) || o.write_buffer_bytes > (1ull << 30)) {
    bad("write_buffer_bytes", "must be in [256 KiB, 1 GiB]");
  }
  if (o.max_write_buffers < 2 || o.max_write_buffers > 16) {
    bad("max_write_buffers", "must be in [2, 16]");
  }
  if (o.max_pending_appends == 0 || o.max_pending_appends > 1'000'000) {
    bad("max_pending_appends", "must be in [1, 1000000]");
  }
  if (o.max_pending_bytes < (64ull << 10) || o.max_pending_bytes > (16ull << 30)) {
    bad("max_pending_bytes", "must be in [64 KiB, 16 GiB]");
  }
  if (o.max_group_commit_bytes < (64ull << 10) || o.max_group_commit_bytes > (1ull << 30)) {
    bad("max_group_commit_bytes", "must be in [64 KiB, 1 GiB]");
  }
  if (o.retention_check_interval.count() <= 0) {
    bad("retention_check_interval", "must be positive");
  }
  if (o.segment_bytes < (4ull << 10) || o.segment_bytes > (1ull << 30)) {
    bad("segment_bytes", "must be in [4 KiB, 1 GiB]");
  }
  if (o.segment_ms.count() <= 0) bad("segment_ms", "must be positive");
  if (o.producer_expiry.count() <= 0) bad("producer_expiry", "must be positive");
  if (o.compaction_max_pass_bytes < (64ull << 10)) {
    bad("compaction_max_pass_bytes", "must be at least 64 KiB");
  }
  return problems;
}

}  // namespace eb::storage

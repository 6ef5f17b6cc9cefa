// A real ENOSPC: the store lives on a 32 MiB tmpfs we mount ourselves. Filling it must answer
// disk_full (never io_error, never corrupt what is stored), and writes must come back by
// themselves once space is freed.
#include <errno.h>
#include <gtest/gtest.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <fstream>

#include "storage/storage.h"
#include "storage/test_hooks.h"
#include "tests/storage/batch_util.h"
#include "tests/storage/test_util.h"

namespace eb::storage {
namespace {

class mounted_tmpfs {
 public:
  explicit mounted_tmpfs(const std::filesystem::path& dir) : _dir(dir) {
    _ok = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=32m") == 0;
    if (!_ok) _error = strerror(errno);
  }
  ~mounted_tmpfs() {
    if (_ok) ::umount2(_dir.c_str(), MNT_DETACH);
  }
  bool ok() const { return _ok; }
  const std::string& error() const { return _error; }

 private:
  std::filesystem::path _dir;
  bool _ok = false;
  std::string _error;
};

TEST(storage_enospc, a_full_disk_answers_disk_full_and_recovers_when_space_returns) {
  test::temp_dir dir;
  mounted_tmpfs fs(dir.path());
  if (!fs.ok()) {
    GTEST_SKIP() << "cannot mount a tmpfs (" << fs.error()
                 << "): run as root with CAP_SYS_ADMIN to test a real ENOSPC";
  }
  // Ballast we delete later to give space back.
  const auto ballast = dir.path() / "ballast";
  {
    std::ofstream f(ballast, std::ios::binary);
    const std::string mib(1 << 20, 'b');
    for (int i = 0; i < 8; ++i) f.write(mib.data(), static_cast<std::streamsize>(mib.size()));
    ASSERT_TRUE(f.good());
  }
  options o;
  o.data_dir = dir.path() / "data";
  o.write_buffer_bytes = 1 << 20;
  o.block_cache_bytes = 1 << 20;
  auto opened = log_store::open(o);
  ASSERT_TRUE(opened) << opened.error().message();
  auto store = std::move(*opened);
  ASSERT_TRUE(store->create_topic("t", {}));

  std::vector<std::string> acked;  // payload by offset (one record per batch)
  auto append = [&](int i) {
    test::batch_spec b;
    b.payload = "rec-" + std::to_string(i) + "-";
    b.payload.resize(16 << 10, static_cast<char>('a' + i % 26));
    return test::append_one(*store, test::make_request("t", 0, b));
  };
  std::error_code failure;
  int i = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  for (; i < 4000 && std::chrono::steady_clock::now() < deadline; ++i) {
    auto r = append(i);
    if (!r) {
      failure = r.error();
      break;
    }
    ASSERT_EQ(r->base_offset, static_cast<int64_t>(acked.size()));
    acked.push_back("rec-" + std::to_string(i) + "-");
  }
  ASSERT_EQ(failure, errc::disk_full) << failure.message() << " after " << acked.size();
  std::cout << "disk full after " << acked.size() << " appends of 16 KiB\n";
  // Still full: fails fast with disk_full, and reads keep working.
  for (int k = 0; k < 5; ++k) EXPECT_EQ(append(++i).error(), errc::disk_full);
  auto check_all = [&](log_store& s) {
    auto offs = s.offsets("t", 0);
    ASSERT_TRUE(offs);
    EXPECT_EQ(offs->high_watermark, static_cast<int64_t>(acked.size()));
    int64_t next = 0;
    while (next < offs->high_watermark) {
      auto batches = s.read("t", 0, next, 1 << 20);
      ASSERT_TRUE(batches) << batches.error().message();
      for (const auto& b : *batches) {
        ASSERT_EQ(b.base_offset, next);
        ASSERT_EQ(test::payload_of(b.bytes).substr(0, acked[next].size()), acked[next]);
        next = b.last_offset + 1;
      }
    }
  };
  check_all(*store);

  // Space returns: writes resume without a restart.
  std::filesystem::remove(ballast);
  bool resumed = false;
  const auto resume_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!resumed && std::chrono::steady_clock::now() < resume_deadline) {
    auto r = append(++i);
    if (r) {
      ASSERT_EQ(r->base_offset, static_cast<int64_t>(acked.size()));
      acked.push_back("rec-" + std::to_string(i) + "-");
      resumed = true;
    } else {
      EXPECT_EQ(r.error(), errc::disk_full);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ASSERT_TRUE(resumed) << "writes did not resume after space was freed";
  for (int k = 0; k < 20; ++k) {
    auto r = append(++i);
    ASSERT_TRUE(r) << r.error().message();
    acked.push_back("rec-" + std::to_string(i) + "-");
  }
  check_all(*store);
  store.reset();

  // Nothing stored was corrupted: a reopen sees every acknowledged record.
  auto again = log_store::open(o);
  ASSERT_TRUE(again) << again.error().message();
  ASSERT_TRUE(testing::check_log_ends(**again));
  check_all(**again);
}

}  // namespace
}  // namespace eb::storage

// A full disk: filling it must answer disk_full (never io_error, never abort, never corrupt what
// is stored), and writes must come back by themselves once space is freed. A real ENOSPC on a
// 32 MiB tmpfs we mount ourselves (root only), and a file system that fails every write with
// ENOSPC on demand (anyone, deterministic).
#include <errno.h>
#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

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

// Every write to every file (WAL, SST, MANIFEST, an info log) fails with ENOSPC while `full`.
class fillable_file : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  fillable_file(std::unique_ptr<rocksdb::FSWritableFile> f, const std::atomic<bool>& full)
      : FSWritableFileOwnerWrapper(std::move(f)), _full(full) {}
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* d) override {
    return _full ? rocksdb::IOStatus::NoSpace("test: disk full") : target()->Append(data, o, d);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo& v,
                           rocksdb::IODebugContext* d) override {
    return _full ? rocksdb::IOStatus::NoSpace("test: disk full") : target()->Append(data, o, v, d);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& o,
                                     rocksdb::IODebugContext* d) override {
    return _full ? rocksdb::IOStatus::NoSpace("test: disk full")
                 : target()->PositionedAppend(data, offset, o, d);
  }

 private:
  const std::atomic<bool>& _full;
};

class fillable_fs : public rocksdb::FileSystemWrapper {
 public:
  using FileSystemWrapper::FileSystemWrapper;
  const char* Name() const override { return "fillable_fs"; }
  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* d) override {
    auto s = target()->NewWritableFile(f, o, r, d);
    if (s.ok()) *r = std::make_unique<fillable_file>(std::move(*r), full);
    return s;
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* d) override {
    auto s = target()->ReopenWritableFile(f, o, r, d);
    if (s.ok()) *r = std::make_unique<fillable_file>(std::move(*r), full);
    return s;
  }
  std::atomic<bool> full{false};
};

// A composite Env hands its info log to the default Env, past the file system: this one puts
// RocksDB's default file logger on the fillable file system too, as it is on a real full disk.
class fillable_env : public rocksdb::EnvWrapper {
 public:
  using EnvWrapper::EnvWrapper;
  rocksdb::Status NewLogger(const std::string& fname,
                            std::shared_ptr<rocksdb::Logger>* result) override {
    return Env::NewLogger(fname, result);
  }
};

// RocksDB asserts (aborting the process) when its file logger writes the next line after one
// failed with ENOSPC (~1 run in 8 of the tmpfs test below died that way), and when a WAL whose
// write failed is synced (the interval sync). Here every file fails at once, under each policy.
TEST(storage_enospc, every_file_failing_with_enospc_is_survived_under_every_fsync_policy) {
  for (auto policy : {fsync_policy::always, fsync_policy::interval, fsync_policy::never}) {
    SCOPED_TRACE(static_cast<int>(policy));
    test::temp_dir dir;
    auto fs = std::make_shared<fillable_fs>(rocksdb::FileSystem::Default());
    fillable_env env(rocksdb::NewCompositeEnv(fs));
    options o;
    o.data_dir = dir.path() / "data";
    o.write_buffer_bytes = 1 << 20;
    o.block_cache_bytes = 1 << 20;
    o.fsync = policy;
    o.fsync_interval = std::chrono::milliseconds(5);
    int64_t acked = 0;
    {
      auto opened = testing::open_with_env(o, &env);
      ASSERT_TRUE(opened) << opened.error().message();
      auto store = std::move(*opened);
      ASSERT_TRUE(store->create_topic("t", {}));
      auto append = [&] {
        test::batch_spec b;
        b.payload = std::string(4 << 10, 'p');
        return test::append_one(*store, test::make_request("t", 0, b));
      };
      for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(append());
        ++acked;
      }
      fs->full = true;
      // Every failed write logs; the writer keeps retrying Resume() and the interval sync.
      for (int i = 0; i < 20; ++i) {
        auto r = append();
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error(), errc::disk_full) << r.error().message();
        // Not a synchronisation: time for the interval sync and Resume() timers to fire too.
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      fs->full = false;
      bool resumed = false;
      for (int i = 0; i < 300 && !resumed; ++i) {
        auto r = append();
        if (r) {
          EXPECT_EQ(r->base_offset, acked);
          ++acked;
          resumed = true;
        } else {
          EXPECT_EQ(r.error(), errc::disk_full);
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      }
      ASSERT_TRUE(resumed) << "writes did not resume after space returned";
      store->close();
      EXPECT_EQ(store->offsets("t", 0)->high_watermark, acked);
    }
    auto again = testing::open_with_env(o, &env);
    ASSERT_TRUE(again) << again.error().message();
    ASSERT_TRUE(testing::check_log_ends(**again));
    EXPECT_EQ((*again)->offsets("t", 0)->high_watermark, acked);
  }
}

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

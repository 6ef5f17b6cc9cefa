#pragma once
// For tests and benches only: open a store on a custom RocksDB Env (fault injection, e.g. a file
// system that loses unsynced WAL data on kill, to model an OS crash), check recovered log ends,
// move the store's clock, wait for retention passes, and hold the writer thread.
#include <chrono>
#include <cstddef>
#include <memory>

#include "storage/storage.h"

namespace rocksdb {
class Env;
}

namespace eb::storage::testing {

// `env` must outlive the store.
result<std::unique_ptr<log_store>> open_with_env(const options& opts, rocksdb::Env* env);

// Checks, with one SeekForPrev per partition, that the last stored batch of every partition ends
// exactly at its high watermark (open derives it from the segment records in meta instead).
// Call with no appends in flight. io_error on a disagreement (and logs it).
result<void> check_log_ends(log_store& store);

// Moves the store's wall clock (append times, retention ages, segment_ms) `by` ahead of the
// system clock, from now on; cumulative. For retention tests that must not sleep.
void advance_clock(log_store& store, std::chrono::milliseconds by);

// True once `passes` retention passes have finished after this call; false after `timeout`.
// A pass that finished waiting proves retention looked at everything committed before the call.
bool wait_retention_passes(log_store& store, uint64_t passes, std::chrono::milliseconds timeout);

// Holds the writer thread while it lives: the next group the writer takes (appends and every
// other write) waits, neither written nor completed, until release() or the destructor. Reads
// keep working. For tests that show nothing but the held writes waits for the writer. Release
// before closing the store (close waits for the writer). Not thread-safe itself.
class writer_hold {
 public:
  explicit writer_hold(log_store& store);
  ~writer_hold();
  writer_hold(const writer_hold&) = delete;
  writer_hold& operator=(const writer_hold&) = delete;

  // True once the writer waits on the hold with at least `writes` writes waiting for it (in the
  // group it holds or queued behind it; an append call or any other write counts one); false
  // after `timeout`.
  bool wait_held(size_t writes, std::chrono::milliseconds timeout);
  // Lets the writer go on (the held group is then written and completed). Idempotent.
  void release();

 private:
  log_store* _store;
};

}  // namespace eb::storage::testing

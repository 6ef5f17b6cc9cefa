#pragma once
// For tests and benches only: open a store on a custom RocksDB Env (fault injection, e.g. a file
// system that loses unsynced WAL data on kill, to model an OS crash).
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

}  // namespace eb::storage::testing

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

}  // namespace eb::storage::testing

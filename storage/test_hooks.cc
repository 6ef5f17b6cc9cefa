// Test and bench hooks (test_hooks.h): a custom RocksDB Env, the log-end check and the writer hold.
#include "storage/test_hooks.h"

#include <stdexcept>

#include "storage/store_impl.h"

namespace eb::storage::testing {
namespace {

store_impl& impl_of(log_store& store) {
  auto* impl = dynamic_cast<store_impl*>(&store);
  if (impl == nullptr) throw std::invalid_argument("not a RocksDB log store");
  return *impl;
}

}  // namespace

result<std::unique_ptr<log_store>> open_with_env(const options& opts, rocksdb::Env* env) {
  return store_impl::open(opts, env);
}

result<void> check_log_ends(log_store& store) {
  auto* impl = dynamic_cast<store_impl*>(&store);
  if (impl == nullptr) return make_error_code(std::errc::invalid_argument);
  return impl->check_log_ends();
}

writer_hold::writer_hold(log_store& store) : _store(&store) { impl_of(store).hold_writer(true); }

writer_hold::~writer_hold() { release(); }

bool writer_hold::wait_held(size_t writes, std::chrono::milliseconds timeout) {
  return _store != nullptr && impl_of(*_store).wait_writer_held(writes, timeout);
}

void writer_hold::release() {
  if (_store == nullptr) return;
  impl_of(*_store).hold_writer(false);
  _store = nullptr;
}

}  // namespace eb::storage::testing

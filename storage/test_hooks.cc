// Test and bench hooks (test_hooks.h): a custom RocksDB Env, the log-end check, the clock,
// retention passes and the writer hold.
#include "storage/test_hooks.h"

#include <spdlog/spdlog.h>

#include <stdexcept>
#include <thread>

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

void advance_clock(log_store& store, std::chrono::milliseconds by) {
  impl_of(store).advance_clock(by);
}

bool wait_retention_passes(log_store& store, uint64_t passes, std::chrono::milliseconds timeout) {
  auto& impl = impl_of(store);
  const uint64_t target = impl.retention_passes() + passes;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // Passes do not signal: look every few milliseconds (tests only).
  while (impl.retention_passes() < target) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
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

namespace eb::storage {

void store_impl::hold_writer(bool held) {
  {
    std::lock_guard lk(_hold_mu);
    _held = held;
  }
  _hold_cv.notify_all();
}

bool store_impl::wait_writer_held(size_t writes, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lk(_hold_mu);
  auto waiting = [&] {
    if (!_parked) return false;
    std::lock_guard q(_q_mu);
    return _parked_items + _queue.size() >= writes;
  };
  // The queue does not signal _hold_cv: look again every few milliseconds (tests only).
  while (!waiting()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    _hold_cv.wait_for(lk, std::chrono::milliseconds(5));
  }
  return true;
}

void store_impl::wait_while_held(size_t items) {
  std::unique_lock lk(_hold_mu);
  if (!_held) return;
  spdlog::info("storage: writer held by a test hook with {} writes in hand", items);
  _parked = true;
  _parked_items = items;
  _hold_cv.notify_all();
  _hold_cv.wait(lk, [&] { return !_held; });
  _parked = false;
  _parked_items = 0;
}

}  // namespace eb::storage

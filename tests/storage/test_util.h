#pragma once
// Test helpers: temporary directories and synchronous wrappers over the callback API.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "storage/storage.h"
#include "tests/support/bounded_wait.h"

namespace eb::storage::test {

class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "eb-storage-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    _path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(_path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return _path; }

 private:
  std::filesystem::path _path;
};

inline std::vector<result<append_ack>> append_sync(log_store& s, std::vector<append_request> reqs) {
  std::promise<std::vector<result<append_ack>>> p;
  auto f = p.get_future();
  s.append(std::move(reqs), [&p](std::vector<result<append_ack>> r) { p.set_value(std::move(r)); });
  return eb::test::get_within(std::move(f), "an append to complete");
}

inline result<append_ack> append_one(log_store& s, append_request req) {
  std::vector<append_request> v;
  v.push_back(std::move(req));
  return append_sync(s, std::move(v)).at(0);
}

// Polls `pred` every 10 ms for at most `limit`.
inline bool eventually(const std::function<bool()>& pred,
                       std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

inline int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace eb::storage::test

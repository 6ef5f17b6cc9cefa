#pragma once
// Waits in tests have a bound: a hang becomes a test failure that says what never happened,
// instead of a ctest timeout with no message.
#include <chrono>
#include <future>
#include <stdexcept>
#include <string>

namespace eb::test {

// Generous for a loaded 2-core CI box; no passing test comes near it.
inline constexpr std::chrono::seconds default_wait_bound{60};

// The future's value, or std::runtime_error naming `what` once `bound` passes (GoogleTest
// reports an exception thrown from a test body as that test's failure).
template <class T>
T get_within(std::future<T> f, const std::string& what,
             std::chrono::seconds bound = default_wait_bound) {
  if (f.wait_for(bound) != std::future_status::ready) {
    throw std::runtime_error("timed out after " + std::to_string(bound.count()) +
                             " s waiting for " + what);
  }
  return f.get();
}

}  // namespace eb::test

#include "bridge/mirror/token_bucket.h"

#include <algorithm>

namespace eb::bridge::mirror_detail {

token_bucket::token_bucket(uint64_t bytes_per_sec, clock::time_point now)
    : _rate(static_cast<double>(bytes_per_sec)),
      _capacity(std::max(_rate / 4, 65536.0)),
      _at(now) {}

void token_bucket::set_rate(uint64_t bytes_per_sec, clock::time_point now) {
  if (_rate > 0) {
    double elapsed = std::chrono::duration<double>(now - _at).count();
    _tokens = std::min(_capacity, _tokens + elapsed * _rate);
  } else {
    _tokens = 0;
  }
  _at = now;
  _rate = static_cast<double>(bytes_per_sec);
  _capacity = std::max(_rate / 4, 65536.0);
  _tokens = std::min(_tokens, _capacity);
  _ready_at = {};
}

bool token_bucket::take(uint64_t bytes, clock::time_point now) {
  if (_rate == 0) return true;
  double elapsed = std::chrono::duration<double>(now - _at).count();
  _tokens = std::min(_capacity, _tokens + elapsed * _rate);
  _at = now;
  if (_tokens <= 0) {
    _ready_at = now + std::chrono::duration_cast<clock::duration>(
                          std::chrono::duration<double>(-_tokens / _rate));
    return false;
  }
  _tokens -= static_cast<double>(bytes);
  return true;
}

}  // namespace eb::bridge::mirror_detail

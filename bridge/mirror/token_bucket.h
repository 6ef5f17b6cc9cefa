#pragma once
// The uplink's bandwidth cap (mirror.bandwidth_bytes_per_sec): a token bucket on the bytes that
// cross the link (each record's charge comes from link_meter). Time is passed in, so it is tested
// without sleeping.
#include <chrono>
#include <cstdint>

namespace eb::bridge::mirror_detail {

class token_bucket {
 public:
  using clock = std::chrono::steady_clock;

  // A rate of 0 means unlimited. The bucket starts empty at `now`.
  token_bucket(uint64_t bytes_per_sec, clock::time_point now);

  bool limited() const { return _rate > 0; }

  // Takes `bytes` if the bucket is not in debt at `now`. A record may overdraw the bucket (so one
  // larger than the burst still goes); the debt is paid before the next one goes. False when in
  // debt: ready_at() then says when it is paid.
  bool take(uint64_t bytes, clock::time_point now);

  // When take() refused last, the time it will succeed again.
  clock::time_point ready_at() const { return _ready_at; }

  // The burst: a quarter second at the rate, at least 64 KiB.
  double capacity() const { return _capacity; }

  // The bucket's fill as of the last take() (negative: debt).
  double tokens() const { return _tokens; }

 private:
  double _rate;
  double _capacity;
  double _tokens = 0;
  clock::time_point _at;
  clock::time_point _ready_at{};
};

}  // namespace eb::bridge::mirror_detail

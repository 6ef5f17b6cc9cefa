#pragma once
// Limits the Kafka API handlers apply whatever a request asks for. Read by handlers through
// services::handlers; fetch_max_bytes is mapped from the YAML `server` section by config/.
#include <cstdint>
#include <string>
#include <vector>

namespace eb::bridge {

struct handler_options {
  // Largest Fetch response: the request's max_bytes and each partition_max_bytes are clamped to
  // it (Kafka fetch.max.bytes), so that a consumer cannot make one response hold more memory
  // than this. The first batch is still returned whole when it is larger (KIP-74), so a consumer
  // never stalls. Default: 16 MiB.
  int32_t fetch_max_bytes = 16 << 20;
  // What one produced batch may inflate to while it is validated; a batch that would inflate
  // further is refused (decompression bomb) without inflating past it. The process sets it from
  // server.max_request_bytes (bridge/app.cc); never from what a client claims.
  uint64_t max_decompressed_batch_bytes = 64ull << 20;
};

// Every problem with the options, empty if they are usable.
inline std::vector<std::string> validate(const handler_options& o) {
  std::vector<std::string> p;
  if (o.fetch_max_bytes < 1024) p.emplace_back("fetch_max_bytes: must be at least 1 KiB");
  return p;
}

}  // namespace eb::bridge

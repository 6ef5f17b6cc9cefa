#pragma once
#include <span>

#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

struct api_range {
  int16_t key, min_version, max_version;
};
// Every API the router serves, from its handler table: the only list, and ApiVersions' answer.
std::span<const api_range> supported_apis();

struct api_versions_handler {
  using request_type = net::msg::api_versions_request;
  static constexpr int16_t key = 18;
  static constexpr int16_t min_version = 0, max_version = 4;
  static awaitable<handler_result<net::msg::api_versions_response>> handle(request_ctx&,
                                                                           request_type);
  // KIP-511: a client newer than us sends a version we cannot parse. The answer is a v0 body with
  // UNSUPPORTED_VERSION and our own ApiVersions range, so that it retries with one we know.
  static std::vector<uint8_t> unsupported_version_body();
};

}  // namespace eb::bridge

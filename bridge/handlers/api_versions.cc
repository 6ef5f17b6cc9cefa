#include "bridge/handlers/api_versions.h"

namespace eb::bridge {

awaitable<handler_result<net::msg::api_versions_response>> api_versions_handler::handle(
    request_ctx&, net::msg::api_versions_request) {
  handler_result<net::msg::api_versions_response> reply;
  for (auto& api : supported_apis()) {
    auto& k = reply.body.api_keys.emplace_back();
    k.api_key = api.key;
    k.min_version = api.min_version;
    k.max_version = api.max_version;
  }
  co_return reply;
}

std::vector<uint8_t> api_versions_handler::unsupported_version_body() {
  net::msg::api_versions_response resp;
  resp.error_code = static_cast<int16_t>(net::error_code::unsupported_version);
  auto& k = resp.api_keys.emplace_back();
  k.api_key = key;
  k.min_version = min_version;
  k.max_version = max_version;
  net::writer w;
  resp.encode(w, 0);
  return w.take();
}

}  // namespace eb::bridge

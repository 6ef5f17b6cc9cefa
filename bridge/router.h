#pragma once
// The bridge's net::request_router: decodes each request with its handler's type, runs the
// handler, encodes the response. Unknown API keys and undecodable requests close the
// connection, as Kafka does; a too-new ApiVersions gets the KIP-511 answer.
#include "bridge/services.h"
#include "net/server.h"

namespace eb::bridge {

class router final : public net::request_router {
 public:
  explicit router(services& svc) : _svc(svc) {}
  int request_header_version(int16_t api_key, int16_t api_version) const override;
  boost::asio::awaitable<net::response> handle(net::request req) override;

 private:
  services& _svc;
};

}  // namespace eb::bridge

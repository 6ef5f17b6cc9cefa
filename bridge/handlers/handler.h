#pragma once
// What every Kafka API handler sees, and the shape each handler has:
//
//   struct heartbeat_handler {
//     using request_type = net::msg::heartbeat_request;
//     static constexpr int16_t key = 12, min_version = 0, max_version = 4;
//     static awaitable<handler_result<net::msg::heartbeat_response>> handle(request_ctx&,
//                                                                             request_type);
//   };
//
// Handlers run on their connection's strand and never block an io thread: they await storage
// writes and disk reads through bridge/async_storage.h (writes complete on storage's writer,
// reads run on services::readers). They map module errors to Kafka codes (bridge/errors.h): only
// handlers see net::error_code.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>

#include "bridge/services.h"
#include "net/server.h"

namespace eb::bridge {

template <class T>
using awaitable = boost::asio::awaitable<T>;

struct request_ctx {
  services& svc;
  const net::request_header& header;
  const std::string& peer;
  // The connection's listener, security protocol, principal and SASL state (net/session.h).
  // Handlers of one connection run on its strand: they may read and update it.
  net::session& session;
  // The client's IP (peer without the port), for the authorizer's host match.
  std::string host;
  int16_t version() const { return header.api_version; }
  // "User:alice", or "User:ANONYMOUS" when the listener authenticates nobody.
  const std::string& principal() const { return session.principal; }
};

// What Metadata and FindCoordinator tell this client to connect to: its listener's advertised
// address (the process-wide one for a session without it, as in tests that build requests).
inline std::pair<std::string, int32_t> advertised_address(const request_ctx& ctx) {
  if (!ctx.session.advertised_host.empty() && ctx.session.advertised_port > 0) {
    return {ctx.session.advertised_host, ctx.session.advertised_port};
  }
  return {ctx.svc.advertised_host, ctx.svc.advertised_port};
}

template <class Response>
struct handler_result {
  Response body;
  // acks=0 produce: Kafka sends nothing back.
  bool send = true;
  // Close the connection after the response (a failed SASL exchange).
  bool close = false;
};

}  // namespace eb::bridge

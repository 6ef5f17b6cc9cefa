#pragma once
// A small HTTP/1.1 server (Boost.Beast) for the operator's endpoints: health, metrics, status.
// It knows sockets and HTTP, nothing of what the endpoints say: each GET goes to a handler
// callback (bridge/status produces the content, bridge/app.cc wires it).
//
// Bounds: at most max_connections open (more are answered 503 and closed), a request's header
// must fit max_header_bytes (else 431) and arrive within header_timeout of the connection's
// previous request (else the connection closes), no request body (else 413), GET and HEAD only
// (else 405).
//
// Threading: its own io_context on one thread, so a slow scrape never delays a Kafka request and
// the handler may do small blocking work (a RocksDB property, one storage read). The handler is
// only called on that thread. start, stop and the destructor from one controlling thread; port()
// and connection_count() from any.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace eb::net {

struct http_options {
  // YAML http.enabled: false starts no listener.
  bool enabled = true;
  std::string host = "127.0.0.1";
  // 0 = an ephemeral port (tests); http_server::port() tells which.
  uint16_t port = 9644;
  uint32_t max_connections = 64;
  uint32_t max_header_bytes = 8192;
  std::chrono::milliseconds header_timeout{10'000};
};
std::vector<std::string> validate(const http_options&);

struct http_response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// (method, target) -> response; target is the raw request target ("/v1/confirmed?topic=a").
using http_handler = std::function<http_response(std::string_view method, std::string_view target)>;

class http_server {
 public:
  http_server(http_options, http_handler);
  ~http_server();  // stop()
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  // Resolves, binds, listens and starts the thread. Errors: the system error of
  // resolve/bind/listen (address_in_use when the port is taken); invalid_argument when the
  // options do not validate or start() was already called.
  [[nodiscard]] result<void> start();
  // Closes the listener and every connection, joins the thread. Idempotent.
  void stop();
  uint16_t port() const;
  size_t connection_count() const;

  struct state;  // in http_server.cc

 private:
  std::unique_ptr<state> _state;
};

}  // namespace eb::net

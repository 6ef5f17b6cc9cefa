#pragma once
// The Kafka TCP server: accepts connections, cuts frames, parses the request header and hands each
// request to a `request_router` (bridge/); writes the responses back in request order. It knows
// nothing of APIs, handlers or storage.
//
// Threading: one io_context run by `io_threads` threads. Each connection is one strand
// (make_strand) and every coroutine of a connection — reader, writer, idle watchdog and the
// handlers it dispatches — runs on that strand. Handlers of one connection are therefore started
// in request order, and each runs until its first suspension before the next one starts (a produce
// handler that enqueues its append before suspending keeps the client's order); they interleave at
// suspension points, they never run in parallel with each other. Different connections run in
// parallel.
//
// Pipelining and backpressure: the reader keeps reading and dispatching while fewer than
// `max_inflight_requests` requests and `max_inflight_bytes` request bytes are unanswered on the
// connection; at the bound it stops reading the socket (TCP flow control pushes back on the
// client). A request stays in flight until its response has been written.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "net/frame.h"
#include "net/session.h"

namespace eb::net {

// Who must present a certificate on a TLS listener (Kafka ssl.client.auth).
enum class client_auth : uint8_t { none, requested, required };

struct tls_options {
  // PEM files. The certificate file may hold the chain (leaf first). Reloaded without a restart
  // when their modification time or size changes (server_options::tls_reload_interval).
  std::filesystem::path cert;
  std::filesystem::path key;
  // CA bundle that client certificates must chain to; required unless client_auth is none.
  std::filesystem::path client_ca;
  net::client_auth client_auth = net::client_auth::none;
  // Kafka's ssl.principal.mapping.rules: "RULE:pattern/replacement/[LU], ..., DEFAULT", applied
  // to the client certificate's RFC 2253 subject; the principal is "User:" + the result.
  std::string principal_mapping_rules = "DEFAULT";
  // "TLSv1.2" or "TLSv1.3": the lowest version accepted.
  std::string min_version = "TLSv1.2";
};

// One listening socket and its security.
struct listener_options {
  // Unique, for logs, metrics and the session (Kafka's listener name).
  std::string name = "PLAINTEXT";
  // Address to listen on: an IP literal or a host name resolved once at start().
  std::string host = "127.0.0.1";
  // 0 = an ephemeral port (tests); port(name) tells which.
  uint16_t port = 9092;
  security_protocol protocol = security_protocol::plaintext;
  // What Metadata and FindCoordinator answer to clients of this listener; empty/0: the bound
  // host (a wildcard answers 127.0.0.1) and port.
  std::string advertised_host;
  uint16_t advertised_port = 0;
  // A listener on a non-loopback address with neither TLS nor SASL is refused unless this is set
  // (and then warned about at start).
  bool allow_insecure = false;
  // SASL mechanisms offered here (SASL_* only); empty: every mechanism the broker has.
  std::vector<std::string> sasl_mechanisms;
  // SSL and SASL_SSL only.
  tls_options tls;
};

struct server_options {
  // The listeners. Empty: one PLAINTEXT listener named "PLAINTEXT" on host:port below (the
  // single-listener form of the config, `listener:` and --port).
  std::vector<listener_options> listeners;
  // Address to listen on when `listeners` is empty: an IP literal or a host name.
  std::string host = "127.0.0.1";
  // 0 = an ephemeral port (tests); port() tells which.
  uint16_t port = 9092;
  // What the single default listener advertises (see listener_options).
  std::string advertised_host;
  uint16_t advertised_port = 0;
  // The single default listener on a non-loopback host needs this (see listener_options).
  bool allow_insecure = false;
  // A TLS handshake must complete within this from the accept, or the connection is closed (the
  // connection counts against max_connections and max_connections_per_ip meanwhile).
  // Default: 10 s.
  std::chrono::milliseconds tls_handshake_timeout{10'000};
  // How often certificate and key files are checked for changes (on a thread of their own; new
  // connections get the new ones, a file that does not load keeps the old and is logged once).
  // Default: 30 s.
  std::chrono::milliseconds tls_reload_interval{30'000};
  // Threads running the io_context. 0 = std::thread::hardware_concurrency().
  int io_threads = 0;
  // Largest request frame accepted (Kafka socket.request.max.bytes). A larger size prefix closes
  // the connection. Default: 100 MiB.
  uint32_t max_request_bytes = 100u << 20;
  // Open connections beyond this are accepted and closed at once. Default: 1024.
  uint32_t max_connections = 1024;
  // Open connections from one IP address beyond this are accepted and closed at once (Kafka
  // max.connections.per.ip), so that one device cannot take every connection. Default: 256.
  uint32_t max_connections_per_ip = 256;
  // Request bytes held across all connections: frames being read plus requests not yet answered
  // (Kafka queued.max.request.bytes). A frame's buffer grows with the bytes that arrive, never
  // with its size prefix, and each growth is charged here first; at the bound connections that
  // need more wait, their sockets unread, until responses release bytes. At least
  // max_request_bytes. Default: 256 MiB.
  uint64_t max_queued_request_bytes = 256u << 20;
  // A request must arrive completely within this from its first byte (time spent waiting for
  // max_queued_request_bytes included); otherwise the connection is closed, so that a client
  // trickling a large request cannot hold its buffer. Waiting for the connection's own in-flight
  // requests does not count. Default: 30 s.
  std::chrono::milliseconds request_timeout{30'000};
  // A connection with no bytes read or written for this long, and no handler running, is closed
  // (Kafka connections.max.idle.ms). Default: 10 min.
  std::chrono::milliseconds idle_timeout{600'000};
  // Unanswered requests per connection before the server stops reading it. Default: 32.
  uint32_t max_inflight_requests = 32;
  // Unanswered request bytes per connection before the server stops reading it. One request is
  // always admitted when none is in flight, so a frame may exceed this. Default: 64 MiB.
  uint64_t max_inflight_bytes = 64u << 20;
  // How long stop() lets in-flight requests finish before cancelling them. Default: 10 s.
  std::chrono::milliseconds shutdown_grace{10'000};
};
// Every problem with the options, empty if they are usable: limits, listener names and ports,
// TLS files (present, key not readable by others), the insecure-listener rule.
std::vector<std::string> validate(const server_options&);
// The listeners the server opens: `listeners`, or the single default one from host/port.
std::vector<listener_options> effective_listeners(const server_options&);

// One request, owning its frame bytes (the frame without its 4-byte size prefix).
struct request {
  request_header header;
  std::vector<uint8_t> frame;
  size_t body_offset = 0;
  // "ip:port" of the client, for logs.
  std::string peer;
  // The connection's session (never null): listener, security, principal. Shared with the
  // connection; touched only on its strand.
  std::shared_ptr<net::session> session;

  std::span<const uint8_t> body() const {
    return std::span<const uint8_t>(frame).subspan(body_offset);
  }
};

struct response {
  // false: nothing is written for this request (acks=0 produce); later responses keep their order.
  bool send = true;
  // Close the connection after this response is written (or instead of it when !send); responses
  // of later requests are dropped.
  bool close_after = false;
  // 0, or 1 for flexible versions (adds the empty tagged-field byte). ApiVersions is always 0.
  int response_header_version = 0;
  // The response body, without size prefix and header: the server writes those.
  std::vector<uint8_t> body;
};

// What the server calls for each request; implemented by bridge/. Called on the connection's
// strand (see above); must be thread-safe across connections.
class request_router {
 public:
  virtual ~request_router() = default;
  // Request header version for (key, version): 1 or 2 (0 only for ControlledShutdown v0); -1 when
  // the key or version is unknown, and the header is then parsed as v1 so that handle() can still
  // answer (ApiVersions with a newer version) or close.
  virtual int request_header_version(int16_t api_key, int16_t api_version) const = 0;
  // Produces the response. An exception closes this connection only (it is a bug: logged).
  // Cancellation: on stop() the handler's cancellation slot gets `total` (seen only by a handler
  // that enables it with this_coro::reset_cancellation_state(enable_total_cancellation()), e.g. a
  // long-poll fetch that may answer early); after shutdown_grace, or when the connection closes,
  // it gets `terminal`, and its response is discarded.
  virtual boost::asio::awaitable<response> handle(request) = 0;
};

// Thread-safety: start(), stop() and the destructor from one controlling thread, never from an
// io thread; port(), connection_count() and executor() from any thread.
class server {
 public:
  // The router must outlive the server.
  server(server_options, request_router&);
  ~server();  // stop()
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Resolves, binds (SO_REUSEADDR), listens, and starts the io threads. Errors: invalid_argument
  // if the options do not validate or start() was already called; the system error of
  // resolve/bind/listen (address_in_use when the port is taken).
  [[nodiscard]] result<void> start();
  // The first listener's bound port (useful with port 0); 0 before start().
  uint16_t port() const;
  // The named listener's bound port; 0 if there is none or before start().
  uint16_t port(std::string_view listener) const;
  // The first listener's advertised address (valid after start()).
  std::pair<std::string, int32_t> advertised() const;
  // Graceful stop: stop accepting; every connection stops reading and its handlers get total
  // cancellation; in-flight requests are answered; connections close as they drain. After
  // shutdown_grace, what is left gets terminal cancellation and is closed. Joins the io threads.
  // Idempotent.
  void stop();
  // Open connections (accepted and not yet finished).
  size_t connection_count() const;
  // The io_context's executor, for work that should share the io threads.
  boost::asio::io_context::executor_type executor();

  struct state;  // net/server_state.h (internal to net/)

 private:
  std::unique_ptr<state> _state;
};

}  // namespace eb::net

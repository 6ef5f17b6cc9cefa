#include "net/http_server.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <optional>
#include <thread>

namespace eb::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::vector<std::string> validate(const http_options& o) {
  std::vector<std::string> p;
  if (o.enabled && o.host.empty()) p.push_back("http.host: must not be empty");
  if (o.max_connections == 0) p.push_back("http.max_connections: must be at least 1");
  if (o.max_header_bytes < 512) p.push_back("http.max_header_bytes: must be at least 512");
  if (o.header_timeout.count() <= 0) p.push_back("http.header_timeout: must be positive");
  return p;
}

struct http_server::state {
  state(http_options o, http_handler h) : opts(std::move(o)), handler(std::move(h)) {}
  http_options opts;
  http_handler handler;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::atomic<uint16_t> port{0};
  std::atomic<size_t> connections{0};
  std::thread thread;
  bool started = false;
  bool stopped = false;
};

namespace {

using response_t = http::response<http::string_body>;

response_t make_response(const http_response& r, unsigned version, bool keep_alive) {
  response_t res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "edgebridge");
  res.set(http::field::content_type, r.content_type);
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(keep_alive);
  res.body() = r.body;
  res.prepare_payload();
  return res;
}

http_response plain(int status, std::string body) {
  return {.status = status, .body = std::move(body) + "\n"};
}

// The answer to one parsed request: method checks here, content from the handler.
http_response answer(http_server::state& s, const http::request<http::empty_body>& req) {
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    return plain(405, "method not allowed: GET only");
  }
  try {
    return s.handler(std::string_view(req.method_string()), std::string_view(req.target()));
  } catch (const std::exception& e) {
    spdlog::error("http {}: handler failed: {}", std::string_view(req.target()), e.what());
    return plain(500, "internal error");
  }
}

// A read error that deserves an answer before closing: the client sent too much.
std::optional<http_response> refusal_of(const boost::system::error_code& ec) {
  if (ec == http::error::header_limit) return plain(431, "request header fields too large");
  if (ec == http::error::body_limit) return plain(413, "request body not accepted");
  if (ec == http::error::bad_method || ec == http::error::bad_target ||
      ec == http::error::bad_version) {
    return plain(400, "bad request");
  }
  return std::nullopt;
}

asio::awaitable<void> write(beast::tcp_stream& stream, const http_response& r, unsigned version,
                            bool keep_alive, bool head) {
  auto res = make_response(r, version, keep_alive);
  boost::system::error_code ec;
  if (head) {
    http::response_serializer<http::string_body> sr(res);
    co_await http::async_write_header(stream, sr, asio::redirect_error(asio::use_awaitable, ec));
  } else {
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> serve(http_server::state* s, tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer(s->opts.max_header_bytes);
  for (;;) {
    http::request_parser<http::empty_body> parser;
    parser.header_limit(s->opts.max_header_bytes);
    parser.body_limit(0);
    stream.expires_after(s->opts.header_timeout);
    boost::system::error_code ec;
    co_await http::async_read(stream, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (auto refusal = refusal_of(ec)) co_await write(stream, *refusal, 11, false, false);
      break;
    }
    auto& req = parser.get();
    const bool keep_alive = req.keep_alive();
    auto r = answer(*s, req);
    co_await write(stream, r, req.version(), keep_alive, req.method() == http::verb::head);
    if (!keep_alive) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

asio::awaitable<void> accept_loop(http_server::state* s) {
  for (;;) {
    boost::system::error_code ec;
    auto socket = co_await s->acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !s->acceptor.is_open()) co_return;
      continue;  // EMFILE and the like: the next accept may succeed
    }
    if (s->connections.load() >= s->opts.max_connections) {
      beast::tcp_stream stream(std::move(socket));
      stream.expires_after(std::chrono::seconds(1));
      co_await write(stream, plain(503, "too many connections"), 11, false, false);
      continue;
    }
    s->connections.fetch_add(1);
    asio::co_spawn(s->io, serve(s, std::move(socket)), [s](std::exception_ptr) {
      // A connection's error is its own: it ends that connection only.
      s->connections.fetch_sub(1);
    });
  }
}

}  // namespace

http_server::http_server(http_options o, http_handler h)
    : _state(std::make_unique<state>(std::move(o), std::move(h))) {}

http_server::~http_server() { stop(); }

result<void> http_server::start() {
  auto& s = *_state;
  if (s.started || !validate(s.opts).empty()) {
    return std::make_error_code(std::errc::invalid_argument);
  }
  s.started = true;
  boost::system::error_code ec;
  tcp::resolver resolver(s.io);
  auto endpoints = resolver.resolve(s.opts.host, std::to_string(s.opts.port), ec);
  if (ec) return std::error_code(ec);
  auto ep = endpoints.begin()->endpoint();
  s.acceptor.open(ep.protocol(), ec);
  if (!ec) s.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(ep, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    s.acceptor.close();
    return std::error_code(ec);
  }
  s.port = s.acceptor.local_endpoint().port();
  asio::co_spawn(s.io, accept_loop(&s), asio::detached);
  s.thread = std::thread([&s] { s.io.run(); });
  return {};
}

void http_server::stop() {
  auto& s = *_state;
  if (s.stopped) return;
  s.stopped = true;
  // Connections are abandoned, not drained: scrapes are retried, and the handler refers to
  // parts of the process that stop next. The coroutines' frames (and sockets) are destroyed with
  // the io_context.
  s.io.stop();
  if (s.thread.joinable()) s.thread.join();
  boost::system::error_code ignored;
  s.acceptor.close(ignored);
}

uint16_t http_server::port() const { return _state->port.load(); }
size_t http_server::connection_count() const { return _state->connections.load(); }

}  // namespace eb::net

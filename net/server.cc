// The server's lifecycle: options, listeners (bind, TLS contexts, the certificate reload
// thread), the io threads, and the graceful stop. Connections and accept loops are in
// net/connection.cc (frames read by net/frame_reader.h, responses written by
// net/response_writer.h), the shared state in net/server_state.h.
#include "net/server.h"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cctype>
#include <limits>
#include <set>

#include "net/server_state.h"

namespace eb::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// After shutdown_grace and terminal cancellation, how long stop() still waits for handlers that
// ignore cancellation before abandoning them with the io_context.
constexpr std::chrono::seconds terminal_wait{2};

bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  auto a = asio::ip::make_address(host, ec);
  return !ec && a.is_loopback();
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A key or credential file: must exist, be a regular file and not be readable by others.
void check_secret_file(const std::string& key, const std::filesystem::path& p,
                       std::vector<std::string>& out) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) {
    out.push_back(key + ": " + p.string() + ": " + std::strerror(errno));
  } else if (!S_ISREG(st.st_mode)) {
    out.push_back(key + ": " + p.string() + " is not a regular file");
  } else if (st.st_mode & S_IROTH) {
    out.push_back(key + ": " + p.string() +
                  " is readable by every user of this machine; refusing a world-readable key "
                  "(chmod 600 " +
                  p.string() + ")");
  }
}

void check_file(const std::string& key, const std::filesystem::path& p,
                std::vector<std::string>& out) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(p, ec)) {
    out.push_back(key + ": " + p.string() + " is not a readable file");
  }
}

void validate_listener(const listener_options& l, const std::string& k,
                       std::vector<std::string>& p) {
  if (l.host.empty()) p.push_back(k + ".host: must not be empty");
  if (uses_tls(l.protocol)) {
    if (l.tls.cert.empty()) {
      p.push_back(k + ".tls.cert: required for " + std::string(to_string(l.protocol)));
    } else {
      check_file(k + ".tls.cert", l.tls.cert, p);
    }
    if (l.tls.key.empty()) {
      p.push_back(k + ".tls.key: required for " + std::string(to_string(l.protocol)));
    } else {
      check_secret_file(k + ".tls.key", l.tls.key, p);
    }
    if (l.tls.client_auth != client_auth::none && l.tls.client_ca.empty()) {
      p.push_back(k + ".tls.client_ca: required when client_auth is requested or required");
    }
    if (!l.tls.client_ca.empty()) check_file(k + ".tls.client_ca", l.tls.client_ca, p);
    if (l.tls.min_version != "TLSv1.2" && l.tls.min_version != "TLSv1.3") {
      p.push_back(k + ".tls.min_version: expected TLSv1.2 or TLSv1.3, got '" + l.tls.min_version +
                  "'");
    }
    auto rules = principal_rules::parse(l.tls.principal_mapping_rules);
    if (auto* err = std::get_if<std::string>(&rules)) {
      p.push_back(k + ".tls.principal_mapping_rules: " + *err);
    }
  } else if (!l.tls.cert.empty() || !l.tls.key.empty()) {
    p.push_back(k + ".tls: only SSL and SASL_SSL listeners use TLS (security_protocol is " +
                std::string(to_string(l.protocol)) + ")");
  }
  if (l.protocol == security_protocol::plaintext && !l.allow_insecure && !l.host.empty() &&
      !is_loopback(l.host)) {
    p.push_back(k + ": PLAINTEXT on " + l.host +
                " would let anyone on the network read and write every topic unauthenticated; "
                "use security_protocol SSL, SASL_SSL or SASL_PLAINTEXT, bind 127.0.0.1, or set "
                "allow_insecure: true");
  }
}

}  // namespace

std::string_view to_string(security_protocol p) {
  switch (p) {
    case security_protocol::plaintext:
      return "PLAINTEXT";
    case security_protocol::ssl:
      return "SSL";
    case security_protocol::sasl_plaintext:
      return "SASL_PLAINTEXT";
    case security_protocol::sasl_ssl:
      return "SASL_SSL";
  }
  return "?";
}

std::optional<security_protocol> parse_security_protocol(std::string_view s) {
  const auto l = lower(s);
  if (l == "plaintext") return security_protocol::plaintext;
  if (l == "ssl") return security_protocol::ssl;
  if (l == "sasl_plaintext") return security_protocol::sasl_plaintext;
  if (l == "sasl_ssl") return security_protocol::sasl_ssl;
  return std::nullopt;
}

std::vector<listener_options> effective_listeners(const server_options& o) {
  if (!o.listeners.empty()) return o.listeners;
  listener_options l;
  l.name = "PLAINTEXT";
  l.host = o.host;
  l.port = o.port;
  l.advertised_host = o.advertised_host;
  l.advertised_port = o.advertised_port;
  l.allow_insecure = o.allow_insecure;
  return {l};
}

std::vector<std::string> validate(const server_options& o) {
  std::vector<std::string> p;
  if (o.listeners.empty()) {
    validate_listener(effective_listeners(o).front(), "listener", p);
  } else {
    std::set<std::string> names;
    std::set<uint16_t> ports;
    for (const auto& l : o.listeners) {
      const std::string k = "listeners." + (l.name.empty() ? std::string("?") : l.name);
      if (l.name.empty()) p.push_back("listeners: every listener needs a name");
      if (!names.insert(lower(l.name)).second) p.push_back(k + ": duplicate listener name");
      if (l.port != 0 && !ports.insert(l.port).second) {
        p.push_back(k + ".port: " + std::to_string(l.port) + " is used by another listener");
      }
      validate_listener(l, k, p);
    }
  }
  if (o.io_threads < 0 || o.io_threads > 256) p.emplace_back("io_threads: must be in 0..256");
  if (o.max_request_bytes < 1024 ||
      o.max_request_bytes > static_cast<uint32_t>(std::numeric_limits<int32_t>::max())) {
    p.emplace_back("max_request_bytes: must be in 1 KiB..2 GiB-1");
  }
  if (o.max_connections < 1) p.emplace_back("max_connections: must be at least 1");
  if (o.max_connections_per_ip < 1) p.emplace_back("max_connections_per_ip: must be at least 1");
  if (o.max_queued_request_bytes < o.max_request_bytes) {
    p.emplace_back("max_queued_request_bytes: must be at least max_request_bytes");
  }
  if (o.request_timeout.count() <= 0) p.emplace_back("request_timeout: must be positive");
  if (o.idle_timeout.count() <= 0) p.emplace_back("idle_timeout: must be positive");
  if (o.max_inflight_requests < 1 || o.max_inflight_requests > 10000) {
    p.emplace_back("max_inflight_requests: must be in 1..10000");
  }
  if (o.max_inflight_bytes < 1) p.emplace_back("max_inflight_bytes: must be at least 1");
  if (o.shutdown_grace.count() < 0) p.emplace_back("shutdown_grace: must not be negative");
  if (o.tls_handshake_timeout.count() <= 0) {
    p.emplace_back("tls_handshake_timeout: must be positive");
  }
  if (o.tls_reload_interval.count() <= 0) p.emplace_back("tls_reload_interval: must be positive");
  return p;
}

server::server(server_options opts, request_router& router)
    : _state(std::make_unique<state>(std::move(opts), router)) {}

server::~server() { stop(); }

namespace {

// Binds one listener (resolving a host name once); the system error otherwise.
result<void> bind(detail::listener_state& l, asio::io_context& ioc) {
  boost::system::error_code ec;
  tcp::endpoint endpoint;
  if (auto addr = asio::ip::make_address(l.opts.host, ec); !ec) {
    endpoint = tcp::endpoint(addr, l.opts.port);
  } else {
    tcp::resolver resolver(ioc);
    auto found =
        resolver.resolve(l.opts.host, std::to_string(l.opts.port), tcp::resolver::passive, ec);
    if (ec) return static_cast<std::error_code>(ec);
    if (found.empty()) return std::make_error_code(std::errc::address_not_available);
    endpoint = found.begin()->endpoint();
  }
  auto& a = l.acceptor;
  auto fail = [&](boost::system::error_code e) {
    boost::system::error_code ignored;
    a.close(ignored);
    return static_cast<std::error_code>(e);
  };
  if (a.open(endpoint.protocol(), ec); ec) return fail(ec);
  if (a.set_option(tcp::acceptor::reuse_address(true), ec); ec) return fail(ec);
  if (a.bind(endpoint, ec); ec) return fail(ec);
  if (a.listen(asio::socket_base::max_listen_connections, ec); ec) return fail(ec);
  const auto local = a.local_endpoint(ec);
  if (ec) return fail(ec);
  l.bound_port = local.port();
  l.advertised_host = l.opts.advertised_host;
  if (l.advertised_host.empty()) {
    l.advertised_host =
        (l.opts.host == "0.0.0.0" || l.opts.host == "::") ? "127.0.0.1" : l.opts.host;
  }
  l.advertised_port = l.opts.advertised_port ? l.opts.advertised_port : local.port();
  return {};
}

void close_acceptors(server::state& st) {
  for (auto& l : st.listeners) {
    boost::system::error_code ignored;
    l->acceptor.close(ignored);
  }
}

}  // namespace

result<void> server::start() {
  auto& st = *_state;
  if (st.started) return std::make_error_code(std::errc::invalid_argument);
  if (auto problems = validate(st.opts); !problems.empty()) {
    for (const auto& p : problems) spdlog::error("net: server options: {}", p);
    return std::make_error_code(std::errc::invalid_argument);
  }
  // Certificates load here, on the controlling thread: io threads never read files.
  for (auto& lo : effective_listeners(st.opts)) {
    auto l = std::make_unique<detail::listener_state>(lo, st.ioc);
    if (uses_tls(lo.protocol)) {
      auto loaded = detail::tls_credentials::load(lo);
      if (auto* err = std::get_if<std::string>(&loaded)) {
        spdlog::error("net: listener {}: {}", lo.name, *err);
        close_acceptors(st);
        return std::make_error_code(std::errc::invalid_argument);
      }
      l->tls = std::get<0>(std::move(loaded));
    }
    if (auto bound = bind(*l, st.ioc); !bound) {
      spdlog::error("net: listener {} cannot listen on {}:{}: {}", lo.name, lo.host, lo.port,
                    bound.error().message());
      close_acceptors(st);
      return bound.error();
    }
    st.listeners.push_back(std::move(l));
  }
  st.started = true;

  for (auto& lp : st.listeners) {
    auto& l = *lp;
    {
      std::lock_guard lk(st.mu);
      ++st.accept_loops;
    }
    asio::co_spawn(l.acceptor.get_executor(), detail::accept_loop(st, l),
                   [&st](std::exception_ptr e) {
                     if (!e) return;
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       spdlog::critical("net: accept loop failed: {}", ex.what());
                     }
                     {
                       std::lock_guard lk(st.mu);
                       --st.accept_loops;
                     }
                     st.cv.notify_all();
                   });
  }
  st.work.emplace(st.ioc.get_executor());
  int n = st.opts.io_threads;
  if (n == 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < n; ++i) {
    st.threads.emplace_back([&st] {
      // Named for top -H and perf; Linux truncates names to 15 characters.
      pthread_setname_np(pthread_self(), "eb-io");
      for (;;) {
        try {
          st.ioc.run();
          return;
        } catch (const std::exception& e) {
          // Every coroutine catches its own exceptions; this is a last resort for a bug.
          spdlog::critical("net: io thread caught: {}", e.what());
        }
      }
    });
  }
  const bool any_tls = std::any_of(st.listeners.begin(), st.listeners.end(),
                                   [](auto& l) { return l->tls != nullptr; });
  if (any_tls) {
    // Certificate files are checked here, off the io threads, so that a renewed certificate is
    // served without a restart.
    st.reloader = std::thread([&st] {
      pthread_setname_np(pthread_self(), "eb-tls-reload");
      std::unique_lock lk(st.reload_mu);
      while (
          !st.reload_cv.wait_for(lk, st.opts.tls_reload_interval, [&] { return st.reload_stop; })) {
        lk.unlock();
        for (auto& l : st.listeners) {
          if (l->tls) l->tls->reload_if_changed();
        }
        lk.lock();
      }
    });
  }
  for (auto& l : st.listeners) {
    const auto& o = l->opts;
    spdlog::info("net: listener {} ({}) on {}:{}, advertised {}:{}", o.name, to_string(o.protocol),
                 o.host, l->bound_port.load(), l->advertised_host, l->advertised_port);
    if (o.protocol == security_protocol::plaintext && !is_loopback(o.host)) {
      spdlog::warn(
          "net: listener {} serves PLAINTEXT on {} (allow_insecure): any host that reaches it "
          "can read and write every topic, unauthenticated and unencrypted",
          o.name, o.host);
    }
  }
  spdlog::info("net: {} io threads", n);
  return {};
}

uint16_t server::port() const {
  const auto& st = *_state;
  return st.listeners.empty() ? 0 : st.listeners.front()->bound_port.load();
}

uint16_t server::port(std::string_view name) const {
  for (auto& l : _state->listeners) {
    if (l->opts.name == name) return l->bound_port.load();
  }
  return 0;
}

std::pair<std::string, int32_t> server::advertised() const {
  const auto& st = *_state;
  if (st.listeners.empty()) return {"", 0};
  return {st.listeners.front()->advertised_host, st.listeners.front()->advertised_port};
}

size_t server::connection_count() const { return _state->live.load(); }

asio::io_context::executor_type server::executor() { return _state->ioc.get_executor(); }

void server::stop() {
  auto& st = *_state;
  if (!st.started || st.stopped) return;
  st.stopped = true;

  if (st.reloader.joinable()) {
    {
      std::lock_guard lk(st.reload_mu);
      st.reload_stop = true;
    }
    st.reload_cv.notify_all();
    st.reloader.join();
  }
  // 1. Stop accepting. Connections accepted from now on are closed by add().
  for (auto& lp : st.listeners) {
    auto* l = lp.get();
    asio::post(l->acceptor.get_executor(), [l] {
      boost::system::error_code ignored;
      l->acceptor.close(ignored);
    });
  }
  std::vector<std::shared_ptr<detail::connection_base>> conns;
  {
    std::lock_guard lk(st.mu);
    st.stopping = true;
  }
  // 2. Total cancellation: stop reading, let in-flight requests finish and be answered.
  conns = st.snapshot();
  for (auto& c : conns) asio::post(c->executor(), [c] { c->drain(); });
  conns.clear();
  if (!st.wait_idle(st.opts.shutdown_grace)) {
    // 3. Terminal cancellation of what is left after the grace period.
    conns = st.snapshot();
    spdlog::warn("net: {} connections still busy after {} ms; cancelling", conns.size(),
                 st.opts.shutdown_grace.count());
    for (auto& c : conns) asio::post(c->executor(), [c] { c->close(); });
    conns.clear();
    if (!st.wait_idle(std::chrono::duration_cast<std::chrono::milliseconds>(terminal_wait))) {
      spdlog::error("net: {} connections ignore cancellation; abandoning them", st.live.load());
    }
  }
  st.io_stopped = true;
  st.work.reset();
  st.ioc.stop();
  for (auto& t : st.threads) t.join();
  st.threads.clear();
  spdlog::info("net: server stopped");
}

}  // namespace eb::net

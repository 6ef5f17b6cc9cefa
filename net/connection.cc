// The connection (its lifecycle: start, the TLS handshake, drain and close, the idle watchdog and
// handler dispatch) and the accept loop, one code path over plain TCP and TLS: `connection<Stream>`
// is instantiated for tcp::socket and for ssl::stream<tcp::socket>; the TLS one first runs the
// handshake (within tls_handshake_timeout, counted in the connection limits) and fills the session
// from the peer certificate. Request frames are read by net/frame_reader.h, responses written by
// net/response_writer.h. See net/server.h for the threading and backpressure model.
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <exception>

#include "net/connection_state.h"
#include "net/errors.h"
#include "net/frame_reader.h"
#include "net/response_writer.h"
#include "net/server_state.h"

namespace eb::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

namespace detail {

asio::awaitable<void> wait_for_wake(asio::steady_timer& t) {
  t.expires_at(steady::time_point::max());
  (void)co_await t.async_wait(use_tuple);  // operation_aborted is the wake-up itself
}

namespace {

// Pause after a failed accept (EMFILE, ENFILE, ENOBUFS) so a full fd table does not spin a thread.
constexpr std::chrono::milliseconds accept_backoff{100};

// One client connection over `Stream` (tcp::socket or tls_stream). Everything here runs on the
// connection's strand (the socket's executor): the handshake, the reader, the writer, the idle
// watchdog and the handlers; no member needs a lock.
template <class Stream>
class connection final : public connection_base,
                         public std::enable_shared_from_this<connection<Stream>> {
 public:
  // `ctx`: the TLS context `stream` was made with (kept alive with it), null for plain TCP.
  connection(server::state& srv, listener_state& l, std::shared_ptr<asio::ssl::context> ctx,
             Stream stream, uint64_t id, std::string peer)
      : _srv(srv),
        _listener(l),
        _tls_ctx(std::move(ctx)),
        _stream(std::move(stream)),
        _id(id),
        _session(std::make_shared<session>()),
        _c(srv, std::move(peer), _stream.get_executor()),
        _reader(_c, _stream),
        _writer(_c, _stream) {
    auto& s = *_session;
    s.listener = l.opts.name;
    s.protocol = l.opts.protocol;
    s.advertised_host = l.advertised_host;
    s.advertised_port = l.advertised_port;
    s.sasl_mechanisms = l.opts.sasl_mechanisms;
    s.authenticated = !uses_sasl(l.opts.protocol);
    s.peer = _c.peer;
  }
  ~connection() override {
    if (_c.held > 0) _srv.release_bytes(_c.held);
    _srv.remove(_id);
  }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  asio::any_io_executor executor() override { return _stream.get_executor(); }

  void wake_reader() override { _c.reader_wake.cancel(); }

  void start() {
    auto self = this->shared_from_this();
    auto on_exit = [self](const char* what) {
      return [self, what](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          spdlog::error("net: {} of {} failed: {}; closing", what, self->_c.peer, ex.what());
        } catch (...) {
          spdlog::error("net: {} of {} failed: unknown exception; closing", what, self->_c.peer);
        }
        self->close();
      };
    };
    asio::co_spawn(executor(), read_loop(self), on_exit("reader"));
    asio::co_spawn(executor(), write_loop(self), on_exit("writer"));
    asio::co_spawn(executor(), watchdog(self), on_exit("watchdog"));
  }

  // stop(), first phase: read no more requests, offer total cancellation to running handlers,
  // close once every dispatched request is answered.
  void drain() override {
    if (_c.closing || _c.draining) return;
    _c.draining = true;
    _reader.cancel();
    _c.reader_wake.cancel();
    _writer.cancel_running(asio::cancellation_type::total);
    maybe_finish_drain();
  }

  // Closes the socket, wakes every coroutine of the connection, and cancels running handlers
  // (terminal): their responses would have nowhere to go.
  void close() override {
    if (_c.closing) return;
    _c.closing = true;
    boost::system::error_code ec;
    // No TLS close_notify: the peer sees the TCP close either way, and a close must not wait.
    auto& socket = lowest(_stream);
    socket.shutdown(tcp::socket::shutdown_both, ec);  // ENOTCONN after a reset is fine
    socket.close(ec);
    _c.watchdog_timer.cancel();
    _c.reader_wake.cancel();
    _c.writer_wake.cancel();
    _writer.cancel_running(asio::cancellation_type::terminal);
  }

 private:
  void maybe_finish_drain() {
    if (_c.draining && !_c.closing && _reader_done && _writer.idle()) close();
  }

  asio::awaitable<void> read_loop(std::shared_ptr<connection> self) {
    bool ready = true;
    if constexpr (is_tls<Stream>) ready = co_await handshake();
    if (ready) co_await read_frames(self);
    _reader_done = true;
    // The frame being read when the reader stopped is gone: so is its charge.
    _reader.release_partial();
    if (_c.draining) {
      maybe_finish_drain();
    } else {
      close();  // EOF, reset, idle timeout, malformed frame
    }
  }

  asio::awaitable<void> read_frames(const std::shared_ptr<connection>& self) {
    const std::shared_ptr<connection_base> base = self;
    for (;;) {
      auto frame = co_await _reader.next(base);
      if (!frame) co_return;
      if (!dispatch(self, std::move(frame->bytes), frame->charged)) co_return;
    }
  }

  // The TLS handshake, within tls_handshake_timeout (the watchdog closes the connection after
  // it), then the session's certificate subject and principal; false if the connection must
  // close.
  asio::awaitable<bool> handshake() {
    _handshake_deadline = steady::now() + _srv.opts.tls_handshake_timeout;
    _c.watch(*_handshake_deadline);
    auto [ec] = co_await _stream.async_handshake(
        asio::ssl::stream_base::server,
        asio::bind_cancellation_slot(_reader.cancel_slot(), use_tuple));
    _handshake_deadline.reset();
    if (ec) {
      if (!_c.closing && !_c.draining) {
        std::string why = ec.message();
        const long verify = SSL_get_verify_result(_stream.native_handle());
        if (verify != X509_V_OK)
          why += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
        if (auto suppressed = _listener.handshake_warnings.admit()) {
          spdlog::warn(
              "net: TLS handshake from {} on listener {} failed: {}; closing ({} more suppressed)",
              _c.peer, _listener.opts.name, why, *suppressed);
        }
      }
      co_return false;
    }
    _c.touch();
    auto subject = peer_subject(_stream.native_handle());
    if (!subject.empty()) {
      auto name = _listener.tls->rules().apply(subject);
      if (!name) {
        if (auto suppressed = _listener.handshake_warnings.admit()) {
          spdlog::warn(
              "net: client certificate '{}' from {} on listener {} matches no principal mapping "
              "rule; closing ({} more suppressed)",
              subject, _c.peer, _listener.opts.name, *suppressed);
        }
        co_return false;
      }
      _session->tls_subject = std::move(subject);
      // On SASL_SSL the principal comes from SASL (Kafka's rule), the subject stays for logs.
      if (_session->protocol == security_protocol::ssl) _session->principal = "User:" + *name;
    }
    co_return !_c.stopping_reads();
  }

  // Parses the header and starts the handler; false (after logging) if the header is malformed.
  bool dispatch(const std::shared_ptr<connection>& self, std::vector<uint8_t> frame,
                uint64_t charged) {
    auto api = peek_api(frame);  // cannot fail: frame >= min_request_frame
    if (!api) return false;
    int hv = _srv.router.request_header_version(api->first, api->second);
    if (hv < 0) hv = 1;  // unknown key/version: v1 lets the router answer or close
    auto parsed = parse_request_header(frame, hv);
    if (!parsed) {
      if (auto suppressed = _srv.bad_header_warnings.admit()) {
        spdlog::warn(
            "net: malformed request header v{} from {} (api {} v{}): {}; closing ({} more "
            "suppressed)",
            hv, _c.peer, api->first, api->second, parsed.error().message(), *suppressed);
      }
      return false;
    }
    auto t =
        _writer.open(parsed->header.correlation_id, static_cast<uint32_t>(frame.size()), charged);
    ++_handlers_running;
    request req{std::move(parsed->header), std::move(frame), parsed->body_offset, _c.peer,
                _session};
    asio::co_spawn(executor(), run_handler(self, t.seq, std::move(req)),
                   asio::bind_cancellation_slot(
                       t.cancel->slot(),
                       // run_handler catches everything; the lambda only keeps the signal alive.
                       [sig = t.cancel](std::exception_ptr) {}));
    return true;
  }

  asio::awaitable<void> run_handler(std::shared_ptr<connection> self, uint64_t seq, request req) {
    (void)self;  // keeps the connection (and the slot) alive while the handler runs
    const auto key = req.header.api_key;
    const auto version = req.header.api_version;
    std::optional<response> resp;
    try {
      resp.emplace(co_await _srv.router.handle(std::move(req)));
    } catch (const std::exception& e) {
      // After close() the handler was cancelled: an exception is the expected outcome.
      if (_c.closing) {
        spdlog::debug("net: cancelled handler for api {} v{} of {}: {}", key, version, _c.peer,
                      e.what());
      } else {
        spdlog::error("net: handler for api {} v{} of {} threw: {}; closing", key, version, _c.peer,
                      e.what());
      }
    } catch (...) {
      spdlog::error("net: handler for api {} v{} of {} threw a non-exception; closing", key,
                    version, _c.peer);
    }
    --_handlers_running;
    _c.touch();
    _writer.handler_returned(seq);
    if (!resp) {
      close();
      co_return;
    }
    if (_c.closing) co_return;
    if (!_writer.complete(seq, std::move(*resp), key, version)) close();
  }

  // Hands every response to the client as the response writer has them ready, in request order.
  asio::awaitable<void> write_loop(std::shared_ptr<connection> self) {
    (void)self;  // keeps the connection alive while the writer runs
    for (;;) {
      const bool more = co_await _writer.write_next();
      if (!more) {
        close();  // a no-op when already closing
        co_return;
      }
      maybe_finish_drain();
    }
  }

  // Closes the connection after idle_timeout without reads or writes, unless a handler is still
  // running (a slow handler is not the client's idleness), when the TLS handshake outlasts
  // tls_handshake_timeout, or when a request frame outlasts request_timeout (the reader's frame
  // clock). This is the deadline of every read.
  asio::awaitable<void> watchdog(std::shared_ptr<connection> self) {
    (void)self;  // keeps the connection alive while the watchdog runs
    const auto idle = _srv.opts.idle_timeout;
    while (!_c.closing) {
      auto deadline = _c.last_activity + idle;
      const auto now = steady::now();
      if (_handshake_deadline && now >= *_handshake_deadline) {
        if (auto suppressed = _listener.handshake_warnings.admit()) {
          spdlog::warn(
              "net: TLS handshake from {} on listener {} not complete after {} ms; closing ({} "
              "more suppressed)",
              _c.peer, _listener.opts.name, _srv.opts.tls_handshake_timeout.count(), *suppressed);
        }
        close();
        co_return;
      }
      const auto& frame_deadline = _reader.deadline();
      if (frame_deadline && now >= *frame_deadline) {
        _reader.report_overdue();
        close();
        co_return;
      }
      if (now >= deadline) {
        if (_handlers_running == 0) {
          spdlog::info("net: closing {} after {} ms idle", _c.peer, idle.count());
          close();
          co_return;
        }
        deadline = now + idle;
      }
      if (_handshake_deadline) deadline = std::min(deadline, *_handshake_deadline);
      if (frame_deadline) deadline = std::min(deadline, *frame_deadline);
      _c.watchdog_timer.expires_at(deadline);
      (void)co_await _c.watchdog_timer.async_wait(use_tuple);  // aborted by close(): loop exits
    }
  }

  server::state& _srv;
  listener_state& _listener;
  std::shared_ptr<asio::ssl::context> _tls_ctx;
  Stream _stream;
  const uint64_t _id;
  const std::shared_ptr<session> _session;
  connection_state _c;
  frame_reader<Stream> _reader;
  response_writer<Stream> _writer;
  // TLS: when the handshake must be complete; unset outside it.
  std::optional<steady::time_point> _handshake_deadline;
  uint32_t _handlers_running = 0;
  bool _reader_done = false;
};

}  // namespace
}  // namespace detail

void server::state::release_bytes(uint64_t n) {
  std::vector<std::weak_ptr<detail::connection_base>> woken;
  {
    std::lock_guard lk(budget_mu);
    budget_used -= n;
    if (budget_used + opts.max_request_bytes <= opts.max_queued_request_bytes) {
      budget_logged = false;
    }
    // Once the io threads are stopped, connections are only being destroyed: nobody to wake.
    if (!io_stopped.load()) woken.swap(budget_waiters);
  }
  for (auto& w : woken) {
    if (auto c = w.lock()) asio::post(c->executor(), [c] { c->wake_reader(); });
  }
}

namespace detail {

std::string to_string(const tcp::endpoint& ep) {
  const auto a = ep.address();
  const auto port = std::to_string(ep.port());
  return a.is_v6() ? "[" + a.to_string() + "]:" + port : a.to_string() + ":" + port;
}

asio::awaitable<void> accept_loop(server::state& st, listener_state& l) {
  asio::steady_timer backoff(l.acceptor.get_executor());
  for (;;) {
    auto [ec, socket] = co_await l.acceptor.async_accept(asio::make_strand(st.ioc), use_tuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !l.acceptor.is_open()) break;
      spdlog::warn("net: accept on listener {} failed: {}; retrying in {} ms", l.opts.name,
                   ec.message(), accept_backoff.count());
      backoff.expires_after(accept_backoff);
      (void)co_await backoff.async_wait(use_tuple);
      continue;
    }
    boost::system::error_code opt_ec;
    const auto remote = socket.remote_endpoint(opt_ec);
    std::string peer = opt_ec ? std::string("unknown") : to_string(remote);
    if (st.live.load() >= st.opts.max_connections) {
      if (!l.limit_logged) {
        spdlog::warn("net: {} connections open (max_connections); closing new ones, first {}",
                     st.live.load(), peer);
        l.limit_logged = true;
      }
      socket.close(opt_ec);
      continue;
    }
    l.limit_logged = false;
    std::string address = opt_ec ? std::string("unknown") : remote.address().to_string();
    if (!st.reserve_address(address)) {
      socket.close(opt_ec);
      continue;
    }
    // Kafka responses are small and latency-bound: never wait for Nagle.
    socket.set_option(tcp::no_delay(true), opt_ec);
    const uint64_t id = st.next_id++;
    auto launch = [&](auto c) {
      if (!st.add(id, c, address)) {
        // stop() is under way: this connection must not outlive its snapshot.
        asio::post(c->executor(), [c] { c->close(); });
        return;
      }
      c->start();
    };
    if (l.tls) {
      auto ctx = l.tls->context();
      tls_stream stream(std::move(socket), *ctx);
      launch(std::make_shared<connection<tls_stream>>(st, l, std::move(ctx), std::move(stream), id,
                                                      std::move(peer)));
    } else {
      launch(std::make_shared<connection<tcp::socket>>(st, l, nullptr, std::move(socket), id,
                                                       std::move(peer)));
    }
  }
  {
    std::lock_guard lk(st.mu);
    --st.accept_loops;
  }
  st.cv.notify_all();
}

}  // namespace detail

}  // namespace eb::net

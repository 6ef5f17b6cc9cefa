// The connection coroutines (reader, writer, idle watchdog, handler dispatch) and the accept
// loop, one code path over plain TCP and TLS: `connection<Stream>` is instantiated for
// tcp::socket and for ssl::stream<tcp::socket>; the TLS one first runs the handshake (within
// tls_handshake_timeout, counted in the connection limits) and fills the session from the peer
// certificate. See net/server.h for the threading and backpressure model.
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <deque>
#include <exception>
#include <type_traits>

#include "net/errors.h"
#include "net/server_state.h"

namespace eb::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

namespace detail {
namespace {

using tls_stream = asio::ssl::stream<tcp::socket>;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Bytes read from the socket ahead of frame boundaries. Small on purpose (it is per connection):
// a frame larger than what is buffered is read straight into its own vector.
constexpr size_t read_buffer_bytes = 16 << 10;
// First size of a frame's buffer when the frame is not already buffered: it then doubles as bytes
// arrive, so that memory follows what a client sends, not the size it announces.
constexpr size_t frame_first_chunk = 16 << 10;
// Pause after a failed accept (EMFILE, ENFILE, ENOBUFS) so a full fd table does not spin a thread.
constexpr std::chrono::milliseconds accept_backoff{100};

// Waits until `t` is cancelled: the wake-up signal between coroutines of one strand. Callers check
// their condition before waiting, on the same strand, so no wake-up is lost.
asio::awaitable<void> wait_for_wake(asio::steady_timer& t) {
  t.expires_at(steady::time_point::max());
  (void)co_await t.async_wait(use_tuple);  // operation_aborted is the wake-up itself
}

// TLS writes one record per buffer of a gather list: responses smaller than this are copied
// into one buffer first, so that a batch of small responses goes out in few records.
constexpr size_t tls_coalesce_bytes = 16 << 10;

template <class Stream>
constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

template <class Stream>
tcp::socket& lowest(Stream& s) {
  if constexpr (is_tls<Stream>) {
    return s.next_layer();
  } else {
    return s;
  }
}

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
        _peer(std::move(peer)),
        _session(std::make_shared<session>()),
        _watchdog_timer(_stream.get_executor()),
        _reader_wake(_stream.get_executor()),
        _writer_wake(_stream.get_executor()),
        _rbuf(read_buffer_bytes),
        _last_activity(steady::now()) {
    auto& s = *_session;
    s.listener = l.opts.name;
    s.protocol = l.opts.protocol;
    s.advertised_host = l.advertised_host;
    s.advertised_port = l.advertised_port;
    s.sasl_mechanisms = l.opts.sasl_mechanisms;
    s.authenticated = !uses_sasl(l.opts.protocol);
    s.peer = _peer;
  }
  ~connection() override {
    if (_held > 0) _srv.release_bytes(_held);
    _srv.remove(_id);
  }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  asio::any_io_executor executor() override { return _stream.get_executor(); }

  void wake_reader() override { _reader_wake.cancel(); }

  void start() {
    auto self = this->shared_from_this();
    auto on_exit = [self](const char* what) {
      return [self, what](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          spdlog::error("net: {} of {} failed: {}; closing", what, self->_peer, ex.what());
        } catch (...) {
          spdlog::error("net: {} of {} failed: unknown exception; closing", what, self->_peer);
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
    if (_closing || _draining) return;
    _draining = true;
    _read_cancel.emit(asio::cancellation_type::terminal);
    _reader_wake.cancel();
    for (auto& s : _slots) {
      if (s.running) s.cancel->emit(asio::cancellation_type::total);
    }
    maybe_finish_drain();
  }

  // Closes the socket, wakes every coroutine of the connection, and cancels running handlers
  // (terminal): their responses would have nowhere to go.
  void close() override {
    if (_closing) return;
    _closing = true;
    boost::system::error_code ec;
    // No TLS close_notify: the peer sees the TCP close either way, and a close must not wait.
    auto& socket = lowest(_stream);
    socket.shutdown(tcp::socket::shutdown_both, ec);  // ENOTCONN after a reset is fine
    socket.close(ec);
    _watchdog_timer.cancel();
    _reader_wake.cancel();
    _writer_wake.cancel();
    for (auto& s : _slots) {
      if (s.running) s.cancel->emit(asio::cancellation_type::terminal);
    }
  }

 private:
  // One dispatched request, in request order. A slot lives until its response is written (or
  // skipped), which is what bounds the connection's in-flight requests and bytes.
  struct slot {
    int32_t correlation_id = 0;
    uint32_t request_bytes = 0;
    uint64_t charged = 0;  // to max_queued_request_bytes: the frame buffer's capacity
    bool running = true;   // the handler has not returned yet
    bool done = false;     // `resp` and `prefix` are ready
    response resp;
    response_prefix prefix;
    // Shared with the handler's completion so that it outlives the handler coroutine, as Asio
    // requires of a cancellation slot's signal.
    std::shared_ptr<asio::cancellation_signal> cancel;
  };

  bool stopping_reads() const { return _closing || _draining; }

  void maybe_finish_drain() {
    if (_draining && !_closing && _reader_done && _slots.empty()) close();
  }

  // Reads into `b`; 0 on EOF, error, or cancellation by drain().
  asio::awaitable<size_t> read_some(asio::mutable_buffer b) {
    auto [ec, n] = co_await _stream.async_read_some(
        b, asio::bind_cancellation_slot(_read_cancel.slot(), use_tuple));
    if (ec) {
      if (ec != asio::error::eof && ec != asio::error::operation_aborted && !_closing) {
        spdlog::debug("net: read from {} failed: {}", _peer, ec.message());
      }
      co_return 0;
    }
    _last_activity = steady::now();
    co_return n;
  }

  size_t buffered() const { return _rend - _rbeg; }

  // Makes at least `n` (<= buffer size) bytes available at _rbeg; false if the reader must stop.
  asio::awaitable<bool> fill(size_t n) {
    if (buffered() >= n) co_return true;
    if (_rbeg + n > _rbuf.size()) {
      std::memmove(_rbuf.data(), _rbuf.data() + _rbeg, buffered());
      _rend -= _rbeg;
      _rbeg = 0;
    }
    while (buffered() < n) {
      if (stopping_reads()) co_return false;
      if (buffered() > 0) start_frame_clock(n);
      const size_t got =
          co_await read_some(asio::buffer(_rbuf.data() + _rend, _rbuf.size() - _rend));
      if (got == 0 || stopping_reads()) co_return false;
      _rend += got;
    }
    co_return true;
  }

  // Waits until one more request of `size` bytes fits the in-flight bounds. This is where
  // backpressure happens: the socket is not read meanwhile. One request is always admitted when
  // none is in flight, so a frame larger than max_inflight_bytes cannot stall the connection.
  asio::awaitable<bool> admit(uint32_t size) {
    const auto& o = _srv.opts;
    while (_inflight_count != 0 && (_inflight_count >= o.max_inflight_requests ||
                                    _inflight_bytes + size > o.max_inflight_bytes)) {
      if (stopping_reads()) co_return false;
      // Waiting for our own responses is not the client's slowness: its clock restarts after.
      _frame_deadline.reset();
      co_await wait_for_wake(_reader_wake);
    }
    co_return !stopping_reads();
  }

  asio::awaitable<void> read_loop(std::shared_ptr<connection> self) {
    bool ready = true;
    if constexpr (is_tls<Stream>) ready = co_await handshake();
    if (ready) co_await read_frames(self);
    _reader_done = true;
    // The frame being read when the reader stopped is gone: so is its charge.
    if (_frame_charged > 0) {
      _held -= _frame_charged;
      _srv.release_bytes(_frame_charged);
      _frame_charged = 0;
    }
    if (_draining) {
      maybe_finish_drain();
    } else {
      close();  // EOF, reset, idle timeout, malformed frame
    }
  }

  asio::awaitable<void> read_frames(const std::shared_ptr<connection>& self) {
    const auto& o = _srv.opts;
    for (;;) {
      if (buffered() == 0) _rbeg = _rend = 0;
      if (!co_await fill(frame_size_prefix)) co_return;
      const int32_t size = read_frame_size(_rbuf.data() + _rbeg);
      if (size < static_cast<int32_t>(min_request_frame) ||
          static_cast<uint32_t>(size) > o.max_request_bytes) {
        if (auto suppressed = _srv.bad_frame_warnings.admit()) {
          spdlog::warn("net: frame size {} from {} outside [{}, {}]; closing ({} more suppressed)",
                       size, _peer, min_request_frame, o.max_request_bytes, *suppressed);
        }
        co_return;
      }
      _rbeg += frame_size_prefix;
      const auto frame_bytes = static_cast<uint32_t>(size);
      if (!co_await admit(frame_bytes)) co_return;

      // The buffer grows with the bytes that arrive (doubling, exact capacities), each growth
      // charged to max_queued_request_bytes before it is made.
      const size_t have = std::min<size_t>(buffered(), frame_bytes);
      std::vector<uint8_t> frame;
      uint64_t charged = 0;
      auto grow = [&](size_t to) -> asio::awaitable<bool> {
        if (!co_await charge(self, to - charged)) co_return false;
        _frame_charged = charged = to;
        frame.reserve(to);
        frame.resize(to);
        co_return true;
      };
      const size_t first = have == frame_bytes ? have : std::max(have, frame_first_chunk);
      if (have < frame_bytes) start_frame_clock(frame_bytes);
      if (!co_await grow(std::min<size_t>(first, frame_bytes))) co_return;
      std::memcpy(frame.data(), _rbuf.data() + _rbeg, have);
      _rbeg += have;
      // The rest of a frame goes straight into its vector: no second copy, no large buffer.
      for (size_t pos = have; pos < frame_bytes;) {
        // Doubling, or at once to what the kernel already holds for us: bytes that have arrived.
        if (pos == frame.size() && !co_await grow(std::min<size_t>(
                                       std::max(pos * 2, pos + arrived_bytes()), frame_bytes))) {
          co_return;
        }
        const size_t got = co_await read_some(asio::buffer(frame.data() + pos, frame.size() - pos));
        if (got == 0 || stopping_reads()) co_return;
        pos += got;
        _frame_got = pos;
      }
      _frame_deadline.reset();
      _frame_charged = 0;  // the slot holds it from here
      if (!dispatch(self, std::move(frame), charged)) co_return;
    }
  }

  // The TLS handshake, within tls_handshake_timeout (the watchdog closes the connection after
  // it), then the session's certificate subject and principal; false if the connection must
  // close.
  asio::awaitable<bool> handshake() {
    _handshaking = true;
    _frame_deadline = steady::now() + _srv.opts.tls_handshake_timeout;
    if (_watchdog_timer.expiry() > *_frame_deadline) _watchdog_timer.cancel();  // re-arms earlier
    auto [ec] = co_await _stream.async_handshake(
        asio::ssl::stream_base::server,
        asio::bind_cancellation_slot(_read_cancel.slot(), use_tuple));
    _handshaking = false;
    _frame_deadline.reset();
    if (ec) {
      if (!_closing && !_draining) {
        std::string why = ec.message();
        const long verify = SSL_get_verify_result(_stream.native_handle());
        if (verify != X509_V_OK)
          why += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
        if (auto suppressed = _listener.handshake_warnings.admit()) {
          spdlog::warn(
              "net: TLS handshake from {} on listener {} failed: {}; closing ({} more suppressed)",
              _peer, _listener.opts.name, why, *suppressed);
        }
      }
      co_return false;
    }
    _last_activity = steady::now();
    auto subject = peer_subject(_stream.native_handle());
    if (!subject.empty()) {
      auto name = _listener.tls->rules().apply(subject);
      if (!name) {
        if (auto suppressed = _listener.handshake_warnings.admit()) {
          spdlog::warn(
              "net: client certificate '{}' from {} on listener {} matches no principal mapping "
              "rule; closing ({} more suppressed)",
              subject, _peer, _listener.opts.name, *suppressed);
        }
        co_return false;
      }
      _session->tls_subject = std::move(subject);
      // On SASL_SSL the principal comes from SASL (Kafka's rule), the subject stays for logs.
      if (_session->protocol == security_protocol::ssl) _session->principal = "User:" + *name;
    }
    co_return !stopping_reads();
  }

  // Bytes received by the kernel and not yet read (0 if it cannot tell).
  size_t arrived_bytes() {
    boost::system::error_code ec;
    // Under TLS these are record bytes, a little more than the plaintext they carry: the frame
    // grows at most that much ahead of its data.
    const size_t n = lowest(_stream).available(ec);
    return ec ? 0 : n;
  }

  // Charges `n` more bytes of this connection to max_queued_request_bytes, waiting (socket unread)
  // until they fit; false if the connection stops meanwhile.
  asio::awaitable<bool> charge(const std::shared_ptr<connection>& self, uint64_t n) {
    while (!_srv.try_charge(n, self)) {
      if (stopping_reads()) co_return false;
      co_await wait_for_wake(_reader_wake);
    }
    _held += n;
    co_return !stopping_reads();
  }

  // A frame has started and its next bytes are not here yet: from now on it has request_timeout
  // to arrive (the watchdog closes the connection after that).
  void start_frame_clock(size_t frame_bytes) {
    _frame_size = frame_bytes;
    _frame_got = buffered();
    if (_frame_deadline) return;
    _frame_deadline = steady::now() + _srv.opts.request_timeout;
    if (_watchdog_timer.expiry() > *_frame_deadline) _watchdog_timer.cancel();  // re-arms earlier
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
            hv, _peer, api->first, api->second, parsed.error().message(), *suppressed);
      }
      return false;
    }
    const auto bytes = static_cast<uint32_t>(frame.size());
    const uint64_t seq = _front_seq + _slots.size();
    auto& s = _slots.emplace_back();
    s.correlation_id = parsed->header.correlation_id;
    s.request_bytes = bytes;
    s.charged = charged;
    s.cancel = std::make_shared<asio::cancellation_signal>();
    ++_inflight_count;
    _inflight_bytes += bytes;
    ++_handlers_running;
    request req{std::move(parsed->header), std::move(frame), parsed->body_offset, _peer, _session};
    asio::co_spawn(executor(), run_handler(self, seq, std::move(req)),
                   asio::bind_cancellation_slot(
                       s.cancel->slot(),
                       // run_handler catches everything; the lambda only keeps the signal alive.
                       [sig = s.cancel](std::exception_ptr) {}));
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
      if (_closing) {
        spdlog::debug("net: cancelled handler for api {} v{} of {}: {}", key, version, _peer,
                      e.what());
      } else {
        spdlog::error("net: handler for api {} v{} of {} threw: {}; closing", key, version, _peer,
                      e.what());
      }
    } catch (...) {
      spdlog::error("net: handler for api {} v{} of {} threw a non-exception; closing", key,
                    version, _peer);
    }
    --_handlers_running;
    _last_activity = steady::now();
    auto& s = _slots[seq - _front_seq];  // slots are popped only once done
    s.running = false;
    if (!resp) {
      close();
      co_return;
    }
    if (_closing) co_return;
    if (resp->send) {
      auto prefix = encode_response_prefix(s.correlation_id, resp->response_header_version,
                                           resp->body.size());
      if (!prefix) {
        spdlog::error("net: bad response for api {} v{} of {}: {}; closing", key, version, _peer,
                      prefix.error().message());
        close();
        co_return;
      }
      s.prefix = *prefix;
    }
    s.resp = std::move(*resp);
    s.done = true;
    if (seq == _front_seq) _writer_wake.cancel();
  }

  // Sends responses in request order: waits for the oldest slot, then writes it together with every
  // consecutive completed slot behind it in one gather write.
  asio::awaitable<void> write_loop(std::shared_ptr<connection> self) {
    (void)self;  // keeps the connection alive while the writer runs
    std::vector<asio::const_buffer> bufs;
    for (;;) {
      while (!_closing && (_slots.empty() || !_slots.front().done)) {
        co_await wait_for_wake(_writer_wake);
      }
      if (_closing) co_return;
      bufs.clear();
      size_t n = 0;
      bool close_after = false;
      for (auto& s : _slots) {
        if (!s.done) break;
        ++n;
        if (s.resp.send) {
          const auto p = s.prefix.span();
          bufs.emplace_back(p.data(), p.size());
          if (!s.resp.body.empty()) bufs.emplace_back(s.resp.body.data(), s.resp.body.size());
        }
        if (s.resp.close_after) {
          close_after = true;
          break;
        }
      }
      if constexpr (is_tls<Stream>) coalesce(bufs);
      if (!bufs.empty()) {
        auto [ec, written] = co_await asio::async_write(_stream, bufs, use_tuple);
        if (ec) {
          if (!_closing) spdlog::debug("net: write to {} failed: {}", _peer, ec.message());
          close();
          co_return;
        }
        _last_activity = steady::now();
      }
      for (size_t i = 0; i < n; ++i) {
        --_inflight_count;
        _inflight_bytes -= _slots.front().request_bytes;
        if (const auto c = _slots.front().charged; c > 0) {
          _held -= c;
          _srv.release_bytes(c);
        }
        _slots.pop_front();
        ++_front_seq;
      }
      _reader_wake.cancel();
      if (close_after) {
        close();
        co_return;
      }
      maybe_finish_drain();
    }
  }

  // TLS: an SSL write takes one buffer of a gather list at a time, each its own record; small
  // responses (the usual produce acks) are copied into one buffer so that they share records.
  void coalesce(std::vector<asio::const_buffer>& bufs) {
    if (bufs.size() < 2) return;
    const size_t total = asio::buffer_size(bufs);
    if (total > tls_coalesce_bytes) return;
    _wbuf.resize(total);
    asio::buffer_copy(asio::buffer(_wbuf), bufs);
    bufs.assign(1, asio::buffer(_wbuf));
  }

  // Closes the connection after idle_timeout without reads or writes, unless a handler is still
  // running (a slow handler is not the client's idleness). This is the deadline of every read.
  asio::awaitable<void> watchdog(std::shared_ptr<connection> self) {
    (void)self;  // keeps the connection alive while the watchdog runs
    const auto idle = _srv.opts.idle_timeout;
    while (!_closing) {
      auto deadline = _last_activity + idle;
      const auto now = steady::now();
      if (_frame_deadline && now >= *_frame_deadline && _handshaking) {
        if (auto suppressed = _listener.handshake_warnings.admit()) {
          spdlog::warn(
              "net: TLS handshake from {} on listener {} not complete after {} ms; closing ({} "
              "more suppressed)",
              _peer, _listener.opts.name, _srv.opts.tls_handshake_timeout.count(), *suppressed);
        }
        close();
        co_return;
      }
      if (_frame_deadline && now >= *_frame_deadline) {
        if (auto suppressed = _srv.slow_request_warnings.admit()) {
          spdlog::warn(
              "net: request from {} incomplete after {} ms ({} of {} bytes); closing ({} more "
              "suppressed)",
              _peer, _srv.opts.request_timeout.count(), _frame_got, _frame_size, *suppressed);
        }
        close();
        co_return;
      }
      if (now >= deadline) {
        if (_handlers_running == 0) {
          spdlog::info("net: closing {} after {} ms idle", _peer, idle.count());
          close();
          co_return;
        }
        deadline = now + idle;
      }
      if (_frame_deadline) deadline = std::min(deadline, *_frame_deadline);
      _watchdog_timer.expires_at(deadline);
      (void)co_await _watchdog_timer.async_wait(use_tuple);  // aborted by close(): loop exits
    }
  }

  server::state& _srv;
  listener_state& _listener;
  std::shared_ptr<asio::ssl::context> _tls_ctx;
  Stream _stream;
  const uint64_t _id;
  const std::string _peer;
  const std::shared_ptr<session> _session;
  asio::steady_timer _watchdog_timer;
  asio::steady_timer _reader_wake;  // reader waits here for in-flight room
  asio::steady_timer _writer_wake;  // writer waits here for the oldest response
  asio::cancellation_signal _read_cancel;

  std::vector<uint8_t> _rbuf;
  size_t _rbeg = 0;
  size_t _rend = 0;

  // The frame being read: when it must be complete (unset between frames and while waiting for
  // in-flight room), its size and the bytes received.
  std::optional<steady::time_point> _frame_deadline;
  size_t _frame_size = 0;
  size_t _frame_got = 0;
  // Bytes charged to max_queued_request_bytes: the frame being read (_frame_charged) plus the
  // unanswered slots.
  uint64_t _held = 0;
  uint64_t _frame_charged = 0;

  std::deque<slot> _slots;
  uint64_t _front_seq = 0;  // sequence number of _slots.front()
  uint32_t _inflight_count = 0;
  uint64_t _inflight_bytes = 0;
  uint32_t _handlers_running = 0;
  steady::time_point _last_activity;
  bool _draining = false;
  bool _closing = false;
  bool _handshaking = false;
  // TLS only: small responses copied into one buffer (one record) before writing.
  std::vector<uint8_t> _wbuf;
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

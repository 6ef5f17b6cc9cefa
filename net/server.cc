#include "net/server.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "common/rate_limited.h"
#include "net/errors.h"

namespace eb::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Bytes read from the socket ahead of frame boundaries. Small on purpose (it is per connection):
// a frame larger than what is buffered is read straight into its own vector.
constexpr size_t read_buffer_bytes = 16 << 10;
// First size of a frame's buffer when the frame is not already buffered: it then doubles as bytes
// arrive, so that memory follows what a client sends, not the size it announces.
constexpr size_t frame_first_chunk = 16 << 10;
// After shutdown_grace and terminal cancellation, how long stop() still waits for handlers that
// ignore cancellation before abandoning them with the io_context.
constexpr std::chrono::seconds terminal_wait{2};
// Pause after a failed accept (EMFILE, ENFILE, ENOBUFS) so a full fd table does not spin a thread.
constexpr std::chrono::milliseconds accept_backoff{100};

std::string to_string(const tcp::endpoint& ep) {
  const auto a = ep.address();
  const auto port = std::to_string(ep.port());
  return a.is_v6() ? "[" + a.to_string() + "]:" + port : a.to_string() + ":" + port;
}

// Waits until `t` is cancelled: the wake-up signal between coroutines of one strand. Callers check
// their condition before waiting, on the same strand, so no wake-up is lost.
asio::awaitable<void> wait_for_wake(asio::steady_timer& t) {
  t.expires_at(steady::time_point::max());
  (void)co_await t.async_wait(use_tuple);  // operation_aborted is the wake-up itself
}

class connection;

}  // namespace

struct server::state {
  state(server_options o, request_router& r)
      : opts(std::move(o)), router(r), acceptor(asio::make_strand(ioc)) {}

  server_options opts;
  request_router& router;

  // Registry of live connections, so that stop() can reach them, and their count per IP address.
  // Guarded by `mu`; never held across a co_await.
  std::mutex mu;
  std::condition_variable cv;
  struct entry {
    std::weak_ptr<connection> conn;
    std::string address;
  };
  std::unordered_map<uint64_t, entry> conns;
  struct address_count {
    uint32_t open = 0;
    bool refusal_logged = false;
  };
  std::unordered_map<std::string, address_count> per_address;

  // max_queued_request_bytes: bytes charged by every connection, and the connections waiting for
  // some to be released (woken on their strand by release_bytes). Guarded by `budget_mu`.
  std::mutex budget_mu;
  uint64_t budget_used = 0;
  std::vector<std::weak_ptr<connection>> budget_waiters;
  bool budget_logged = false;
  std::atomic<bool> io_stopped{false};
  bool stopping = false;
  bool accept_done = false;
  std::atomic<size_t> live{0};

  std::atomic<uint16_t> bound_port{0};
  uint64_t next_id = 0;       // acceptor strand only
  bool limit_logged = false;  // acceptor strand only
  bool started = false;       // controlling thread only
  bool stopped = false;       // controlling thread only

  // Declared after the registry: destroying the io_context destroys coroutine frames that still
  // hold connections, whose destructors unregister.
  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  tcp::acceptor acceptor;
  std::vector<std::thread> threads;
  // Per-connection warnings a hostile or broken client repeats on every reconnect: logged once
  // per interval with the count suppressed since.
  static constexpr std::chrono::seconds warning_interval{10};
  rate_limited bad_frame_warnings{warning_interval};
  rate_limited bad_header_warnings{warning_interval};
  rate_limited slow_request_warnings{warning_interval};

  // Takes a place for one more connection from `address`; false (logged once per address while
  // it stays at the limit) when max_connections_per_ip are already open.
  bool reserve_address(const std::string& address) {
    std::lock_guard lk(mu);
    auto& a = per_address[address];
    if (a.open >= opts.max_connections_per_ip) {
      if (!a.refusal_logged) {
        spdlog::warn("net: {} connections open from {} (max_connections_per_ip); closing new ones",
                     a.open, address);
        a.refusal_logged = true;
      }
      return false;
    }
    ++a.open;
    return true;
  }
  void release_address(const std::string& address) {
    auto it = per_address.find(address);  // caller holds mu
    if (it == per_address.end()) return;
    if (--it->second.open == 0) {
      per_address.erase(it);
    } else {
      it->second.refusal_logged = false;
    }
  }
  // Registers a new connection whose address place is reserved; false if stopping (the caller
  // closes it, and its destructor's remove() gives the place back).
  bool add(uint64_t id, const std::shared_ptr<connection>& c, const std::string& address) {
    std::lock_guard lk(mu);
    conns.emplace(id, entry{c, address});
    live.fetch_add(1);
    return !stopping;
  }
  void remove(uint64_t id) {
    {
      std::lock_guard lk(mu);
      auto it = conns.find(id);
      if (it != conns.end()) {
        release_address(it->second.address);
        conns.erase(it);
        live.fetch_sub(1);
      }
    }
    cv.notify_all();
  }

  // Charges `n` bytes to max_queued_request_bytes; false if they do not fit, and `waiter` is then
  // woken once bytes are released. Anything fits an empty budget (validate() makes the bound at
  // least one whole request anyway).
  bool try_charge(uint64_t n, const std::shared_ptr<connection>& waiter) {
    std::lock_guard lk(budget_mu);
    if (budget_used + n <= opts.max_queued_request_bytes || budget_used == 0) {
      budget_used += n;
      return true;
    }
    if (!budget_logged) {
      spdlog::warn(
          "net: {} request bytes held (max_queued_request_bytes); connections wait unread until "
          "responses release some",
          budget_used);
      budget_logged = true;
    }
    budget_waiters.push_back(waiter);
    return false;
  }
  void release_bytes(uint64_t n);
  std::vector<std::shared_ptr<connection>> snapshot() {
    std::vector<std::shared_ptr<connection>> out;
    std::lock_guard lk(mu);
    out.reserve(conns.size());
    for (auto& [id, e] : conns) {
      if (auto c = e.conn.lock()) out.push_back(std::move(c));
    }
    return out;
  }
  bool wait_idle(std::chrono::milliseconds d) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, d, [&] { return accept_done && conns.empty(); });
  }
};

namespace {

// One client connection. Everything here runs on the connection's strand (the socket's executor):
// the reader, the writer, the idle watchdog and the handlers; no member needs a lock.
class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(server::state& srv, tcp::socket socket, uint64_t id, std::string peer)
      : _srv(srv),
        _socket(std::move(socket)),
        _id(id),
        _peer(std::move(peer)),
        _watchdog_timer(_socket.get_executor()),
        _reader_wake(_socket.get_executor()),
        _writer_wake(_socket.get_executor()),
        _rbuf(read_buffer_bytes),
        _last_activity(steady::now()) {}
  ~connection() {
    if (_held > 0) _srv.release_bytes(_held);
    _srv.remove(_id);
  }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  asio::any_io_executor executor() { return _socket.get_executor(); }

  // max_queued_request_bytes released some bytes: the reader may try again.
  void wake_reader() { _reader_wake.cancel(); }

  void start() {
    auto self = shared_from_this();
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
  void drain() {
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
  void close() {
    if (_closing) return;
    _closing = true;
    boost::system::error_code ec;
    _socket.shutdown(tcp::socket::shutdown_both, ec);  // ENOTCONN after a reset is fine
    _socket.close(ec);
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
    auto [ec, n] = co_await _socket.async_read_some(
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
    co_await read_frames(self);
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

  // Bytes received by the kernel and not yet read (0 if it cannot tell).
  size_t arrived_bytes() {
    boost::system::error_code ec;
    const size_t n = _socket.available(ec);
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
    request req{std::move(parsed->header), std::move(frame), parsed->body_offset, _peer};
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
      if (!bufs.empty()) {
        auto [ec, written] = co_await asio::async_write(_socket, bufs, use_tuple);
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

  // Closes the connection after idle_timeout without reads or writes, unless a handler is still
  // running (a slow handler is not the client's idleness). This is the deadline of every read.
  asio::awaitable<void> watchdog(std::shared_ptr<connection> self) {
    (void)self;  // keeps the connection alive while the watchdog runs
    const auto idle = _srv.opts.idle_timeout;
    while (!_closing) {
      auto deadline = _last_activity + idle;
      const auto now = steady::now();
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
  tcp::socket _socket;
  const uint64_t _id;
  const std::string _peer;
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
  bool _reader_done = false;
};

}  // namespace

void server::state::release_bytes(uint64_t n) {
  std::vector<std::weak_ptr<connection>> woken;
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

namespace {

asio::awaitable<void> accept_loop(server::state& st) {
  asio::steady_timer backoff(st.acceptor.get_executor());
  for (;;) {
    auto [ec, socket] = co_await st.acceptor.async_accept(asio::make_strand(st.ioc), use_tuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !st.acceptor.is_open()) break;
      spdlog::warn("net: accept failed: {}; retrying in {} ms", ec.message(),
                   accept_backoff.count());
      backoff.expires_after(accept_backoff);
      (void)co_await backoff.async_wait(use_tuple);
      continue;
    }
    boost::system::error_code opt_ec;
    const auto remote = socket.remote_endpoint(opt_ec);
    std::string peer = opt_ec ? std::string("unknown") : to_string(remote);
    if (st.live.load() >= st.opts.max_connections) {
      if (!st.limit_logged) {
        spdlog::warn("net: {} connections open (max_connections); closing new ones, first {}",
                     st.live.load(), peer);
        st.limit_logged = true;
      }
      socket.close(opt_ec);
      continue;
    }
    st.limit_logged = false;
    std::string address = opt_ec ? std::string("unknown") : remote.address().to_string();
    if (!st.reserve_address(address)) {
      socket.close(opt_ec);
      continue;
    }
    // Kafka responses are small and latency-bound: never wait for Nagle.
    socket.set_option(tcp::no_delay(true), opt_ec);
    const uint64_t id = st.next_id++;
    auto c = std::make_shared<connection>(st, std::move(socket), id, std::move(peer));
    if (!st.add(id, c, address)) {
      // stop() is under way: this connection must not outlive its snapshot.
      asio::post(c->executor(), [c] { c->close(); });
      continue;
    }
    c->start();
  }
  {
    std::lock_guard lk(st.mu);
    st.accept_done = true;
  }
  st.cv.notify_all();
}

}  // namespace

std::vector<std::string> validate(const server_options& o) {
  std::vector<std::string> p;
  if (o.host.empty()) p.emplace_back("host: must not be empty");
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
  return p;
}

server::server(server_options opts, request_router& router)
    : _state(std::make_unique<state>(std::move(opts), router)) {}

server::~server() { stop(); }

result<void> server::start() {
  auto& st = *_state;
  if (st.started) return std::make_error_code(std::errc::invalid_argument);
  if (auto problems = validate(st.opts); !problems.empty()) {
    for (const auto& p : problems) spdlog::error("net: server options: {}", p);
    return std::make_error_code(std::errc::invalid_argument);
  }
  boost::system::error_code ec;
  tcp::endpoint endpoint;
  if (auto addr = asio::ip::make_address(st.opts.host, ec); !ec) {
    endpoint = tcp::endpoint(addr, st.opts.port);
  } else {
    tcp::resolver resolver(st.ioc);
    auto found =
        resolver.resolve(st.opts.host, std::to_string(st.opts.port), tcp::resolver::passive, ec);
    if (ec) return static_cast<std::error_code>(ec);
    if (found.empty()) return std::make_error_code(std::errc::address_not_available);
    endpoint = found.begin()->endpoint();
  }
  auto fail = [&](boost::system::error_code e) {
    boost::system::error_code ignored;
    st.acceptor.close(ignored);
    return static_cast<std::error_code>(e);
  };
  if (st.acceptor.open(endpoint.protocol(), ec); ec) return fail(ec);
  if (st.acceptor.set_option(tcp::acceptor::reuse_address(true), ec); ec) return fail(ec);
  if (st.acceptor.bind(endpoint, ec); ec) return fail(ec);
  if (st.acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) return fail(ec);
  const auto local = st.acceptor.local_endpoint(ec);
  if (ec) return fail(ec);
  st.bound_port = local.port();
  st.started = true;

  asio::co_spawn(st.acceptor.get_executor(), accept_loop(st), [&st](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::critical("net: accept loop failed: {}", ex.what());
      }
      std::lock_guard lk(st.mu);
      st.accept_done = true;
    }
  });
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
  spdlog::info("net: listening on {} ({} io threads)", to_string(local), n);
  return {};
}

uint16_t server::port() const { return _state->bound_port.load(); }

size_t server::connection_count() const { return _state->live.load(); }

asio::io_context::executor_type server::executor() { return _state->ioc.get_executor(); }

void server::stop() {
  auto& st = *_state;
  if (!st.started || st.stopped) return;
  st.stopped = true;

  // 1. Stop accepting. Connections accepted from now on are closed by add().
  asio::post(st.acceptor.get_executor(), [&st] {
    boost::system::error_code ignored;
    st.acceptor.close(ignored);
  });
  std::vector<std::shared_ptr<connection>> conns;
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

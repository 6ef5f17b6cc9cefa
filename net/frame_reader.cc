// The frame reader of a connection (net/frame_reader.h).
#include "net/frame_reader.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <cstring>

#include "net/frame.h"

namespace eb::net::detail {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

namespace {

// Bytes read from the socket ahead of frame boundaries. Small on purpose (it is per connection):
// a frame larger than what is buffered is read straight into its own vector.
constexpr size_t read_buffer_bytes = 16 << 10;
// First size of a frame's buffer when the frame is not already buffered: it then doubles as bytes
// arrive, so that memory follows what a client sends, not the size it announces.
constexpr size_t frame_first_chunk = 16 << 10;

}  // namespace

template <class Stream>
frame_reader<Stream>::frame_reader(connection_state& c, Stream& stream)
    : _c(c), _stream(stream), _rbuf(read_buffer_bytes) {}

template <class Stream>
asio::awaitable<size_t> frame_reader<Stream>::read_some(asio::mutable_buffer b) {
  auto [ec, n] = co_await _stream.async_read_some(
      b, asio::bind_cancellation_slot(_read_cancel.slot(), use_tuple));
  if (ec) {
    if (ec != asio::error::eof && ec != asio::error::operation_aborted && !_c.closing) {
      spdlog::debug("net: read from {} failed: {}", _c.peer, ec.message());
    }
    co_return 0;
  }
  _c.touch();
  co_return n;
}

// Makes at least `n` (<= buffer size) bytes available at _rbeg; false if the reader must stop.
template <class Stream>
asio::awaitable<bool> frame_reader<Stream>::fill(size_t n) {
  if (buffered() >= n) co_return true;
  if (_rbeg + n > _rbuf.size()) {
    std::memmove(_rbuf.data(), _rbuf.data() + _rbeg, buffered());
    _rend -= _rbeg;
    _rbeg = 0;
  }
  while (buffered() < n) {
    if (_c.stopping_reads()) co_return false;
    if (buffered() > 0) start_frame_clock(n);
    const size_t got = co_await read_some(asio::buffer(_rbuf.data() + _rend, _rbuf.size() - _rend));
    if (got == 0 || _c.stopping_reads()) co_return false;
    _rend += got;
  }
  co_return true;
}

// Waits until one more request of `size` bytes fits the in-flight bounds. This is where
// backpressure happens: the socket is not read meanwhile. One request is always admitted when
// none is in flight, so a frame larger than max_inflight_bytes cannot stall the connection.
template <class Stream>
asio::awaitable<bool> frame_reader<Stream>::admit(uint32_t size) {
  const auto& o = _c.srv.opts;
  while (_c.inflight_count != 0 && (_c.inflight_count >= o.max_inflight_requests ||
                                    _c.inflight_bytes + size > o.max_inflight_bytes)) {
    if (_c.stopping_reads()) co_return false;
    // Waiting for our own responses is not the client's slowness: its clock restarts after.
    _frame_deadline.reset();
    co_await wait_for_wake(_c.reader_wake);
  }
  co_return !_c.stopping_reads();
}

template <class Stream>
asio::awaitable<std::optional<typename frame_reader<Stream>::frame>> frame_reader<Stream>::next(
    std::shared_ptr<connection_base> self) {
  const auto& o = _c.srv.opts;
  if (buffered() == 0) _rbeg = _rend = 0;
  if (!co_await fill(frame_size_prefix)) co_return std::nullopt;
  const int32_t size = read_frame_size(_rbuf.data() + _rbeg);
  if (size < static_cast<int32_t>(min_request_frame) ||
      static_cast<uint32_t>(size) > o.max_request_bytes) {
    if (auto suppressed = _c.srv.bad_frame_warnings.admit()) {
      spdlog::warn("net: frame size {} from {} outside [{}, {}]; closing ({} more suppressed)",
                   size, _c.peer, min_request_frame, o.max_request_bytes, *suppressed);
    }
    co_return std::nullopt;
  }
  _rbeg += frame_size_prefix;
  const auto frame_bytes = static_cast<uint32_t>(size);
  if (!co_await admit(frame_bytes)) co_return std::nullopt;

  // The buffer grows with the bytes that arrive (doubling, exact capacities), each growth charged
  // to max_queued_request_bytes before it is made.
  const size_t have = std::min<size_t>(buffered(), frame_bytes);
  frame f;
  auto& bytes = f.bytes;
  auto grow = [&](size_t to) -> asio::awaitable<bool> {
    if (!co_await charge(self, to - f.charged)) co_return false;
    _frame_charged = f.charged = to;
    bytes.reserve(to);
    bytes.resize(to);
    co_return true;
  };
  const size_t first = have == frame_bytes ? have : std::max(have, frame_first_chunk);
  if (have < frame_bytes) start_frame_clock(frame_bytes);
  if (!co_await grow(std::min<size_t>(first, frame_bytes))) co_return std::nullopt;
  std::memcpy(bytes.data(), _rbuf.data() + _rbeg, have);
  _rbeg += have;
  // The rest of a frame goes straight into its vector: no second copy, no large buffer.
  for (size_t pos = have; pos < frame_bytes;) {
    // Doubling, or at once to what the kernel already holds for us: bytes that have arrived.
    if (pos == bytes.size() &&
        !co_await grow(std::min<size_t>(std::max(pos * 2, pos + arrived_bytes()), frame_bytes))) {
      co_return std::nullopt;
    }
    const size_t got = co_await read_some(asio::buffer(bytes.data() + pos, bytes.size() - pos));
    if (got == 0 || _c.stopping_reads()) co_return std::nullopt;
    pos += got;
    _frame_got = pos;
  }
  _frame_deadline.reset();
  _frame_charged = 0;  // the frame's new owner holds it from here
  co_return std::move(f);
}

template <class Stream>
void frame_reader<Stream>::release_partial() {
  if (_frame_charged > 0) {
    _c.release(_frame_charged);
    _frame_charged = 0;
  }
}

// Bytes received by the kernel and not yet read (0 if it cannot tell).
template <class Stream>
size_t frame_reader<Stream>::arrived_bytes() {
  boost::system::error_code ec;
  // Under TLS these are record bytes, a little more than the plaintext they carry: the frame grows
  // at most that much ahead of its data.
  const size_t n = lowest(_stream).available(ec);
  return ec ? 0 : n;
}

// Charges `n` more bytes of this connection to max_queued_request_bytes, waiting (socket unread)
// until they fit; false if the connection stops meanwhile.
template <class Stream>
asio::awaitable<bool> frame_reader<Stream>::charge(const std::shared_ptr<connection_base>& self,
                                                   uint64_t n) {
  while (!_c.srv.try_charge(n, self)) {
    if (_c.stopping_reads()) co_return false;
    co_await wait_for_wake(_c.reader_wake);
  }
  _c.held += n;
  co_return !_c.stopping_reads();
}

// A frame has started and its next bytes are not here yet: from now on it has request_timeout to
// arrive (the watchdog closes the connection after that).
template <class Stream>
void frame_reader<Stream>::start_frame_clock(size_t frame_bytes) {
  _frame_size = frame_bytes;
  _frame_got = buffered();
  if (_frame_deadline) return;
  _frame_deadline = steady::now() + _c.srv.opts.request_timeout;
  _c.watch(*_frame_deadline);
}

template <class Stream>
void frame_reader<Stream>::report_overdue() const {
  if (auto suppressed = _c.srv.slow_request_warnings.admit()) {
    spdlog::warn(
        "net: request from {} incomplete after {} ms ({} of {} bytes); closing ({} more "
        "suppressed)",
        _c.peer, _c.srv.opts.request_timeout.count(), _frame_got, _frame_size, *suppressed);
  }
}

template class frame_reader<asio::ip::tcp::socket>;
template class frame_reader<tls_stream>;

}  // namespace eb::net::detail

#pragma once
// Internal to net/: reads one connection's request frames. It owns the read buffer, admission
// (max_inflight_requests / max_inflight_bytes of the connection), the charging of frame bytes to
// max_queued_request_bytes as the frame's buffer grows, and the frame clock behind
// request_timeout (the connection's watchdog closes the connection once deadline() passes). Runs
// on the connection's strand; instantiated for plain TCP and TLS streams (frame_reader.cc).
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "net/connection_state.h"

namespace eb::net::detail {

template <class Stream>
class frame_reader {
 public:
  frame_reader(connection_state& c, Stream& stream);
  frame_reader(const frame_reader&) = delete;
  frame_reader& operator=(const frame_reader&) = delete;

  // One request frame read whole (without its size prefix), and the bytes charged for it to
  // max_queued_request_bytes: the new owner releases them.
  struct frame {
    std::vector<uint8_t> bytes;
    uint64_t charged = 0;
  };
  // Reads the next frame once the connection's in-flight bounds admit it; nullopt when reading
  // must stop: EOF, a read error, a size prefix outside [min_request_frame, max_request_bytes]
  // (logged), drain() or close(). `self` waits for max_queued_request_bytes if it is full.
  boost::asio::awaitable<std::optional<frame>> next(std::shared_ptr<connection_base> self);

  // Reads into `b`; 0 on EOF, error, or cancellation by cancel().
  boost::asio::awaitable<size_t> read_some(boost::asio::mutable_buffer b);
  // Cancels the pending read (and a TLS handshake bound to cancel_slot()).
  void cancel() { _read_cancel.emit(boost::asio::cancellation_type::terminal); }
  boost::asio::cancellation_slot cancel_slot() { return _read_cancel.slot(); }
  // The reader stopped: the charge of the frame it was reading is given back.
  void release_partial();

  // When the frame being read must be complete: unset between frames and while waiting for the
  // connection's own in-flight requests.
  const std::optional<std::chrono::steady_clock::time_point>& deadline() const {
    return _frame_deadline;
  }
  // Logs (rate limited) that the frame missed its deadline; the caller closes the connection.
  void report_overdue() const;

 private:
  size_t buffered() const { return _rend - _rbeg; }
  boost::asio::awaitable<bool> fill(size_t n);
  boost::asio::awaitable<bool> admit(uint32_t size);
  boost::asio::awaitable<bool> charge(const std::shared_ptr<connection_base>& self, uint64_t n);
  size_t arrived_bytes();
  void start_frame_clock(size_t frame_bytes);

  connection_state& _c;
  Stream& _stream;
  boost::asio::cancellation_signal _read_cancel;

  // Bytes read from the socket ahead of frame boundaries: [_rbeg, _rend).
  std::vector<uint8_t> _rbuf;
  size_t _rbeg = 0;
  size_t _rend = 0;

  // The frame being read: when it must be complete, its size and the bytes received.
  std::optional<std::chrono::steady_clock::time_point> _frame_deadline;
  size_t _frame_size = 0;
  size_t _frame_got = 0;
  // Bytes charged for the frame being read (part of connection_state::held).
  uint64_t _frame_charged = 0;
};

extern template class frame_reader<boost::asio::ip::tcp::socket>;
extern template class frame_reader<tls_stream>;

}  // namespace eb::net::detail

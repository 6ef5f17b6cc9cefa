#pragma once
// Internal to net/: writes one connection's responses in request order. Each dispatched request
// gets a slot; the writer waits for the oldest slot's response and writes it together with every
// consecutive completed response behind it in one gather write (under TLS small responses are
// first coalesced into one buffer, so that they share TLS records). A slot lives until its
// response is written, which is what bounds the connection's in-flight requests and bytes
// (connection_state::inflight_*), and holds the request's charge to max_queued_request_bytes until
// then. Runs on the connection's strand; instantiated for plain TCP and TLS streams
// (response_writer.cc).
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "net/connection_state.h"
#include "net/frame.h"
#include "net/server.h"

namespace eb::net::detail {

template <class Stream>
class response_writer {
 public:
  response_writer(connection_state& c, Stream& stream) : _c(c), _stream(stream) {}
  response_writer(const response_writer&) = delete;
  response_writer& operator=(const response_writer&) = delete;

  // The slot of a dispatched request: its place in the response order, and the signal that
  // cancels its handler.
  struct ticket {
    uint64_t seq = 0;
    // Shared with the handler's completion so that it outlives the handler coroutine, as Asio
    // requires of a cancellation slot's signal.
    std::shared_ptr<boost::asio::cancellation_signal> cancel;
  };
  // Opens the slot of the next request (`request_bytes` long, holding `charged` bytes of
  // max_queued_request_bytes): it counts in flight until its response is written.
  ticket open(int32_t correlation_id, uint32_t request_bytes, uint64_t charged);
  // The handler of slot `seq` returned (with a response or not): it is no longer cancelled.
  void handler_returned(uint64_t seq) { slot_at(seq).running = false; }
  // Slot `seq`'s response. False (logged) if it cannot be framed: the connection must close.
  bool complete(uint64_t seq, response resp, int16_t api_key, int16_t api_version);
  // Emits `type` to every handler still running.
  void cancel_running(boost::asio::cancellation_type type);
  // No request in flight.
  bool idle() const { return _slots.empty(); }

  // Waits for the oldest response, writes it with every consecutive completed response behind it
  // and frees their slots (waking the reader); false when the connection must close: it is
  // closing already, a write failed, or a response asked to close after it.
  boost::asio::awaitable<bool> write_next();

 private:
  struct slot {
    int32_t correlation_id = 0;
    uint32_t request_bytes = 0;
    uint64_t charged = 0;  // to max_queued_request_bytes: the frame buffer's capacity
    bool running = true;   // the handler has not returned yet
    bool done = false;     // `resp` and `prefix` are ready
    response resp;
    response_prefix prefix;
    std::shared_ptr<boost::asio::cancellation_signal> cancel;
  };

  slot& slot_at(uint64_t seq) { return _slots[seq - _front_seq]; }  // popped only once done
  void coalesce(std::vector<boost::asio::const_buffer>& bufs);

  connection_state& _c;
  Stream& _stream;
  std::deque<slot> _slots;
  uint64_t _front_seq = 0;  // sequence number of _slots.front()
  std::vector<boost::asio::const_buffer> _bufs;
  // TLS only: small responses copied into one buffer (one record) before writing.
  std::vector<uint8_t> _wbuf;
};

extern template class response_writer<boost::asio::ip::tcp::socket>;
extern template class response_writer<tls_stream>;

}  // namespace eb::net::detail

#pragma once
// Internal to net/: what the parts of one client connection share. net/connection.cc holds the
// connection (its lifecycle, handshake, watchdog and handler dispatch), net/frame_reader.h reads
// its request frames, net/response_writer.h writes its responses; all of them run on the
// connection's strand, so nothing here is locked.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

#include "net/server_state.h"

namespace eb::net::detail {

using tls_stream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

inline constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);

template <class Stream>
constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

// The TCP socket under `s` (itself for plain TCP).
template <class Stream>
boost::asio::ip::tcp::socket& lowest(Stream& s) {
  if constexpr (is_tls<Stream>) {
    return s.next_layer();
  } else {
    return s;
  }
}

// Waits until `t` is cancelled: the wake-up signal between coroutines of one strand. Callers check
// their condition before waiting, on the same strand, so no wake-up is lost. (connection.cc)
boost::asio::awaitable<void> wait_for_wake(boost::asio::steady_timer& t);

// The state of one connection that its reader, writer, watchdog and handlers share.
struct connection_state {
  connection_state(server::state& s, std::string p, const boost::asio::any_io_executor& ex)
      : srv(s),
        peer(std::move(p)),
        watchdog_timer(ex),
        reader_wake(ex),
        writer_wake(ex),
        last_activity(std::chrono::steady_clock::now()) {}

  server::state& srv;
  // "ip:port" of the client, for logs.
  const std::string peer;
  boost::asio::steady_timer watchdog_timer;
  boost::asio::steady_timer reader_wake;  // reader waits here for in-flight room and budget
  boost::asio::steady_timer writer_wake;  // writer waits here for the oldest response
  // Last byte read or written, or handler finished: the idle clock.
  std::chrono::steady_clock::time_point last_activity;
  bool draining = false;  // stop(): no more requests are read
  bool closing = false;   // the socket is closed
  // Requests dispatched and not yet answered (the response writer keeps them): what admission to
  // the next request is bounded by.
  uint32_t inflight_count = 0;
  uint64_t inflight_bytes = 0;
  // Bytes charged to max_queued_request_bytes: the frame being read plus the unanswered requests.
  uint64_t held = 0;

  bool stopping_reads() const { return closing || draining; }
  void touch() { last_activity = std::chrono::steady_clock::now(); }
  // Gives `n` charged bytes back to max_queued_request_bytes.
  void release(uint64_t n) {
    held -= n;
    srv.release_bytes(n);
  }
  // Makes the watchdog re-arm if it sleeps past `deadline`.
  void watch(std::chrono::steady_clock::time_point deadline) {
    if (watchdog_timer.expiry() > deadline) watchdog_timer.cancel();
  }
};

}  // namespace eb::net::detail

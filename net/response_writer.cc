// The response writer of a connection (net/response_writer.h).
#include "net/response_writer.h"

#include <spdlog/spdlog.h>

#include <boost/asio/write.hpp>

namespace eb::net::detail {

namespace asio = boost::asio;

namespace {

// TLS writes one record per buffer of a gather list: responses smaller than this are copied into
// one buffer first, so that a batch of small responses goes out in few records.
constexpr size_t tls_coalesce_bytes = 16 << 10;

}  // namespace

template <class Stream>
typename response_writer<Stream>::ticket response_writer<Stream>::open(int32_t correlation_id,
                                                                       uint32_t request_bytes,
                                                                       uint64_t charged) {
  const uint64_t seq = _front_seq + _slots.size();
  auto& s = _slots.emplace_back();
  s.correlation_id = correlation_id;
  s.request_bytes = request_bytes;
  s.charged = charged;
  s.cancel = std::make_shared<asio::cancellation_signal>();
  ++_c.inflight_count;
  _c.inflight_bytes += request_bytes;
  return ticket{seq, s.cancel};
}

template <class Stream>
bool response_writer<Stream>::complete(uint64_t seq, response resp, int16_t api_key,
                                       int16_t api_version) {
  auto& s = slot_at(seq);
  if (resp.send) {
    auto prefix =
        encode_response_prefix(s.correlation_id, resp.response_header_version, resp.body.size());
    if (!prefix) {
      spdlog::error("net: bad response for api {} v{} of {}: {}; closing", api_key, api_version,
                    _c.peer, prefix.error().message());
      return false;
    }
    s.prefix = *prefix;
  }
  s.resp = std::move(resp);
  s.done = true;
  if (seq == _front_seq) _c.writer_wake.cancel();
  return true;
}

template <class Stream>
void response_writer<Stream>::cancel_running(asio::cancellation_type type) {
  for (auto& s : _slots) {
    if (s.running) s.cancel->emit(type);
  }
}

template <class Stream>
asio::awaitable<bool> response_writer<Stream>::write_next() {
  while (!_c.closing && (_slots.empty() || !_slots.front().done)) {
    co_await wait_for_wake(_c.writer_wake);
  }
  if (_c.closing) co_return false;
  _bufs.clear();
  size_t n = 0;
  bool close_after = false;
  for (auto& s : _slots) {
    if (!s.done) break;
    ++n;
    if (s.resp.send) {
      const auto p = s.prefix.span();
      _bufs.emplace_back(p.data(), p.size());
      if (!s.resp.body.empty()) _bufs.emplace_back(s.resp.body.data(), s.resp.body.size());
    }
    if (s.resp.close_after) {
      close_after = true;
      break;
    }
  }
  if constexpr (is_tls<Stream>) coalesce(_bufs);
  if (!_bufs.empty()) {
    auto [ec, written] = co_await asio::async_write(_stream, _bufs, use_tuple);
    if (ec) {
      if (!_c.closing) spdlog::debug("net: write to {} failed: {}", _c.peer, ec.message());
      co_return false;
    }
    _c.touch();
  }
  for (size_t i = 0; i < n; ++i) {
    --_c.inflight_count;
    _c.inflight_bytes -= _slots.front().request_bytes;
    if (const auto c = _slots.front().charged; c > 0) _c.release(c);
    _slots.pop_front();
    ++_front_seq;
  }
  _c.reader_wake.cancel();
  co_return !close_after;
}

// TLS: an SSL write takes one buffer of a gather list at a time, each its own record; small
// responses (the usual produce acks) are copied into one buffer so that they share records.
template <class Stream>
void response_writer<Stream>::coalesce(std::vector<asio::const_buffer>& bufs) {
  if (bufs.size() < 2) return;
  const size_t total = asio::buffer_size(bufs);
  if (total > tls_coalesce_bytes) return;
  _wbuf.resize(total);
  asio::buffer_copy(asio::buffer(_wbuf), bufs);
  bufs.assign(1, asio::buffer(_wbuf));
}

template class response_writer<asio::ip::tcp::socket>;
template class response_writer<tls_stream>;

}  // namespace eb::net::detail

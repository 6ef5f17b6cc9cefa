#pragma once
// A blocking Kafka wire client over a raw socket, for tests that must send exactly the bytes they
// choose (malformed frames, wrong CRCs) and read exactly what comes back.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "net/messages/api.h"
#include "net/wire.h"

namespace eb::test {

class wire_client {
 public:
  explicit wire_client(uint16_t port) {
    _fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("connect failed");
    }
    int one = 1;
    ::setsockopt(_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~wire_client() { ::close(_fd); }
  wire_client(const wire_client&) = delete;
  wire_client& operator=(const wire_client&) = delete;

  void send_raw(const std::vector<uint8_t>& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::send(_fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      done += size_t(n);
    }
  }

  // A whole request frame: size, header v1/v2 (client id "test"), body.
  template <class Request>
  void send(const Request& req, int16_t version, int32_t correlation_id) {
    net::writer w;
    w.write_int32(0);  // size, patched below
    w.write_int16(static_cast<int16_t>(Request::api));
    w.write_int16(version);
    w.write_int32(correlation_id);
    w.write_nullable_string(std::string("test"), false);
    if (net::request_header_version(static_cast<int16_t>(Request::api), version) == 2) {
      w.write_uvarint(0);
    }
    req.encode(w, version);
    auto bytes = w.take();
    uint32_t size = htonl(uint32_t(bytes.size() - 4));
    std::memcpy(bytes.data(), &size, 4);
    send_raw(bytes);
  }

  // The next response frame (without the size prefix); nullopt on EOF or timeout.
  std::optional<std::vector<uint8_t>> read_frame(
      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    uint8_t size_bytes[4];
    if (!read_exact(size_bytes, 4, timeout)) return std::nullopt;
    uint32_t size;
    std::memcpy(&size, size_bytes, 4);
    std::vector<uint8_t> frame(ntohl(size));
    if (!read_exact(frame.data(), frame.size(), timeout)) return std::nullopt;
    return frame;
  }

  // Reads one response and decodes it as Response at `version`; checks the correlation id.
  template <class Response>
  Response receive(int16_t version, int32_t correlation_id) {
    auto frame = read_frame();
    if (!frame) throw std::runtime_error("no response");
    net::reader r(*frame);
    if (r.read_int32() != correlation_id) throw std::runtime_error("wrong correlation id");
    if (net::response_header_version(static_cast<int16_t>(Response::api), version) == 1) {
      r.skip_tagged_fields();
    }
    auto resp = Response::decode(r, version);
    if (!resp) throw std::runtime_error("undecodable response: " + resp.error().message());
    return *resp;
  }

  // True if the server closed the connection (EOF) within the timeout.
  bool closed_by_peer(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    uint8_t b;
    pollfd p{_fd, POLLIN, 0};
    if (::poll(&p, 1, int(timeout.count())) <= 0) return false;
    return ::recv(_fd, &b, 1, 0) <= 0;
  }

 private:
  bool read_exact(uint8_t* out, size_t n, std::chrono::milliseconds timeout) {
    size_t done = 0;
    while (done < n) {
      pollfd p{_fd, POLLIN, 0};
      if (::poll(&p, 1, int(timeout.count())) <= 0) return false;
      ssize_t got = ::recv(_fd, out + done, n - done, 0);
      if (got <= 0) return false;
      done += size_t(got);
    }
    return true;
  }

  int _fd;
};

}  // namespace eb::test

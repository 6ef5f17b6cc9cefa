#include "bridge/status/client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <iostream>

namespace eb::bridge {

// `edgebridge status`: GETs <url>/v1/status and prints it. Exit 1 when the gateway cannot be
// reached or answers with an error.
int print_status(const std::string& url) {
  namespace http = boost::beast::http;
  std::string rest = url;
  if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  auto colon = authority.rfind(':');
  std::string host = authority.substr(0, colon);
  std::string port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  try {
    boost::asio::io_context io;
    boost::asio::ip::tcp::resolver resolver(io);
    boost::beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(resolver.resolve(host, port));
    http::request<http::empty_body> req{http::verb::get, "/v1/status", 11};
    req.set(http::field::host, authority);
    http::write(stream, req);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    if (res.result() != http::status::ok) {
      std::cerr << "edgebridge status: " << url << " answered " << res.result_int() << "\n";
      return 1;
    }
    std::cout << res.body() << "\n";
    return 0;
  } catch (const boost::system::system_error& e) {
    std::cerr << "edgebridge status: cannot reach " << url << ": " << e.code().message() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "edgebridge status: cannot reach " << url << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace eb::bridge

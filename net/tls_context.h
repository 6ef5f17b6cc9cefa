#pragma once
// Internal to net/: a TLS listener's OpenSSL context, built from its PEM files and rebuilt when
// they change. Loading reads files: it runs at start() and on the server's reload thread, never
// on an io thread. Connections take the current context when they are accepted; one that began
// with the old context keeps it (shared_ptr) until it closes.
#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <variant>

#include "net/principal_rules.h"
#include "net/server.h"

namespace eb::net::detail {

class tls_credentials {
 public:
  // Loads the listener's files into a context; the error names the file and OpenSSL's reason.
  static std::variant<std::unique_ptr<tls_credentials>, std::string> load(
      const listener_options& l);

  // The context for a new connection. Any thread.
  std::shared_ptr<boost::asio::ssl::context> context() const;
  // Rebuilds the context if a file's modification time or size changed. A file that does not
  // load keeps the old context and is logged once (until the files change again). Reload thread.
  void reload_if_changed();
  const principal_rules& rules() const { return _rules; }
  net::client_auth client_auth() const { return _opts.tls.client_auth; }

 private:
  struct stamp {
    std::filesystem::file_time_type mtime{};
    uintmax_t size = 0;
    bool operator==(const stamp&) const = default;
  };
  struct stamps {
    stamp cert, key, ca;
    bool operator==(const stamps&) const = default;
  };
  tls_credentials(listener_options l, principal_rules r)
      : _opts(std::move(l)), _rules(std::move(r)) {}
  stamps current_stamps() const;
  // A new context from the files, or the reason it cannot be built.
  std::variant<std::shared_ptr<boost::asio::ssl::context>, std::string> build() const;

  const listener_options _opts;
  const principal_rules _rules;
  mutable std::mutex _mu;
  std::shared_ptr<boost::asio::ssl::context> _ctx;  // guarded by _mu
  stamps _loaded;                                   // reload thread only
  stamps _failed;                                   // the stamps of the last logged failure
};

// The verified peer certificate's subject in RFC 2253 form; empty without a certificate.
std::string peer_subject(SSL* ssl);

}  // namespace eb::net::detail

// TLS listeners of net/server.h over real loopback sockets with an OpenSSL client: handshake and
// session (listener, principal from the certificate through the mapping rules), mTLS refusals
// (no certificate, an untrusted or an expired one), plaintext to the TLS port, the handshake
// timeout, several listeners at once, certificate reload, and the safe-default validation.
// Certificates come from scripts/dev-certs.sh, as a user would make them.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "net/principal_rules.h"
#include "tests/net/server_fixture.h"

namespace eb::net {
namespace {

namespace fs = std::filesystem;

// One directory of dev certificates for the whole binary, removed at exit.
struct cert_dir {
  fs::path path = fs::temp_directory_path() / ("eb-tls-test-" + std::to_string(::getpid()));
  cert_dir() {
    fs::remove_all(path);
    const char* src = std::getenv("EB_SOURCE_DIR");
    const std::string cmd =
        std::string(src ? src : ".") + "/scripts/dev-certs.sh " + path.string() + " >/dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  ~cert_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

const fs::path& certs() {
  static const cert_dir dir;
  return dir.path;
}

// A blocking TLS client over a raw socket (with a receive timeout, so no test hangs).
class tls_client {
 public:
  struct identity {
    fs::path cert, key;
  };
  tls_client(uint16_t port, std::optional<identity> id = std::nullopt, bool verify_server = true)
      : _raw(port) {
    _ctx = SSL_CTX_new(TLS_client_method());
    if (verify_server) {
      SSL_CTX_load_verify_locations(_ctx, (certs() / "ca.crt").c_str(), nullptr);
      SSL_CTX_set_verify(_ctx, SSL_VERIFY_PEER, nullptr);
    }
    if (id) {
      SSL_CTX_use_certificate_file(_ctx, id->cert.c_str(), SSL_FILETYPE_PEM);
      SSL_CTX_use_PrivateKey_file(_ctx, id->key.c_str(), SSL_FILETYPE_PEM);
    }
    _ssl = SSL_new(_ctx);
    SSL_set_fd(_ssl, _raw.fd());
    SSL_set_tlsext_host_name(_ssl, "localhost");
  }
  ~tls_client() {
    SSL_free(_ssl);
    SSL_CTX_free(_ctx);
  }

  // The handshake and, under TLS 1.3, the first round trip: a server that refuses the client
  // certificate says so only after the client's Finished.
  bool connect_and_echo(const bytes& body = text("ping")) {
    if (!_raw.connected() || SSL_connect(_ssl) != 1) return false;
    reply r;
    return send(make_request(k_echo, 0, 7, "tls", body)) && read(r) && r.rest == body;
  }
  bool send(const bytes& b) { return SSL_write(_ssl, b.data(), static_cast<int>(b.size())) > 0; }
  bool read_exact(uint8_t* p, size_t n) {
    size_t off = 0;
    while (off < n) {
      const int got = SSL_read(_ssl, p + off, static_cast<int>(n - off));
      if (got <= 0) return false;
      off += static_cast<size_t>(got);
    }
    return true;
  }
  bool read(reply& out) {
    uint8_t size[4];
    if (!read_exact(size, 4)) return false;
    bytes frame(get32(size));
    if (frame.size() < 4 || !read_exact(frame.data(), frame.size())) return false;
    out.correlation_id = static_cast<int32_t>(get32(frame.data()));
    out.rest.assign(frame.begin() + 4, frame.end());
    return true;
  }
  // The server certificate's subject (one line).
  std::string server_subject() {
    X509* c = SSL_get1_peer_certificate(_ssl);
    if (!c) return {};
    char buf[256];
    X509_NAME_oneline(X509_get_subject_name(c), buf, sizeof buf);
    X509_free(c);
    return buf;
  }

 private:
  client _raw;
  SSL_CTX* _ctx = nullptr;
  SSL* _ssl = nullptr;
};

listener_options tls_listener(std::string name, client_auth auth = client_auth::none) {
  listener_options l;
  l.name = std::move(name);
  l.host = "127.0.0.1";
  l.port = 0;
  l.protocol = security_protocol::ssl;
  l.tls.cert = certs() / "server.crt";
  l.tls.key = certs() / "server.key";
  l.tls.client_auth = auth;
  if (auth != client_auth::none) l.tls.client_ca = certs() / "ca.crt";
  return l;
}

server_options with(std::vector<listener_options> ls) {
  auto o = test_options();
  o.listeners = std::move(ls);
  return o;
}

tls_client::identity device() { return {certs() / "client.crt", certs() / "client.key"}; }

TEST(principal_rules, kafka_syntax) {
  auto parsed = principal_rules::parse(
      "RULE:^CN=([^,]+),OU=floor,O=(.*)$/$1@$2/L, RULE:^CN=(.*?),O=ops$/ops-$1/U,DEFAULT");
  ASSERT_TRUE(std::holds_alternative<principal_rules>(parsed)) << std::get<std::string>(parsed);
  auto& r = std::get<principal_rules>(parsed);
  EXPECT_EQ(r.apply("CN=Device1,OU=floor,O=Plant"), "device1@plant");
  EXPECT_EQ(r.apply("CN=alice,O=ops"), "OPS-ALICE");
  EXPECT_EQ(r.apply("CN=other,O=x"), "CN=other,O=x");  // DEFAULT
  auto only = std::get<principal_rules>(principal_rules::parse("RULE:^CN=a\\/b$/x/"));
  EXPECT_EQ(only.apply("CN=a/b"), "x");
  EXPECT_EQ(only.apply("CN=c"), std::nullopt);  // no rule matches: no principal
  EXPECT_TRUE(std::holds_alternative<std::string>(principal_rules::parse("RULE:^(x$/y/")));
  EXPECT_TRUE(std::holds_alternative<std::string>(principal_rules::parse("RULE:nopattern")));
  EXPECT_TRUE(std::holds_alternative<std::string>(principal_rules::parse("SOMETHING")));
}

TEST(net_tls, ssl_listener_serves_and_fills_the_session) {
  auto l = tls_listener("floor");
  l.advertised_host = "gw.plant";
  l.advertised_port = 19093;
  harness h(with({l}));
  ASSERT_NE(h.srv.port("floor"), 0);
  tls_client c(h.srv.port("floor"));
  ASSERT_TRUE(c.connect_and_echo());
  EXPECT_NE(c.server_subject().find("CN=localhost"), std::string::npos);
  auto s = h.router.last_session();
  EXPECT_EQ(s.listener, "floor");
  EXPECT_EQ(s.protocol, security_protocol::ssl);
  EXPECT_EQ(s.principal, "User:ANONYMOUS");  // no client certificate asked for
  EXPECT_EQ(s.advertised_host, "gw.plant");
  EXPECT_EQ(s.advertised_port, 19093);
  EXPECT_TRUE(s.authenticated);
  // Pipelined requests and a response larger than one TLS record keep their order.
  bytes big(100'000, 'x');
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c.send(make_request(k_echo, 0, 100 + i, "t", big)));
  for (int i = 0; i < 5; ++i) {
    reply r;
    ASSERT_TRUE(c.read(r));
    EXPECT_EQ(r.correlation_id, 100 + i);
    EXPECT_EQ(r.rest.size(), big.size());
  }
}

TEST(net_tls, mtls_principal_from_the_certificate_and_refusals) {
  auto l = tls_listener("mtls", client_auth::required);
  l.tls.principal_mapping_rules = "RULE:^CN=([^,]+),OU=floor,.*$/$1/L,DEFAULT";
  harness h(with({l}));
  const auto port = h.srv.port("mtls");
  {
    tls_client c(port, device());
    ASSERT_TRUE(c.connect_and_echo());
    auto s = h.router.last_session();
    EXPECT_EQ(s.principal, "User:device1");
    EXPECT_EQ(s.tls_subject, "CN=device1,OU=floor,O=edgebridge-dev");
  }
  const int served = h.router.started.load();
  {
    tls_client none(port);  // no certificate
    EXPECT_FALSE(none.connect_and_echo());
  }
  {
    tls_client rogue(port, tls_client::identity{certs() / "rogue.crt", certs() / "rogue.key"});
    EXPECT_FALSE(rogue.connect_and_echo());
  }
  {
    tls_client expired(port,
                       tls_client::identity{certs() / "expired.crt", certs() / "expired.key"});
    EXPECT_FALSE(expired.connect_and_echo());
  }
  EXPECT_EQ(h.router.started.load(), served);  // no request of theirs reached a handler
  tls_client again(port, device());
  EXPECT_TRUE(again.connect_and_echo());
}

TEST(net_tls, plaintext_client_on_the_tls_port_is_closed_others_served) {
  harness h(with({tls_listener("floor")}));
  client plain(h.srv.port("floor"));
  ASSERT_TRUE(plain.connected());
  ASSERT_TRUE(plain.send(make_request(k_echo, 0, 1, "plain", text("hello"))));
  EXPECT_TRUE(plain.closed_by_peer());
  tls_client c(h.srv.port("floor"));
  EXPECT_TRUE(c.connect_and_echo());
}

TEST(net_tls, silent_client_times_out_in_the_handshake) {
  auto o = with({tls_listener("floor")});
  o.tls_handshake_timeout = 300ms;
  o.max_connections_per_ip = 2;
  harness h(o);
  client a(h.srv.port("floor")), b(h.srv.port("floor"));
  ASSERT_TRUE(wait_until([&] { return h.srv.connection_count() == 2; }));
  // Handshaking connections count against max_connections_per_ip: a third is refused meanwhile.
  {
    client third(h.srv.port("floor"));
    EXPECT_TRUE(third.closed_by_peer());
  }
  EXPECT_TRUE(a.closed_by_peer());
  EXPECT_TRUE(b.closed_by_peer());
  EXPECT_TRUE(wait_until([&] { return h.srv.connection_count() == 0; }));
  tls_client c(h.srv.port("floor"));
  EXPECT_TRUE(c.connect_and_echo());
}

TEST(net_tls, listeners_side_by_side_each_with_its_own_session) {
  listener_options local;
  local.name = "local";
  local.port = 0;
  harness h(with({local, tls_listener("floor")}));
  ASSERT_NE(h.srv.port("local"), h.srv.port("floor"));
  EXPECT_EQ(h.srv.port(), h.srv.port("local"));
  client p(h.srv.port("local"));
  ASSERT_EQ(p.call(k_echo, 1, text("a")).rest, text("a"));
  auto s = h.router.last_session();
  EXPECT_EQ(s.listener, "local");
  EXPECT_EQ(s.protocol, security_protocol::plaintext);
  EXPECT_EQ(s.advertised_host, "127.0.0.1");
  EXPECT_EQ(s.advertised_port, h.srv.port("local"));
  tls_client t(h.srv.port("floor"));
  ASSERT_TRUE(t.connect_and_echo());
  s = h.router.last_session();
  EXPECT_EQ(s.listener, "floor");
  EXPECT_EQ(s.advertised_port, h.srv.port("floor"));
}

TEST(net_tls, sasl_listener_sessions_start_unauthenticated) {
  auto l = tls_listener("sasl");
  l.protocol = security_protocol::sasl_ssl;
  l.sasl_mechanisms = {"SCRAM-SHA-512"};
  harness h(with({l}));
  tls_client c(h.srv.port("sasl"));
  ASSERT_TRUE(c.connect_and_echo());
  auto s = h.router.last_session();
  EXPECT_EQ(s.protocol, security_protocol::sasl_ssl);
  EXPECT_FALSE(s.authenticated);
  EXPECT_EQ(s.principal, "User:ANONYMOUS");
}

// Makes a self-signed certificate for CN=`cn` into cert/key (replacing them by rename).
void make_cert(const fs::path& cert, const fs::path& key, const std::string& cn) {
  const auto tmp_cert = cert.string() + ".new", tmp_key = key.string() + ".new";
  const std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
      "-days 2 -subj /CN=" +
      cn + " -keyout " + tmp_key + " -out " + tmp_cert + " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  fs::permissions(tmp_key, fs::perms::owner_read | fs::perms::owner_write);
  fs::rename(tmp_key, key);
  fs::rename(tmp_cert, cert);
}

TEST(net_tls, certificate_reloads_without_restart_and_a_bad_file_keeps_the_old) {
  const fs::path dir = certs() / "reload";
  fs::create_directories(dir);
  auto l = tls_listener("floor");
  l.tls.cert = dir / "server.crt";
  l.tls.key = dir / "server.key";
  make_cert(l.tls.cert, l.tls.key, "first");
  auto o = with({l});
  o.tls_reload_interval = 20ms;
  harness h(o);
  const auto port = h.srv.port("floor");
  auto subject = [&] {
    tls_client c(port, std::nullopt, /*verify_server=*/false);
    EXPECT_TRUE(c.connect_and_echo());  // every connection is served, whatever is on disk
    return c.server_subject();
  };
  EXPECT_EQ(subject(), "/CN=first");
  make_cert(l.tls.cert, l.tls.key, "second");
  EXPECT_TRUE(wait_until([&] { return subject() == "/CN=second"; }));
  std::ofstream(l.tls.cert) << "not a certificate\n";
  for (int i = 0; i < 5; ++i) EXPECT_EQ(subject(), "/CN=second");
  make_cert(l.tls.cert, l.tls.key, "third");
  EXPECT_TRUE(wait_until([&] { return subject() == "/CN=third"; }));
}

TEST(net_tls, validation_refuses_unsafe_listeners) {
  auto l = tls_listener("floor");
  EXPECT_TRUE(validate(with({l})).empty());
  // A world-readable key.
  const fs::path key = certs() / "world.key";
  fs::copy_file(certs() / "server.key", key, fs::copy_options::overwrite_existing);
  fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write | fs::perms::others_read);
  l.tls.key = key;
  auto p = validate(with({l}));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("listeners.floor.tls.key"), std::string::npos) << p[0];
  EXPECT_NE(p[0].find("readable by every user"), std::string::npos) << p[0];
  // PLAINTEXT on a non-loopback address only with allow_insecure.
  listener_options open;
  open.name = "open";
  open.host = "0.0.0.0";
  p = validate(with({open}));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("allow_insecure"), std::string::npos) << p[0];
  open.allow_insecure = true;
  EXPECT_TRUE(validate(with({open})).empty());
  auto single = test_options();
  single.host = "0.0.0.0";
  EXPECT_EQ(validate(single).size(), 1u);
  // Missing files, client CA missing for mTLS, duplicate names and ports, bad rules.
  auto bad = tls_listener("x", client_auth::required);
  bad.tls.cert = certs() / "missing.crt";
  bad.tls.client_ca.clear();
  bad.tls.principal_mapping_rules = "RULE:(/x/";
  auto dup = tls_listener("x");
  dup.port = 9999;
  auto dup2 = tls_listener("y");
  dup2.port = 9999;
  EXPECT_EQ(validate(with({bad, dup, dup2})).size(), 5u);
  // A listener that cannot load its files does not start.
  auto mismatched = tls_listener("floor");
  mismatched.tls.key = certs() / "client.key";
  test_router router;
  server s(with({mismatched}), router);
  EXPECT_FALSE(s.start());
}

}  // namespace
}  // namespace eb::net

#include "net/tls_context.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

namespace eb::net::detail {

namespace ssl = boost::asio::ssl;

namespace {

std::string openssl_reason(const boost::system::error_code& ec) {
  std::string s = ec.message();
  if (const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()))) {
    s = reason;
  }
  return s;
}

}  // namespace

std::variant<std::unique_ptr<tls_credentials>, std::string> tls_credentials::load(
    const listener_options& l) {
  auto rules = principal_rules::parse(l.tls.principal_mapping_rules);
  if (auto* err = std::get_if<std::string>(&rules)) return "principal_mapping_rules: " + *err;
  std::unique_ptr<tls_credentials> c(
      new tls_credentials(l, std::get<principal_rules>(std::move(rules))));
  c->_loaded = c->current_stamps();
  auto built = c->build();
  if (auto* err = std::get_if<std::string>(&built)) return *err;
  c->_ctx = std::get<0>(std::move(built));
  return c;
}

std::shared_ptr<ssl::context> tls_credentials::context() const {
  std::lock_guard lk(_mu);
  return _ctx;
}

tls_credentials::stamps tls_credentials::current_stamps() const {
  auto one = [](const std::filesystem::path& p) {
    stamp s;
    if (p.empty()) return s;
    std::error_code ec;
    s.mtime = std::filesystem::last_write_time(p, ec);
    s.size = std::filesystem::file_size(p, ec);
    if (ec) s.size = static_cast<uintmax_t>(-1);
    return s;
  };
  return {one(_opts.tls.cert), one(_opts.tls.key), one(_opts.tls.client_ca)};
}

std::variant<std::shared_ptr<ssl::context>, std::string> tls_credentials::build() const {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use,
                   ec);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(
      native, _opts.tls.min_version == "TLSv1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
  // Idle connections give their record buffers back (most of a TLS connection's memory).
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  // No resumption (no cache, no TLS 1.3 tickets): every connection verifies its certificate in
  // a full handshake. The session id context must still be set: with client verification on,
  // OpenSSL refuses a client that offers a session without one ("session id context
  // uninitialized", the Java client does offer one).
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(native, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(native, 0);
  static constexpr unsigned char sid_ctx[] = "edgebridge";
  SSL_CTX_set_session_id_context(native, sid_ctx, sizeof sid_ctx - 1);
  if (ctx->use_certificate_chain_file(_opts.tls.cert.string(), ec); ec) {
    return "tls.cert " + _opts.tls.cert.string() + ": " + openssl_reason(ec);
  }
  if (ctx->use_private_key_file(_opts.tls.key.string(), ssl::context::pem, ec); ec) {
    return "tls.key " + _opts.tls.key.string() + ": " + openssl_reason(ec);
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    return "tls.key " + _opts.tls.key.string() + ": does not match the certificate " +
           _opts.tls.cert.string();
  }
  if (!_opts.tls.client_ca.empty()) {
    if (ctx->load_verify_file(_opts.tls.client_ca.string(), ec); ec) {
      return "tls.client_ca " + _opts.tls.client_ca.string() + ": " + openssl_reason(ec);
    }
    // Tell clients which CAs we accept (the Java client picks its key by them).
    if (auto* names = SSL_load_client_CA_file(_opts.tls.client_ca.c_str())) {
      SSL_CTX_set_client_CA_list(native, names);
    }
  }
  switch (_opts.tls.client_auth) {
    case client_auth::none:
      ctx->set_verify_mode(ssl::verify_none, ec);
      break;
    case client_auth::requested:
      ctx->set_verify_mode(ssl::verify_peer, ec);
      break;
    case client_auth::required:
      ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
      break;
  }
  ERR_clear_error();
  return ctx;
}

void tls_credentials::reload_if_changed() {
  const auto now = current_stamps();
  if (now == _loaded || now == _failed) return;
  auto built = build();
  if (auto* err = std::get_if<std::string>(&built)) {
    spdlog::error("net: listener {}: new TLS files do not load, keeping the previous ones: {}",
                  _opts.name, *err);
    _failed = now;
    return;
  }
  {
    std::lock_guard lk(_mu);
    _ctx = std::get<0>(std::move(built));
  }
  _loaded = now;
  _failed = {};
  spdlog::info("net: listener {}: TLS certificate and key reloaded", _opts.name);
}

std::string peer_subject(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) return {};
  std::string out;
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0,
                           XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
      char* data = nullptr;
      const long n = BIO_get_mem_data(bio, &data);
      if (n > 0) out.assign(data, static_cast<size_t>(n));
    }
    BIO_free(bio);
  }
  X509_free(cert);
  return out;
}

}  // namespace eb::net::detail

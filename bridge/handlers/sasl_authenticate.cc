#include "bridge/handlers/sasl_authenticate.h"

#include <spdlog/spdlog.h>

#include "bridge/security/sasl.h"
#include "common/rate_limited.h"

namespace eb::bridge {

awaitable<handler_result<net::msg::sasl_authenticate_response>> sasl_authenticate_handler::handle(
    request_ctx& ctx, net::msg::sasl_authenticate_request req) {
  handler_result<net::msg::sasl_authenticate_response> reply;
  auto* sasl = dynamic_cast<security::sasl_session*>(ctx.session.sasl.get());
  if (!sasl) {
    reply.body.error_code = static_cast<int16_t>(net::error_code::illegal_sasl_state);
    reply.body.error_message = "SaslAuthenticate before a successful SaslHandshake";
    reply.close = true;
    co_return reply;
  }
  auto a = sasl->authenticate(req.auth_bytes, ctx.svc.store, security::sasl_session::clock::now());
  reply.body.error_code = a.error_code;
  reply.body.error_message = std::move(a.error_message);
  reply.body.auth_bytes = std::move(a.auth_bytes);
  reply.body.session_lifetime_ms = a.session_lifetime_ms;
  reply.close = a.close;
  if (a.error_code != 0) {
    static rate_limited limit(std::chrono::seconds(10));
    if (auto n = limit.admit()) {
      spdlog::warn("{}: SASL {} authentication failed ({} like it suppressed)", ctx.peer,
                   sasl->mechanism(), *n);
    }
  } else if (sasl->authenticated()) {
    ctx.session.principal = sasl->principal();
    ctx.session.authenticated = true;
  }
  co_return reply;
}

}  // namespace eb::bridge

#include "bridge/handlers/sasl_handshake.h"

#include "bridge/security/sasl.h"

namespace eb::bridge {

awaitable<handler_result<net::msg::sasl_handshake_response>> sasl_handshake_handler::handle(
    request_ctx& ctx, net::msg::sasl_handshake_request req) {
  handler_result<net::msg::sasl_handshake_response> reply;
  if (!net::uses_sasl(ctx.session.protocol)) {
    // Kafka on a listener without SASL: ILLEGAL_SASL_STATE and no mechanisms.
    reply.body.error_code = static_cast<int16_t>(net::error_code::illegal_sasl_state);
    reply.close = true;
    co_return reply;
  }
  if (!ctx.session.sasl) {
    static const security::sasl_options defaults;
    ctx.session.sasl = std::make_unique<security::sasl_session>(
        ctx.svc.sasl ? *ctx.svc.sasl : defaults, ctx.session.sasl_mechanisms);
  }
  auto& sasl = static_cast<security::sasl_session&>(*ctx.session.sasl);
  auto a = sasl.handshake(ctx.version(), req.mechanism);
  reply.body.error_code = a.error_code;
  reply.body.mechanisms = std::move(a.mechanisms);
  reply.close = a.close;
  co_return reply;
}

}  // namespace eb::bridge

#include "bridge/handlers/init_producer_id.h"

#include <spdlog/spdlog.h>

#include <limits>

#include "bridge/async_storage.h"
#include "bridge/errors.h"
#include "bridge/handlers/authz.h"

namespace eb::bridge {

awaitable<handler_result<net::msg::init_producer_id_response>> init_producer_id_handler::handle(
    request_ctx& ctx, net::msg::init_producer_id_request req) {
  handler_result<net::msg::init_producer_id_response> reply;
  auto& resp = reply.body;
  resp.producer_id = -1;
  resp.producer_epoch = -1;
  if (req.transactional_id && !req.transactional_id->empty()) {
    spdlog::warn(
        "InitProducerId from {}: transactional id '{}' refused: transactions are not "
        "supported",
        ctx.peer, *req.transactional_id);
    resp.error_code = static_cast<int16_t>(net::error_code::transactional_id_authorization_failed);
    co_return reply;
  }
  // Idempotence: IdempotentWrite on the cluster or Write on some topic (Kafka's rule).
  if (!authorize_idempotent(ctx)) {
    resp.error_code = static_cast<int16_t>(net::error_code::cluster_authorization_failed);
    co_return reply;
  }
  if (req.producer_id >= 0 && req.producer_epoch >= 0 &&
      req.producer_epoch < std::numeric_limits<int16_t>::max() - 1) {
    resp.producer_id = req.producer_id;
    resp.producer_epoch = static_cast<int16_t>(req.producer_epoch + 1);
    co_return reply;
  }
  auto id = co_await async_allocate_producer_id(ctx.svc.store);
  if (!id) {
    resp.error_code = static_cast<int16_t>(to_kafka(id.error()));
    co_return reply;
  }
  resp.producer_id = *id;
  resp.producer_epoch = 0;
  co_return reply;
}

}  // namespace eb::bridge

// FindCoordinator: edgebridge itself coordinates every consumer group. Transaction coordinators
// (key type 1) do not exist here, and a transactional producer must learn that at once: answered
// with COORDINATOR_NOT_AVAILABLE it would retry the lookup until its own timeout.
#include "bridge/handlers/find_coordinator.h"

#include <spdlog/spdlog.h>

#include "bridge/handlers/authz.h"

namespace eb::bridge {
namespace {

constexpr int8_t group_key = 0;
constexpr int8_t transaction_key = 1;
constexpr const char* no_transactions = "transactions are not supported by edgebridge";

// The refusal each client turns into a fatal error that shows ErrorMessage (v1+):
// - librdkafka (FindCoordinator v1-2 for transactions) fails init_transactions() fatally only on
//   TRANSACTIONAL_ID_AUTHORIZATION_FAILED, printing the ErrorMessage after it; every other code
//   makes it look the coordinator up again until its timeout.
// - The Java producer (v3, the flexible version, like every client of Kafka >= 2.4) retries
//   retriable codes, raises TransactionalIdAuthorizationException with Kafka's own text for
//   TRANSACTIONAL_ID_AUTHORIZATION_FAILED, and raises a fatal KafkaException quoting ErrorMessage
//   for any other code: UNSUPPORTED_VERSION (as Redpanda answers without transactions) names the
//   reason.
net::error_code transaction_refusal(int16_t version) {
  return version >= 3 ? net::error_code::unsupported_version
                      : net::error_code::transactional_id_authorization_failed;
}

}  // namespace

awaitable<handler_result<net::msg::find_coordinator_response>> find_coordinator_handler::handle(
    request_ctx& ctx, net::msg::find_coordinator_request req) {
  handler_result<net::msg::find_coordinator_response> result;
  auto& resp = result.body;
  if (req.key_type == transaction_key) {
    spdlog::warn("FindCoordinator from {}: transactional id '{}' refused: {}", ctx.peer, req.key,
                 no_transactions);
    resp.error_code = static_cast<int16_t>(transaction_refusal(ctx.version()));
    resp.error_message = no_transactions;
    resp.node_id = -1;
    resp.port = -1;
    co_return result;
  }
  if (req.key_type != group_key || !ctx.svc.groups) {
    resp.error_code = static_cast<int16_t>(net::error_code::coordinator_not_available);
    resp.error_message = "edgebridge coordinates consumer groups only";
    resp.node_id = -1;
    resp.port = -1;
    co_return result;
  }
  if (req.key.empty()) {
    resp.error_code = static_cast<int16_t>(net::error_code::invalid_group_id);
    resp.node_id = -1;
    resp.port = -1;
    co_return result;
  }
  if (!authorize(ctx, security::acl_operation::describe, security::resource_type::group, req.key)) {
    resp.error_code = static_cast<int16_t>(net::error_code::group_authorization_failed);
    resp.node_id = -1;
    resp.port = -1;
    co_return result;
  }
  resp.error_message.reset();
  resp.node_id = ctx.svc.node_id;
  std::tie(resp.host, resp.port) = advertised_address(ctx);
  co_return result;
}

}  // namespace eb::bridge

#pragma once
// Authorization checks of the handlers: the request's principal and host against the authorizer
// (bridge/security/authorizer.h). A denial is logged, rate limited, with the principal, host,
// operation and resource (never anything secret).
#include <string_view>

#include "bridge/handlers/handler.h"
#include "bridge/security/acl.h"

namespace eb::bridge {

// True when allowed (always without an enabled authorizer); logs a denial unless `quiet`
// (Metadata filters topics silently, as Kafka does).
bool authorize(const request_ctx& ctx, security::acl_operation op, security::resource_type type,
               std::string_view name, bool quiet = false);
inline bool authorize_cluster(const request_ctx& ctx, security::acl_operation op,
                              bool quiet = false) {
  return authorize(ctx, op, security::resource_type::cluster, security::cluster_name, quiet);
}
// InitProducerId without a transactional id: IdempotentWrite on the cluster or Write on some
// topic.
bool authorize_idempotent(const request_ctx& ctx);
// Auto-creation (Metadata, Produce) and CreateTopics: Create on the cluster or on the topic.
bool authorize_create(const request_ctx& ctx, std::string_view topic);

}  // namespace eb::bridge

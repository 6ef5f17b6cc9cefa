#include "net/errors.h"

#include <string>

namespace eb::net {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "eb.net"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::truncated:
        return "truncated input";
      case errc::invalid_length:
        return "invalid length prefix";
      case errc::invalid_varint:
        return "invalid varint";
      case errc::unexpected_null:
        return "null where the schema forbids it";
      case errc::bad_magic:
        return "record batch magic is not 2";
      case errc::bad_crc:
        return "record batch CRC-32C mismatch";
      case errc::count_mismatch:
        return "record count mismatch";
      case errc::unsupported_compression:
        return "unsupported compression codec";
      case errc::decompression_failed:
        return "decompression failed";
      case errc::too_large:
        return "output exceeds the size bound";
      case errc::unsupported_version:
        return "unsupported API version";
      case errc::unknown_api_key:
        return "unknown API key";
      case errc::trailing_bytes:
        return "unexpected trailing bytes";
      case errc::invalid_value:
        return "invalid field value";
    }
    return "unknown net error " + std::to_string(ev);
  }
};

}  // namespace

const std::error_category& net_category() noexcept {
  // A function-local constant object: no mutable global state.
  static const category c;
  return c;
}

std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), net_category()}; }

std::string_view name(error_code e) noexcept {
  switch (e) {
#define EB_CODE(n, s) \
  case error_code::n: \
    return s;
    EB_CODE(unknown_server_error, "UNKNOWN_SERVER_ERROR")
    EB_CODE(none, "NONE")
    EB_CODE(offset_out_of_range, "OFFSET_OUT_OF_RANGE")
    EB_CODE(corrupt_message, "CORRUPT_MESSAGE")
    EB_CODE(unknown_topic_or_partition, "UNKNOWN_TOPIC_OR_PARTITION")
    EB_CODE(invalid_fetch_size, "INVALID_FETCH_SIZE")
    EB_CODE(leader_not_available, "LEADER_NOT_AVAILABLE")
    EB_CODE(not_leader_or_follower, "NOT_LEADER_OR_FOLLOWER")
    EB_CODE(request_timed_out, "REQUEST_TIMED_OUT")
    EB_CODE(broker_not_available, "BROKER_NOT_AVAILABLE")
    EB_CODE(replica_not_available, "REPLICA_NOT_AVAILABLE")
    EB_CODE(message_too_large, "MESSAGE_TOO_LARGE")
    EB_CODE(stale_controller_epoch, "STALE_CONTROLLER_EPOCH")
    EB_CODE(offset_metadata_too_large, "OFFSET_METADATA_TOO_LARGE")
    EB_CODE(network_exception, "NETWORK_EXCEPTION")
    EB_CODE(coordinator_load_in_progress, "COORDINATOR_LOAD_IN_PROGRESS")
    EB_CODE(coordinator_not_available, "COORDINATOR_NOT_AVAILABLE")
    EB_CODE(not_coordinator, "NOT_COORDINATOR")
    EB_CODE(invalid_topic_exception, "INVALID_TOPIC_EXCEPTION")
    EB_CODE(record_list_too_large, "RECORD_LIST_TOO_LARGE")
    EB_CODE(not_enough_replicas, "NOT_ENOUGH_REPLICAS")
    EB_CODE(not_enough_replicas_after_append, "NOT_ENOUGH_REPLICAS_AFTER_APPEND")
    EB_CODE(invalid_required_acks, "INVALID_REQUIRED_ACKS")
    EB_CODE(illegal_generation, "ILLEGAL_GENERATION")
    EB_CODE(inconsistent_group_protocol, "INCONSISTENT_GROUP_PROTOCOL")
    EB_CODE(invalid_group_id, "INVALID_GROUP_ID")
    EB_CODE(unknown_member_id, "UNKNOWN_MEMBER_ID")
    EB_CODE(invalid_session_timeout, "INVALID_SESSION_TIMEOUT")
    EB_CODE(rebalance_in_progress, "REBALANCE_IN_PROGRESS")
    EB_CODE(invalid_commit_offset_size, "INVALID_COMMIT_OFFSET_SIZE")
    EB_CODE(topic_authorization_failed, "TOPIC_AUTHORIZATION_FAILED")
    EB_CODE(group_authorization_failed, "GROUP_AUTHORIZATION_FAILED")
    EB_CODE(cluster_authorization_failed, "CLUSTER_AUTHORIZATION_FAILED")
    EB_CODE(invalid_timestamp, "INVALID_TIMESTAMP")
    EB_CODE(unsupported_sasl_mechanism, "UNSUPPORTED_SASL_MECHANISM")
    EB_CODE(illegal_sasl_state, "ILLEGAL_SASL_STATE")
    EB_CODE(unsupported_version, "UNSUPPORTED_VERSION")
    EB_CODE(topic_already_exists, "TOPIC_ALREADY_EXISTS")
    EB_CODE(invalid_partitions, "INVALID_PARTITIONS")
    EB_CODE(invalid_replication_factor, "INVALID_REPLICATION_FACTOR")
    EB_CODE(invalid_replica_assignment, "INVALID_REPLICA_ASSIGNMENT")
    EB_CODE(invalid_config, "INVALID_CONFIG")
    EB_CODE(not_controller, "NOT_CONTROLLER")
    EB_CODE(invalid_request, "INVALID_REQUEST")
    EB_CODE(unsupported_for_message_format, "UNSUPPORTED_FOR_MESSAGE_FORMAT")
    EB_CODE(policy_violation, "POLICY_VIOLATION")
    EB_CODE(out_of_order_sequence_number, "OUT_OF_ORDER_SEQUENCE_NUMBER")
    EB_CODE(duplicate_sequence_number, "DUPLICATE_SEQUENCE_NUMBER")
    EB_CODE(invalid_producer_epoch, "INVALID_PRODUCER_EPOCH")
    EB_CODE(invalid_txn_state, "INVALID_TXN_STATE")
    EB_CODE(invalid_producer_id_mapping, "INVALID_PRODUCER_ID_MAPPING")
    EB_CODE(invalid_transaction_timeout, "INVALID_TRANSACTION_TIMEOUT")
    EB_CODE(concurrent_transactions, "CONCURRENT_TRANSACTIONS")
    EB_CODE(transaction_coordinator_fenced, "TRANSACTION_COORDINATOR_FENCED")
    EB_CODE(transactional_id_authorization_failed, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED")
    EB_CODE(security_disabled, "SECURITY_DISABLED")
    EB_CODE(operation_not_attempted, "OPERATION_NOT_ATTEMPTED")
    EB_CODE(kafka_storage_error, "KAFKA_STORAGE_ERROR")
    EB_CODE(log_dir_not_found, "LOG_DIR_NOT_FOUND")
    EB_CODE(sasl_authentication_failed, "SASL_AUTHENTICATION_FAILED")
    EB_CODE(unknown_producer_id, "UNKNOWN_PRODUCER_ID")
    EB_CODE(reassignment_in_progress, "REASSIGNMENT_IN_PROGRESS")
    EB_CODE(delegation_token_auth_disabled, "DELEGATION_TOKEN_AUTH_DISABLED")
    EB_CODE(delegation_token_not_found, "DELEGATION_TOKEN_NOT_FOUND")
    EB_CODE(delegation_token_owner_mismatch, "DELEGATION_TOKEN_OWNER_MISMATCH")
    EB_CODE(delegation_token_request_not_allowed, "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED")
    EB_CODE(delegation_token_authorization_failed, "DELEGATION_TOKEN_AUTHORIZATION_FAILED")
    EB_CODE(delegation_token_expired, "DELEGATION_TOKEN_EXPIRED")
    EB_CODE(invalid_principal_type, "INVALID_PRINCIPAL_TYPE")
    EB_CODE(non_empty_group, "NON_EMPTY_GROUP")
    EB_CODE(group_id_not_found, "GROUP_ID_NOT_FOUND")
    EB_CODE(fetch_session_id_not_found, "FETCH_SESSION_ID_NOT_FOUND")
    EB_CODE(invalid_fetch_session_epoch, "INVALID_FETCH_SESSION_EPOCH")
    EB_CODE(listener_not_found, "LISTENER_NOT_FOUND")
    EB_CODE(topic_deletion_disabled, "TOPIC_DELETION_DISABLED")
    EB_CODE(fenced_leader_epoch, "FENCED_LEADER_EPOCH")
    EB_CODE(unknown_leader_epoch, "UNKNOWN_LEADER_EPOCH")
    EB_CODE(unsupported_compression_type, "UNSUPPORTED_COMPRESSION_TYPE")
    EB_CODE(stale_broker_epoch, "STALE_BROKER_EPOCH")
    EB_CODE(offset_not_available, "OFFSET_NOT_AVAILABLE")
    EB_CODE(member_id_required, "MEMBER_ID_REQUIRED")
    EB_CODE(preferred_leader_not_available, "PREFERRED_LEADER_NOT_AVAILABLE")
    EB_CODE(group_max_size_reached, "GROUP_MAX_SIZE_REACHED")
    EB_CODE(fenced_instance_id, "FENCED_INSTANCE_ID")
    EB_CODE(eligible_leaders_not_available, "ELIGIBLE_LEADERS_NOT_AVAILABLE")
    EB_CODE(election_not_needed, "ELECTION_NOT_NEEDED")
    EB_CODE(no_reassignment_in_progress, "NO_REASSIGNMENT_IN_PROGRESS")
    EB_CODE(group_subscribed_to_topic, "GROUP_SUBSCRIBED_TO_TOPIC")
    EB_CODE(invalid_record, "INVALID_RECORD")
    EB_CODE(unstable_offset_commit, "UNSTABLE_OFFSET_COMMIT")
    EB_CODE(throttling_quota_exceeded, "THROTTLING_QUOTA_EXCEEDED")
    EB_CODE(producer_fenced, "PRODUCER_FENCED")
    EB_CODE(resource_not_found, "RESOURCE_NOT_FOUND")
    EB_CODE(duplicate_resource, "DUPLICATE_RESOURCE")
    EB_CODE(unacceptable_credential, "UNACCEPTABLE_CREDENTIAL")
    EB_CODE(inconsistent_voter_set, "INCONSISTENT_VOTER_SET")
    EB_CODE(invalid_update_version, "INVALID_UPDATE_VERSION")
    EB_CODE(feature_update_failed, "FEATURE_UPDATE_FAILED")
    EB_CODE(principal_deserialization_failure, "PRINCIPAL_DESERIALIZATION_FAILURE")
    EB_CODE(snapshot_not_found, "SNAPSHOT_NOT_FOUND")
    EB_CODE(position_out_of_range, "POSITION_OUT_OF_RANGE")
    EB_CODE(unknown_topic_id, "UNKNOWN_TOPIC_ID")
    EB_CODE(duplicate_broker_registration, "DUPLICATE_BROKER_REGISTRATION")
    EB_CODE(broker_id_not_registered, "BROKER_ID_NOT_REGISTERED")
    EB_CODE(inconsistent_topic_id, "INCONSISTENT_TOPIC_ID")
    EB_CODE(inconsistent_cluster_id, "INCONSISTENT_CLUSTER_ID")
    EB_CODE(transactional_id_not_found, "TRANSACTIONAL_ID_NOT_FOUND")
    EB_CODE(fetch_session_topic_id_error, "FETCH_SESSION_TOPIC_ID_ERROR")
    EB_CODE(ineligible_replica, "INELIGIBLE_REPLICA")
    EB_CODE(new_leader_elected, "NEW_LEADER_ELECTED")
    EB_CODE(offset_moved_to_tiered_storage, "OFFSET_MOVED_TO_TIERED_STORAGE")
    EB_CODE(fenced_member_epoch, "FENCED_MEMBER_EPOCH")
    EB_CODE(unreleased_instance_id, "UNRELEASED_INSTANCE_ID")
    EB_CODE(unsupported_assignor, "UNSUPPORTED_ASSIGNOR")
    EB_CODE(stale_member_epoch, "STALE_MEMBER_EPOCH")
    EB_CODE(mismatched_endpoint_type, "MISMATCHED_ENDPOINT_TYPE")
    EB_CODE(unsupported_endpoint_type, "UNSUPPORTED_ENDPOINT_TYPE")
    EB_CODE(unknown_controller_id, "UNKNOWN_CONTROLLER_ID")
    EB_CODE(unknown_subscription_id, "UNKNOWN_SUBSCRIPTION_ID")
    EB_CODE(telemetry_too_large, "TELEMETRY_TOO_LARGE")
    EB_CODE(invalid_registration, "INVALID_REGISTRATION")
    EB_CODE(transaction_abortable, "TRANSACTION_ABORTABLE")
    EB_CODE(invalid_regular_expression, "INVALID_REGULAR_EXPRESSION")
#undef EB_CODE
  }
  return "UNKNOWN";
}

}  // namespace eb::net

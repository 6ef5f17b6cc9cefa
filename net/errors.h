#pragma once
// Errors of the net module.
//
// `errc` is what the codecs return inside the process (wire decode, record batch checks); a
// malformed frame closes the connection (docs/STYLE.md, "Errors"). `error_code` is Kafka's int16
// code as it goes on the wire: only handlers (bridge/) produce it, by mapping module errors at the
// edge (bridge/errors.cc).
#include <cstdint>
#include <string_view>
#include <system_error>

namespace eb::net {

enum class errc {
  // A read ran past the end of the buffer (frame, field or record cut short).
  truncated = 1,
  // A length prefix is negative (and not the null marker), or larger than the bytes left.
  invalid_length,
  // A varint is longer than its type allows (overlong or overflowing encoding).
  invalid_varint,
  // A null value where the schema does not allow null at this version.
  unexpected_null,
  // RecordBatch magic is not 2 (v0/v1 message sets are not supported).
  bad_magic,
  // RecordBatch CRC-32C does not match attributes..end.
  bad_crc,
  // Record count, last offset delta and the records actually present disagree.
  count_mismatch,
  // Compression codec id not in 0..4.
  unsupported_compression,
  // The compressed payload is corrupt or does not decompress.
  decompression_failed,
  // Decompressed output would exceed the caller's bound (decompression bomb).
  too_large,
  // API version outside the range this codec knows.
  unsupported_version,
  // API key this codec does not know.
  unknown_api_key,
  // Bytes left over after a structure that must end exactly (record, batch list).
  trailing_bytes,
  // A field holds a value the format forbids (negative count, bad attributes, ...).
  invalid_value,
};

const std::error_category& net_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

// Kafka protocol error codes (org.apache.kafka.common.protocol.Errors). The names follow Kafka's,
// lower-cased; the comment is the meaning a client attaches to the code.
enum class error_code : int16_t {
  unknown_server_error = -1,          // Unexpected server error; clients may retry.
  none = 0,                           // Success.
  offset_out_of_range = 1,            // Requested offset is outside the partition's range.
  corrupt_message = 2,                // Batch fails CRC, is malformed, or has an invalid size.
  unknown_topic_or_partition = 3,     // Topic or partition does not exist on this broker.
  invalid_fetch_size = 4,             // Requested fetch size is invalid.
  leader_not_available = 5,           // Leader election in progress; retriable.
  not_leader_or_follower = 6,         // This broker is not the leader/replica for the partition.
  request_timed_out = 7,              // The request timed out; retriable.
  broker_not_available = 8,           // The broker is not available.
  replica_not_available = 9,          // Replica not available for the partition.
  message_too_large = 10,             // Batch larger than the configured maximum.
  stale_controller_epoch = 11,        // Controller moved to another broker.
  offset_metadata_too_large = 12,     // Committed offset metadata string too large.
  network_exception = 13,             // Server disconnected before a response was received.
  coordinator_load_in_progress = 14,  // Coordinator is loading its state; retriable.
  coordinator_not_available = 15,     // Coordinator is not available; retriable.
  not_coordinator = 16,               // This broker is not the coordinator for the key.
  invalid_topic_exception = 17,       // Illegal topic name (or internal topic access).
  record_list_too_large = 18,         // Produce request's records exceed the segment size.
  not_enough_replicas = 19,           // Fewer in-sync replicas than required.
  not_enough_replicas_after_append = 20,  // Written, but with fewer in-sync replicas than required.
  invalid_required_acks = 21,             // acks is not -1, 0 or 1.
  illegal_generation = 22,                // Group generation id is not current.
  inconsistent_group_protocol = 23,       // Member's protocol type/names do not match the group's.
  invalid_group_id = 24,                  // Group id is empty or invalid.
  unknown_member_id = 25,                 // Coordinator does not know this member id.
  invalid_session_timeout = 26,           // Session timeout outside the broker's allowed range.
  rebalance_in_progress = 27,             // Group is rebalancing; the member must rejoin.
  invalid_commit_offset_size = 28,        // Committed offset metadata is too large.
  topic_authorization_failed = 29,        // Not authorized to access the topic.
  group_authorization_failed = 30,        // Not authorized to access the group.
  cluster_authorization_failed = 31,      // Not authorized for a cluster-level operation.
  invalid_timestamp = 32,                 // Record timestamp outside the acceptable range.
  unsupported_sasl_mechanism = 33,        // Broker does not support the SASL mechanism.
  illegal_sasl_state = 34,                // Request not valid in the current SASL state.
  unsupported_version = 35,               // The API version is not supported.
  topic_already_exists = 36,              // Topic with this name already exists.
  invalid_partitions = 37,                // Number of partitions is below 1.
  invalid_replication_factor = 38,        // Replication factor is below 1 or above brokers.
  invalid_replica_assignment = 39,        // Replica assignment is invalid.
  invalid_config = 40,                    // Configuration is invalid.
  not_controller = 41,                    // This broker is not the active controller.
  invalid_request = 42,                   // Request is malformed or violates the protocol.
  unsupported_for_message_format = 43,    // Message format version does not support the request.
  policy_violation = 44,                  // Request parameters violate a configured policy.
  out_of_order_sequence_number = 45,      // Idempotent producer sequence gap.
  duplicate_sequence_number = 46,         // Idempotent producer sent a duplicate sequence.
  invalid_producer_epoch = 47,            // Producer epoch is stale (fenced by a newer one).
  invalid_txn_state = 48,                 // Operation not valid in the transaction's state.
  invalid_producer_id_mapping = 49,       // Producer id not mapped to the transactional id.
  invalid_transaction_timeout = 50,       // Transaction timeout above the broker's maximum.
  concurrent_transactions = 51,           // Another transaction operation is in progress.
  transaction_coordinator_fenced = 52,    // Transaction coordinator has a newer epoch.
  transactional_id_authorization_failed = 53,  // Not authorized for the transactional id.
  security_disabled = 54,                      // Security features are disabled.
  operation_not_attempted = 55,                // Not attempted because a related one failed.
  kafka_storage_error = 56,              // Disk error on the broker while handling the request.
  log_dir_not_found = 57,                // User-specified log directory not found.
  sasl_authentication_failed = 58,       // SASL authentication failed.
  unknown_producer_id = 59,              // Broker has no state for the producer id.
  reassignment_in_progress = 60,         // Partition reassignment in progress.
  delegation_token_auth_disabled = 61,   // Delegation token feature is disabled.
  delegation_token_not_found = 62,       // Delegation token not found.
  delegation_token_owner_mismatch = 63,  // Principal is not the token's owner/renewer.
  delegation_token_request_not_allowed = 64,   // Token requests not allowed on this channel.
  delegation_token_authorization_failed = 65,  // Not authorized for the delegation token.
  delegation_token_expired = 66,               // Delegation token has expired.
  invalid_principal_type = 67,                 // Principal type is not supported.
  non_empty_group = 68,                        // Group is not empty (delete refused).
  group_id_not_found = 69,                     // Group id does not exist.
  fetch_session_id_not_found = 70,             // Fetch session id not found.
  invalid_fetch_session_epoch = 71,            // Fetch session epoch is invalid.
  listener_not_found = 72,                     // Leader has no endpoint for the listener.
  topic_deletion_disabled = 73,                // Topic deletion is disabled.
  fenced_leader_epoch = 74,                    // Request's leader epoch is older than the broker's.
  unknown_leader_epoch = 75,                   // Request's leader epoch is newer than the broker's.
  unsupported_compression_type = 76,           // Compression codec not supported by the request.
  stale_broker_epoch = 77,                     // Broker epoch has changed.
  offset_not_available = 78,                   // Leader high watermark not yet caught up.
  member_id_required = 79,                     // Group join needs a member id: rejoin with it.
  preferred_leader_not_available = 80,         // Preferred leader was not available.
  group_max_size_reached = 81,                 // Group reached its maximum size.
  fenced_instance_id = 82,                     // Static member fenced by a newer instance.
  eligible_leaders_not_available = 83,         // No eligible leader for an election.
  election_not_needed = 84,                    // Leader election not needed.
  no_reassignment_in_progress = 85,            // No partition reassignment in progress.
  group_subscribed_to_topic = 86,              // Group subscribed to the topic (delete refused).
  invalid_record = 87,                         // Record failed broker-side validation.
  unstable_offset_commit = 88,                 // Pending transactional offset commits.
  throttling_quota_exceeded = 89,              // Mutation quota exceeded.
  producer_fenced = 90,                        // Producer fenced by a newer producer epoch.
  resource_not_found = 91,                     // Requested resource does not exist.
  duplicate_resource = 92,                     // Resource referenced more than once.
  unacceptable_credential = 93,                // Credential does not meet requirements.
  inconsistent_voter_set = 94,                 // Voter set inconsistent (KRaft).
  invalid_update_version = 95,                 // Invalid update version.
  feature_update_failed = 96,                  // Feature update failed.
  principal_deserialization_failure = 97,      // Forwarded principal failed to deserialize.
  snapshot_not_found = 98,                     // Snapshot not found (KRaft).
  position_out_of_range = 99,                  // Position outside the snapshot (KRaft).
  unknown_topic_id = 100,                      // Topic id does not exist on this broker.
  duplicate_broker_registration = 101,         // Broker id already registered.
  broker_id_not_registered = 102,              // Broker id not registered.
  inconsistent_topic_id = 103,                 // Topic id does not match the log's.
  inconsistent_cluster_id = 104,               // Cluster id does not match.
  transactional_id_not_found = 105,            // Transactional id not found.
  fetch_session_topic_id_error = 106,          // Fetch session topic id inconsistency.
  ineligible_replica = 107,                    // Replica not eligible for the ISR.
  new_leader_elected = 108,                    // New leader elected; ISR update obsolete.
  offset_moved_to_tiered_storage = 109,        // Offset moved to tiered storage.
  fenced_member_epoch = 110,                   // Consumer member epoch fenced (KIP-848).
  unreleased_instance_id = 111,                // Instance id still in use (KIP-848).
  unsupported_assignor = 112,                  // Assignor not supported (KIP-848).
  stale_member_epoch = 113,                    // Member epoch is stale (KIP-848).
  mismatched_endpoint_type = 114,              // Request sent to the wrong endpoint type.
  unsupported_endpoint_type = 115,             // Endpoint type does not support the request.
  unknown_controller_id = 116,                 // Controller id unknown.
  unknown_subscription_id = 117,               // Client telemetry subscription id unknown.
  telemetry_too_large = 118,                   // Client telemetry payload too large.
  invalid_registration = 119,                  // Invalid controller registration.
  transaction_abortable = 120,                 // Transaction must be aborted (KIP-890).
  invalid_regular_expression = 128,            // Subscription regex is invalid (KIP-848).
};

// "NONE", "CORRUPT_MESSAGE", ... as Kafka names them; "UNKNOWN" for codes not listed.
std::string_view name(error_code e) noexcept;

}  // namespace eb::net

template <>
struct std::is_error_code_enum<eb::net::errc> : std::true_type {};

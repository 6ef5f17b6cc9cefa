#include "bridge/errors.h"

#include "bridge/groups/errc.h"
#include "bridge/topics.h"
#include "storage/storage.h"

namespace eb::bridge {
namespace {

net::error_code from_storage(storage::errc e) {
  using k = net::error_code;
  switch (e) {
    // Retriable for the client: it backs off while the mirror frees space.
    case storage::errc::disk_full:
      return k::kafka_storage_error;
    case storage::errc::io_error:
      return k::kafka_storage_error;
    // Shutdown may race an append of unknown durability: let the client retry elsewhere/later.
    case storage::errc::shutting_down:
      return k::request_timed_out;
    // The writer's queue is full: a retriable timeout, like a broker under load.
    case storage::errc::queue_full:
      return k::request_timed_out;
    case storage::errc::unknown_topic:
    case storage::errc::unknown_partition:
      return k::unknown_topic_or_partition;
    case storage::errc::topic_exists:
      return k::topic_already_exists;
    case storage::errc::invalid_topic_config:
      return k::invalid_topic_exception;
    case storage::errc::offset_out_of_range:
      return k::offset_out_of_range;
    case storage::errc::out_of_order_sequence:
      return k::out_of_order_sequence_number;
    case storage::errc::invalid_producer_epoch:
      return k::invalid_producer_epoch;
    case storage::errc::unknown_producer_id:
      return k::unknown_producer_id;
    case storage::errc::held_for_mirror:
      return k::policy_violation;
  }
  return k::unknown_server_error;
}

net::error_code from_net(net::errc e) {
  using k = net::error_code;
  switch (e) {
    case net::errc::bad_crc:
    case net::errc::bad_magic:
    case net::errc::truncated:
    case net::errc::invalid_length:
    case net::errc::invalid_varint:
    case net::errc::trailing_bytes:
      return k::corrupt_message;
    // A payload that is not a stream of its codec, whatever its CRC says (Kafka's LogValidator
    // fails the same batch as corrupt).
    case net::errc::decompression_failed:
      return k::corrupt_message;
    case net::errc::count_mismatch:
    case net::errc::invalid_value:
    case net::errc::unexpected_null:
      return k::invalid_record;
    case net::errc::unsupported_compression:
      return k::unsupported_compression_type;
    // A batch inflating past the bound (a decompression bomb): not retriable, unlike
    // MESSAGE_TOO_LARGE, which makes the Java producer split the batch and try again.
    case net::errc::too_large:
      return k::invalid_record;
    case net::errc::unsupported_version:
    case net::errc::unknown_api_key:
      return k::unsupported_version;
  }
  return k::unknown_server_error;
}

net::error_code from_groups(groups::errc e) {
  using k = net::error_code;
  switch (e) {
    case groups::errc::unknown_member_id:
      return k::unknown_member_id;
    case groups::errc::illegal_generation:
      return k::illegal_generation;
    case groups::errc::rebalance_in_progress:
      return k::rebalance_in_progress;
    case groups::errc::inconsistent_group_protocol:
      return k::inconsistent_group_protocol;
    case groups::errc::invalid_group_id:
      return k::invalid_group_id;
    case groups::errc::invalid_session_timeout:
      return k::invalid_session_timeout;
    case groups::errc::member_id_required:
      return k::member_id_required;
    case groups::errc::coordinator_not_available:
      return k::coordinator_not_available;
    case groups::errc::group_max_size_reached:
      return k::group_max_size_reached;
    case groups::errc::non_empty_group:
      return k::non_empty_group;
    case groups::errc::fenced_member_epoch:
      return k::fenced_member_epoch;
    case groups::errc::stale_member_epoch:
      return k::stale_member_epoch;
    case groups::errc::unreleased_instance_id:
      return k::unreleased_instance_id;
    case groups::errc::group_id_not_found:
      return k::group_id_not_found;
    case groups::errc::invalid_request:
      return k::invalid_request;
    case groups::errc::unsupported_assignor:
      return k::unsupported_assignor;
    case groups::errc::invalid_regular_expression:
      return k::invalid_regular_expression;
  }
  return k::unknown_server_error;
}

// A topics_options limit: Kafka's answers for a create policy (CreateTopics; auto-creation turns
// these into unknown_topic before they get here).
net::error_code from_topics(topic_errc e) {
  switch (e) {
    case topic_errc::too_many_partitions:
      return net::error_code::invalid_partitions;
    case topic_errc::message_too_large:
      return net::error_code::message_too_large;
    case topic_errc::too_many_topics:
    case topic_errc::name_not_allowed:
      return net::error_code::policy_violation;
  }
  return net::error_code::unknown_server_error;
}

}  // namespace

net::error_code to_kafka_group_commit(std::error_code e) {
  if (!e) return net::error_code::none;
  if (e.category() == storage::storage_category()) {
    switch (storage::errc(e.value())) {
      case storage::errc::unknown_topic:
      case storage::errc::unknown_partition:
        return net::error_code::unknown_topic_or_partition;
      // Kafka answers a failed offsets append with NOT_COORDINATOR: the client finds the
      // coordinator again (us) and retries.
      case storage::errc::io_error:
        return net::error_code::not_coordinator;
      default:
        // Full disk, full queue, shutting down: retriable.
        return net::error_code::coordinator_not_available;
    }
  }
  return to_kafka(e);
}

net::error_code to_kafka(std::error_code e) {
  if (!e) return net::error_code::none;
  if (e.category() == storage::storage_category()) return from_storage(storage::errc(e.value()));
  if (e.category() == net::net_category()) return from_net(net::errc(e.value()));
  if (e.category() == groups::groups_category()) return from_groups(groups::errc(e.value()));
  if (e.category() == topic_category()) return from_topics(topic_errc(e.value()));
  return net::error_code::unknown_server_error;
}

}  // namespace eb::bridge

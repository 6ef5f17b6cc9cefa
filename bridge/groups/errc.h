#pragma once
// Errors of the group coordinator. They mirror the classic group protocol's outcomes; the
// handlers map them to Kafka codes through bridge/errors.h like every other module's errors.
#include <system_error>

namespace eb::bridge::groups {

enum class errc {
  // The member id is not (or no longer) in the group: the client rejoins without it.
  unknown_member_id = 1,
  // The generation is not the group's current one: the client rejoins.
  illegal_generation,
  // The group is rebalancing: the client rejoins.
  rebalance_in_progress,
  // The protocol type or protocols do not match the group's.
  inconsistent_group_protocol,
  invalid_group_id,
  // The session timeout is outside the coordinator's bounds.
  invalid_session_timeout,
  // JoinGroup v4+: the member id was assigned; the client joins again with it (KIP-394).
  member_id_required,
  // The coordinator is shutting down or at its group bound; retriable.
  coordinator_not_available,
  // The group has as many members as allowed (KIP-389).
  group_max_size_reached,
  // DeleteGroups of a group that has members.
  non_empty_group,
  // KIP-848 (the consumer group protocol).
  // The member's epoch is not the one the coordinator knows: the member rejoins with epoch 0.
  fenced_member_epoch,
  // OffsetCommit/OffsetFetch with an epoch other than the member's: the client retries.
  stale_member_epoch,
  // A static member's instance id is held by another live member.
  unreleased_instance_id,
  // ConsumerGroupDescribe of a group that does not exist (or is not a consumer group).
  group_id_not_found,
  // A ConsumerGroupHeartbeat that breaks the protocol's rules (missing fields on join, ...).
  invalid_request,
  // serverAssignor names no assignor served here ("uniform", "range").
  unsupported_assignor,
  // subscribedTopicRegex does not compile.
  invalid_regular_expression,
};
const std::error_category& groups_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

}  // namespace eb::bridge::groups

template <>
struct std::is_error_code_enum<eb::bridge::groups::errc> : std::true_type {};

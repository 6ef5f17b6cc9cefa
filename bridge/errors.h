#pragma once
// Module errors mapped to Kafka error codes: the one place where that happens.
#include <system_error>

#include "net/errors.h"

namespace eb::bridge {

// Any module's error_code (storage, net, bridge) to the Kafka code a client understands.
net::error_code to_kafka(std::error_code e);

// A storage failure while committing group offsets, as the OffsetCommit answer: consumers retry
// COORDINATOR_NOT_AVAILABLE / NOT_COORDINATOR, but treat KAFKA_STORAGE_ERROR as fatal there.
net::error_code to_kafka_group_commit(std::error_code e);

}  // namespace eb::bridge

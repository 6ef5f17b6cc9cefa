#pragma once
// Cloud records of one partition waiting for their local append, and the one RecordBatch (with
// its source cursor) they become. Internal to bridge/downlink.
#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <deque>
#include <string>

#include "net/record_batch.h"
#include "storage/storage.h"

namespace eb::bridge::downlink_detail {

struct pending_record {
  int64_t offset = 0;     // the cloud offset
  int64_t timestamp = 0;  // the cloud record's timestamp (kept as CreateTime)
  net::record_input rec;
  uint64_t bytes = 0;
};

// Copies key, value (null stays null, empty stays empty), headers (in order, null values kept)
// and timestamp of a consumed message.
pending_record copy_message(const rd_kafka_message_t& m);

// The storage keys of the downlink: the cursor of a local partition (value "<next cloud offset>
// <cloud topic>") and the mark of a local topic the downlink owns (value: the cloud topic).
std::string cursor_key(const std::string& local, int32_t partition);
std::string owner_prefix();
std::string owner_key(const std::string& local);
std::string cursor_value(int64_t next, const std::string& cloud);
// The stored next offset if the cursor was written for `cloud`, else -1.
int64_t parse_cursor(const std::string& value, const std::string& cloud);

// Takes records from the front of `pending` (at least one, then up to max_bytes) into one
// uncompressed CreateTime batch for `local`/`partition`, its source cursor set to the last
// record's offset + 1 for `cloud`. `last_offset` is set to that record's cloud offset.
storage::append_request take_batch(std::deque<pending_record>& pending, const std::string& local,
                                   int32_t partition, const std::string& cloud, uint64_t max_bytes,
                                   int64_t& last_offset, uint64_t& bytes);

}  // namespace eb::bridge::downlink_detail

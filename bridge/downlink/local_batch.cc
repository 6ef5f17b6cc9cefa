#include "bridge/downlink/local_batch.h"

#include <charconv>

namespace eb::bridge::downlink_detail {

pending_record copy_message(const rd_kafka_message_t& m) {
  pending_record out;
  out.offset = m.offset;
  rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
  out.timestamp = rd_kafka_message_timestamp(&m, &type);
  if (out.timestamp < 0) out.timestamp = 0;
  if (m.key) out.rec.key.emplace(static_cast<const char*>(m.key), m.key_len);
  if (m.payload) out.rec.value.emplace(static_cast<const char*>(m.payload), m.len);
  out.bytes = 64 + m.key_len + m.len;
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(&m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR && headers) {
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    for (size_t i = 0;
         rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      std::optional<std::string> v;
      if (value) v.emplace(static_cast<const char*>(value), size);
      out.bytes += 16 + std::char_traits<char>::length(name) + size;
      out.rec.headers.emplace_back(name, std::move(v));
    }
  }
  return out;
}

std::string cursor_key(const std::string& local, int32_t partition) {
  return "downlink/c/" + local + "/" + std::to_string(partition);
}
std::string owner_prefix() { return "downlink/o/"; }
std::string owner_key(const std::string& local) { return owner_prefix() + local; }
std::string cursor_value(int64_t next, const std::string& cloud) {
  return std::to_string(next) + " " + cloud;
}

int64_t parse_cursor(const std::string& value, const std::string& cloud) {
  auto space = value.find(' ');
  if (space == std::string::npos || value.compare(space + 1, std::string::npos, cloud) != 0) {
    return -1;
  }
  int64_t v = -1;
  auto [end, ec] = std::from_chars(value.data(), value.data() + space, v);
  if (ec != std::errc() || end != value.data() + space || v < 0) return -1;
  return v;
}

storage::append_request take_batch(std::deque<pending_record>& pending, const std::string& local,
                                   int32_t partition, const std::string& cloud, uint64_t max_bytes,
                                   int64_t& last_offset, uint64_t& bytes) {
  net::batch_builder_input in;
  in.base_timestamp = pending.front().timestamp;
  bytes = 0;
  int64_t max_ts = in.base_timestamp;
  while (!pending.empty() && (in.records.empty() || bytes + pending.front().bytes <= max_bytes)) {
    auto& r = pending.front();
    r.rec.timestamp_delta = r.timestamp - in.base_timestamp;
    max_ts = std::max(max_ts, r.timestamp);
    bytes += r.bytes;
    last_offset = r.offset;
    in.records.push_back(std::move(r.rec));
    pending.pop_front();
  }
  in.max_timestamp = max_ts;
  storage::append_request req;
  req.topic = local;
  req.partition = partition;
  req.record_count = static_cast<int32_t>(in.records.size());
  req.max_timestamp = max_ts;
  req.batch = net::encode_batch(in);
  req.source_key = cursor_key(local, partition);
  req.source_value = cursor_value(last_offset + 1, cloud);
  return req;
}

}  // namespace eb::bridge::downlink_detail

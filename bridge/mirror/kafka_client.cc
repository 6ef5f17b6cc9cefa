#include "bridge/mirror/kafka_client.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

namespace eb::bridge::mirror_detail {
namespace {

int timeout_ms(std::chrono::milliseconds t) {
  return static_cast<int>(std::clamp<int64_t>(t.count(), 0, 3'600'000));
}

struct list_deleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using list_ptr = std::unique_ptr<rd_kafka_topic_partition_list_t, list_deleter>;

struct queue_deleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
using queue_ptr = std::unique_ptr<rd_kafka_queue_t, queue_deleter>;

struct event_deleter {
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};
using event_ptr = std::unique_ptr<rd_kafka_event_t, event_deleter>;

struct message_deleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
using message_ptr = std::unique_ptr<rd_kafka_message_t, message_deleter>;

}  // namespace

std::string set_all(rd_kafka_conf_t* conf,
                    const std::vector<std::pair<std::string, std::string>>& props) {
  for (auto& [key, value] : props) {
    std::array<char, 512> err{};
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err.data(), err.size()) !=
        RD_KAFKA_CONF_OK) {
      return key + ": " + err.data();
    }
  }
  return {};
}

std::optional<uint64_t> conf_int(const rd_kafka_conf_t* conf, const char* name) {
  std::array<char, 64> value{};
  size_t size = value.size();
  if (rd_kafka_conf_get(conf, name, value.data(), &size) != RD_KAFKA_CONF_OK) return std::nullopt;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + std::strlen(value.data()), v);
  if (ec != std::errc()) return std::nullopt;
  return v;
}

topic_metadata describe_topic(rd_kafka_t* rk, rd_kafka_topic_t* topic,
                              std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* md = nullptr;
  topic_metadata out;
  out.error = rd_kafka_metadata(rk, 0, topic, &md, timeout_ms(timeout));
  if (out.error) return out;
  if (md->topic_cnt == 1) {
    const auto& t = md->topics[0];
    if (t.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      out.exists = true;
      out.partitions = t.partition_cnt;
      out.leaders = true;
      for (int i = 0; i < t.partition_cnt; ++i) {
        out.leaders = out.leaders && t.partitions[i].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
                      t.partitions[i].leader >= 0;
      }
    } else if (t.err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
      out.error = t.err;
    }
  }
  rd_kafka_metadata_destroy(md);
  return out;
}

rd_kafka_resp_err_t probe(rd_kafka_t* rk, std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* md = nullptr;
  auto err = rd_kafka_metadata(rk, 0, nullptr, &md, timeout_ms(timeout));
  if (!err) rd_kafka_metadata_destroy(md);
  return err;
}

std::map<std::string, std::string> create_topics(
    rd_kafka_t* rk, const std::vector<std::pair<std::string, int32_t>>& topics,
    const std::vector<std::pair<std::string, std::string>>& configs,
    std::chrono::milliseconds timeout) {
  std::map<std::string, std::string> out;
  std::vector<rd_kafka_NewTopic_t*> news;
  std::array<char, 512> err{};
  for (auto& [name, partitions] : topics) {
    // -1: the broker's default.replication.factor (KIP-464).
    auto* nt = rd_kafka_NewTopic_new(name.c_str(), partitions, -1, err.data(), err.size());
    if (!nt) {
      out[name] = err.data();
      continue;
    }
    for (auto& [key, value] : configs) {
      (void)rd_kafka_NewTopic_set_config(nt, key.c_str(), value.c_str());  // fails only on null
    }
    news.push_back(nt);
  }
  if (news.empty()) return out;
  queue_ptr queue(rd_kafka_queue_new(rk));
  rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  (void)rd_kafka_AdminOptions_set_request_timeout(options, timeout_ms(timeout), err.data(),
                                                  err.size());  // in range by construction
  (void)rd_kafka_AdminOptions_set_operation_timeout(options, timeout_ms(timeout), err.data(),
                                                    err.size());
  rd_kafka_CreateTopics(rk, news.data(), news.size(), options, queue.get());
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_NewTopic_destroy_array(news.data(), news.size());

  // The admin request has its own timeout; give the result a little longer to arrive.
  event_ptr ev(rd_kafka_queue_poll(queue.get(), timeout_ms(timeout) + 2000));
  if (!ev) {
    for (auto& [name, partitions] : topics) out.emplace(name, "CreateTopics timed out");
    return out;
  }
  if (rd_kafka_event_error(ev.get())) {
    for (auto& [name, partitions] : topics) {
      out.emplace(name, rd_kafka_event_error_string(ev.get()));
    }
    return out;
  }
  const auto* res = rd_kafka_event_CreateTopics_result(ev.get());
  size_t n = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &n);
  for (size_t i = 0; i < n; ++i) {
    auto e = rd_kafka_topic_result_error(results[i]);
    std::string name = rd_kafka_topic_result_name(results[i]);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      out.emplace(name, "");
    } else {
      const char* s = rd_kafka_topic_result_error_string(results[i]);
      out.emplace(name, std::string(rd_kafka_err2name(e)) + (s ? std::string(": ") + s : ""));
    }
  }
  return out;
}

std::string create_partitions(rd_kafka_t* rk, const std::string& topic, int32_t count,
                              std::chrono::milliseconds timeout) {
  std::array<char, 512> err{};
  rd_kafka_NewPartitions_t* np =
      rd_kafka_NewPartitions_new(topic.c_str(), static_cast<size_t>(count), err.data(), err.size());
  if (!np) return err.data();
  queue_ptr queue(rd_kafka_queue_new(rk));
  rd_kafka_AdminOptions_t* options =
      rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS);
  (void)rd_kafka_AdminOptions_set_request_timeout(options, timeout_ms(timeout), err.data(),
                                                  err.size());  // in range by construction
  (void)rd_kafka_AdminOptions_set_operation_timeout(options, timeout_ms(timeout), err.data(),
                                                    err.size());
  rd_kafka_CreatePartitions(rk, &np, 1, options, queue.get());
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_NewPartitions_destroy(np);
  event_ptr ev(rd_kafka_queue_poll(queue.get(), timeout_ms(timeout) + 2000));
  if (!ev) return "CreatePartitions timed out";
  if (rd_kafka_event_error(ev.get())) return rd_kafka_event_error_string(ev.get());
  const auto* res = rd_kafka_event_CreatePartitions_result(ev.get());
  size_t n = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreatePartitions_result_topics(res, &n);
  for (size_t i = 0; i < n; ++i) {
    auto e = rd_kafka_topic_result_error(results[i]);
    // INVALID_PARTITIONS: it has that many already (another writer grew it).
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR_INVALID_PARTITIONS) continue;
    const char* s = rd_kafka_topic_result_error_string(results[i]);
    return std::string(rd_kafka_err2name(e)) + (s ? std::string(": ") + s : "");
  }
  return "";
}

topic_limit describe_max_message_bytes(rd_kafka_t* rk, const std::string& topic,
                                       std::chrono::milliseconds timeout) {
  topic_limit out;
  std::array<char, 512> err{};
  queue_ptr queue(rd_kafka_queue_new(rk));
  rd_kafka_ConfigResource_t* resource =
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
  rd_kafka_AdminOptions_t* options =
      rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
  (void)rd_kafka_AdminOptions_set_request_timeout(options, timeout_ms(timeout), err.data(),
                                                  err.size());  // in range by construction
  rd_kafka_DescribeConfigs(rk, &resource, 1, options, queue.get());
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_ConfigResource_destroy(resource);

  event_ptr ev(rd_kafka_queue_poll(queue.get(), timeout_ms(timeout) + 2000));
  if (!ev) {
    out.error = "DescribeConfigs timed out";
    return out;
  }
  if (rd_kafka_event_error(ev.get())) {
    out.error = rd_kafka_event_error_string(ev.get());
    return out;
  }
  const auto* res = rd_kafka_event_DescribeConfigs_result(ev.get());
  size_t n = 0;
  const rd_kafka_ConfigResource_t** resources = rd_kafka_DescribeConfigs_result_resources(res, &n);
  for (size_t i = 0; i < n; ++i) {
    if (auto e = rd_kafka_ConfigResource_error(resources[i])) {
      const char* s = rd_kafka_ConfigResource_error_string(resources[i]);
      out.error = std::string(rd_kafka_err2name(e)) + (s ? std::string(": ") + s : "");
      return out;
    }
    size_t count = 0;
    const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(resources[i], &count);
    for (size_t j = 0; j < count; ++j) {
      const char* name = rd_kafka_ConfigEntry_name(entries[j]);
      const char* value = rd_kafka_ConfigEntry_value(entries[j]);
      if (!name || !value || std::strcmp(name, "max.message.bytes") != 0) continue;
      out.max_message_bytes = parse_int(value);
      if (!out.max_message_bytes) out.error = std::string("max.message.bytes is '") + value + "'";
      return out;
    }
  }
  out.error = "max.message.bytes not in the answer";
  return out;
}

std::optional<std::string> last_header(const rd_kafka_headers_t* headers, const char* name) {
  if (!headers) return std::nullopt;
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_header_get_last(headers, name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      !value) {
    return std::nullopt;
  }
  return std::string(static_cast<const char*>(value), size);
}

std::optional<int64_t> parse_int(const std::string& s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

namespace {

using partition_key = std::pair<std::string, int32_t>;

// One read of the cloud's tail: a short-lived consumer, its queue and topic handles, and what was
// found so far, written to `out` (answers, or the error that ended the read).
class tail_reader {
 public:
  tail_reader(const std::vector<tail_query>& queries, std::chrono::milliseconds timeout,
              const std::atomic<bool>& cancel, tail_result& out)
      : _queries(queries),
        _deadline(std::chrono::steady_clock::now() + timeout),
        _cancel(cancel),
        _out(out),
        _scanned_from(queries.size(), -1),
        _best_offset(queries.size(), -1) {}

  bool open(conf_ptr conf);
  bool list_watermarks();
  void open_fetch();
  // The partitions not answered yet whose last `window` records hold some not yet scanned.
  std::map<partition_key, size_t> pending_for(int64_t window);
  // Reads the pending partitions from their scan start to their end.
  bool scan(std::map<partition_key, size_t> pending);

 private:
  std::chrono::milliseconds left() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(_deadline -
                                                                 std::chrono::steady_clock::now());
  }
  bool start(const std::map<partition_key, size_t>& pending);
  void stop(const std::map<partition_key, size_t>& pending);
  bool drain(std::map<partition_key, size_t>& pending);
  void take(const rd_kafka_message_t& m, size_t i);

  const std::vector<tail_query>& _queries;
  std::chrono::steady_clock::time_point _deadline;
  const std::atomic<bool>& _cancel;
  tail_result& _out;
  std::vector<int64_t> _scanned_from;
  std::vector<int64_t> _best_offset;
  rk_ptr _rk;
  queue_ptr _queue;
  std::map<std::string, topic_ptr> _handles;
};

bool tail_reader::open(conf_ptr conf) {
  std::string problem = set_all(conf.get(), {{"enable.partition.eof", "true"},
                                             {"auto.offset.reset", "earliest"},
                                             {"isolation.level", "read_uncommitted"},
                                             {"fetch.wait.max.ms", "100"},
                                             {"queued.max.messages.kbytes", "4096"}});
  if (!problem.empty()) {
    _out.error = problem;
    return false;
  }
  std::array<char, 512> err{};
  _rk.reset(rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err.data(), err.size()));
  if (!_rk) {
    _out.error = std::string("cannot create the tail reader: ") + err.data();
    return false;
  }
  (void)conf.release();  // owned by _rk now
  return true;
}

// Both watermarks of every partition in two ListOffsets round trips (one per leader), not two
// per partition: ListOffsets takes timestamp -1 for the latest offset and -2 for the earliest.
bool tail_reader::list_watermarks() {
  for (int64_t which : {int64_t{-1}, int64_t{-2}}) {
    list_ptr list(rd_kafka_topic_partition_list_new(static_cast<int>(_queries.size())));
    for (auto& q : _queries) {
      rd_kafka_topic_partition_list_add(list.get(), q.topic.c_str(), q.partition)->offset = which;
    }
    auto e = rd_kafka_offsets_for_times(_rk.get(), list.get(),
                                        std::clamp(timeout_ms(left()), 1, 10'000));
    if (e) {
      _out.error = std::string("listing offsets: ") + rd_kafka_err2str(e);
      return false;
    }
    for (size_t i = 0; i < _queries.size(); ++i) {
      const auto* tp = rd_kafka_topic_partition_list_find(list.get(), _queries[i].topic.c_str(),
                                                          _queries[i].partition);
      if (!tp || tp->err) {
        _out.error = "offsets of " + _queries[i].topic + "[" +
                     std::to_string(_queries[i].partition) +
                     "]: " + (tp ? rd_kafka_err2str(tp->err) : "missing");
        return false;
      }
      (which == -1 ? _out.answers[i].high_watermark : _out.answers[i].low_watermark) = tp->offset;
    }
  }
  return true;
}

// The simple (legacy) consumer API: assign-like fetching without a consumer group, so the cloud
// needs no group ACLs and no coordinator for this.
void tail_reader::open_fetch() {
  _queue.reset(rd_kafka_queue_new(_rk.get()));
  for (auto& q : _queries) {
    if (!_handles.count(q.topic)) {
      _handles[q.topic].reset(rd_kafka_topic_new(_rk.get(), q.topic.c_str(), nullptr));
    }
  }
}

std::map<partition_key, size_t> tail_reader::pending_for(int64_t window) {
  std::map<partition_key, size_t> pending;
  for (size_t i = 0; i < _queries.size(); ++i) {
    auto& a = _out.answers[i];
    if (a.value || a.high_watermark <= a.low_watermark) continue;
    int64_t from = std::max(a.low_watermark, a.high_watermark - window);
    if (_scanned_from[i] != -1 && from >= _scanned_from[i]) continue;  // nothing new to see
    _scanned_from[i] = from;
    pending[{_queries[i].topic, _queries[i].partition}] = i;
  }
  return pending;
}

bool tail_reader::scan(std::map<partition_key, size_t> pending) {
  if (!start(pending)) return false;
  auto started = pending;
  bool done = drain(pending);
  stop(started);
  return done;
}

bool tail_reader::start(const std::map<partition_key, size_t>& pending) {
  for (auto& [key, i] : pending) {
    if (rd_kafka_consume_start_queue(_handles[key.first].get(), key.second, _scanned_from[i],
                                     _queue.get()) == -1) {
      _out.error = "cannot read " + key.first + "[" + std::to_string(key.second) +
                   "]: " + rd_kafka_err2str(rd_kafka_last_error());
      return false;
    }
  }
  return true;
}

void tail_reader::stop(const std::map<partition_key, size_t>& pending) {
  for (auto& [key, i] : pending) {
    (void)rd_kafka_consume_stop(_handles[key.first].get(), key.second);  // best effort
  }
}

// Until every pending partition reached its end (its high watermark when listed, or EOF).
bool tail_reader::drain(std::map<partition_key, size_t>& pending) {
  std::string last_error;
  while (!pending.empty()) {
    if (_cancel.load() || left().count() <= 0) {
      _out.error = "reading the cloud's tail timed out" +
                   (last_error.empty() ? std::string() : " (" + last_error + ")");
      return false;
    }
    message_ptr m(rd_kafka_consume_queue(_queue.get(), 100));
    if (!m) continue;
    partition_key key{m->rkt ? rd_kafka_topic_name(m->rkt) : "", m->partition};
    auto it = pending.find(key);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (it != pending.end()) pending.erase(it);
      continue;
    }
    if (m->err) {
      last_error = rd_kafka_message_errstr(m.get());
      continue;
    }
    if (it == pending.end()) continue;
    size_t i = it->second;
    take(*m, i);
    if (m->offset >= _out.answers[i].high_watermark - 1) pending.erase(it);
  }
  return true;
}

// The newest match wins, whatever order messages of earlier windows arrive in.
void tail_reader::take(const rd_kafka_message_t& m, size_t i) {
  auto& q = _queries[i];
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(&m, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  bool ours =
      std::all_of(q.must_match.begin(), q.must_match.end(),
                  [&](auto& kv) { return last_header(headers, kv.first.c_str()) == kv.second; }) &&
      std::all_of(q.match_if_present.begin(), q.match_if_present.end(), [&](auto& kv) {
        auto v = last_header(headers, kv.first.c_str());
        return !v || *v == kv.second;
      });
  if (!ours || m.offset <= _best_offset[i]) return;
  if (auto v = last_header(headers, q.value_header.c_str())) {
    if (auto n = parse_int(*v)) {
      _out.answers[i].value = *n;
      _best_offset[i] = m.offset;
    }
  }
}

}  // namespace

tail_result read_tails(conf_ptr conf, const std::vector<tail_query>& queries, int64_t max_scan,
                       std::chrono::milliseconds timeout, const std::atomic<bool>& cancel) {
  tail_result out;
  out.answers.resize(queries.size());
  if (queries.empty()) return out;
  tail_reader reader(queries, timeout, cancel, out);
  if (!reader.open(std::move(conf)) || !reader.list_watermarks()) return out;
  reader.open_fetch();
  // Windows of 1, 1000 and max_scan records: the last record is ours unless others write here.
  for (int64_t window : {int64_t{1}, int64_t{1000}, max_scan}) {
    auto pending = reader.pending_for(std::min(window, max_scan));
    if (pending.empty() || !reader.scan(std::move(pending))) break;
  }
  return out;
}

}  // namespace eb::bridge::mirror_detail

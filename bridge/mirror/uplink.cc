#include "bridge/mirror/uplink.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

namespace eb::bridge::mirror_detail {

uplink::uplink(const mirror_options& opts, scheduler& sched, status_board& board,
               spdlog::logger& log, const std::atomic<bool>& stopping, std::function<void()> wake)
    : _opts(opts),
      _sched(sched),
      _board(board),
      _log(log),
      _stopping(stopping),
      _wake(std::move(wake)),
      _backoff(opts.retry_backoff_min, opts.retry_backoff_max) {}

uplink::~uplink() = default;

void uplink::on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* p = static_cast<part*>(m->_private);
  if (!p || p->inflight.empty()) return;  // a producer torn down by resync; nothing to match
  static_cast<uplink*>(opaque)->delivered(*p, m->err);
}

void uplink::on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  static_cast<uplink*>(opaque)->client_error(rk, static_cast<rd_kafka_resp_err_t>(err), reason);
}

void uplink::on_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  // librdkafka repeats connection failures at every reconnect; the mirror logs state changes
  // itself, so librdkafka's own lines go to debug.
  auto* self = static_cast<uplink*>(rd_kafka_opaque(rk));
  if (self) self->_log.debug("librdkafka {} {}: {}", level, fac, buf);
}

// Served by poll on the mirror thread; librdkafka frees the document when 0 is returned.
int uplink::on_stats(rd_kafka_t*, char* json, size_t json_len, void* opaque) {
  if (auto tx = link_meter::parse_tx_bytes(std::string_view(json, json_len))) {
    static_cast<uplink*>(opaque)->_meter.observe(*tx);
  }
  return 0;
}

// Called from a librdkafka thread when the main queue becomes non-empty.
void uplink::on_queue_event(rd_kafka_t*, void* opaque) { static_cast<uplink*>(opaque)->_wake(); }

namespace {

// Answers the cloud gives for good about a record or a topic: sending it again does not help.
bool refuses_for_good(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP:
      return true;
    default:
      return false;
  }
}

}  // namespace

void uplink::refused(part& p, const inflight_record& rec, rd_kafka_resp_err_t err) {
  const int64_t offset = rec.offset;
  // Every record of the refused batch reports the error: the range grows with them.
  if (p.refused && p.refused->whole_batch && offset > p.refused->last_offset &&
      p.retry_at > steady::now()) {
    p.refused->last_offset = offset;
    p.refused->wire += rec.wire;
    return;
  }
  bool exact = offset <= p.careful_until;  // sent alone: this very record is refused
  std::string why = std::string("the cloud refuses ") +
                    (exact ? "the record at offset " : "a batch from offset ") +
                    std::to_string(offset) + " for " + p.target_name + "[" +
                    std::to_string(p.partition) + "]: " + rd_kafka_err2name(err) + " (" +
                    rd_kafka_err2str(err) + ")";
  refusal r{.first_offset = offset,
            .last_offset = offset,
            .reason = std::move(why),
            .from_broker = true,
            .whole_batch = !exact,
            .too_large = err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
                         err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE,
            .wire = rec.wire};
  // A whole batch is narrowed down at once (one more resync), and an exact refusal under `skip`
  // is skipped at once; only an exact refusal under `pause` waits long (see forwarder).
  block(p, std::move(r), exact && p.on_refusal == refusal_policy::pause);
}

void uplink::block(part& p, refusal r, bool pause_long) {
  if (pause_long) {
    p.refusal_wait = std::clamp(p.refusal_wait * 2, _opts.retry_backoff_max,
                                _opts.retry_backoff_max * refusal_backoff_factor);
    p.retry_at = steady::now() + p.refusal_wait;
  } else {
    p.retry_at = steady::now() + _opts.retry_backoff_min;
  }
  if (p.logged_refusal != r.reason) {
    _log.error("mirror: {}[{}] blocked: {}; the other partitions go on", p.topic, p.partition,
               r.reason);
    p.logged_refusal = r.reason;
  }
  _board.note_error(r.reason);
  p.refused = std::move(r);
}

void uplink::delivered(part& p, rd_kafka_resp_err_t err) {
  auto rec = _sched.settle(p);
  if (err) {
    // Outcome unknown for this record and those after it: re-read the cloud's tail. A refusal
    // for good blocks the partition first: its first refused record, and the rest of its batch.
    bool counts = !p.failed || (p.refused && p.refused->whole_batch);
    if (!p.is_gaps && counts && refuses_for_good(err)) refused(p, rec, err);
    p.failed = true;
    if (err != RD_KAFKA_RESP_ERR__PURGE_QUEUE && err != RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) {
      request_resync(std::string("delivery to ") + p.target_name + "[" +
                     std::to_string(p.partition) + "] failed: " + rd_kafka_err2str(err));
    }
    return;
  }
  if (!p.failed) confirmed(p, rec);
}

void uplink::confirmed(part& p, const inflight_record& rec) {
  p.confirmed = rec.offset + 1;
  p.delivered_records++;
  p.delivered_bytes += rec.payload;
  _meter.delivered(rec.wire);
  _delivered_records++;
  _delivered_bytes += rec.payload;
  // Offsets the stored batches skip (control records, compaction) are confirmed with the last
  // record before them.
  if (p.inflight.empty() && !p.is_gaps) p.confirmed = p.next;
  set_link(link_state::connected, "");
  _backoff.reset();
  _resync_episode = false;
}

void uplink::client_error(rd_kafka_t* rk, rd_kafka_resp_err_t err, const char* reason) {
  std::string text = std::string(rd_kafka_err2name(err)) + ": " + reason;
  switch (err) {
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
      set_link(link_state::disconnected, text);
      break;
    // Refusals of the whole uplink. (A topic the cloud will not let us describe or write is
    // that target's state, see target_topics.)
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR__SSL:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
      set_link(link_state::refusing, text);
      break;
    case RD_KAFKA_RESP_ERR__FATAL:
      request_resync(fatal_reason(rk));
      break;
    default:
      // Transient (one connection reset, a timeout): librdkafka retries by itself.
      _log.debug("mirror: {}", text);
      _board.note_error(text);
  }
}

std::string uplink::fatal_reason(rd_kafka_t* rk) {
  std::array<char, 512> buf{};
  auto orig = rd_kafka_fatal_error(rk, buf.data(), buf.size());
  return std::string("fatal producer error ") + rd_kafka_err2name(orig) + ": " + buf.data();
}

void uplink::set_link(link_state s, const std::string& why) {
  if (s == _link) return;
  // A refusal (wrong credentials, an untrusted certificate) is why no broker answers: the
  // transport failures that follow it (all brokers down, metadata timeouts) do not replace the
  // state or its reason; only a working exchange does.
  if (_link == link_state::refusing && s == link_state::disconnected) {
    _log.debug("mirror: {} (still refused)", why);
    return;
  }
  // Every connection after the mirror's first: back after an outage, a refusal or a rebuilt
  // producer.
  if (s == link_state::connected) {
    if (_ever_connected) _reconnects++;
    _ever_connected = true;
  }
  _link = s;
  switch (s) {
    case link_state::connected:
      _log.info("mirror: connected to the cloud ({})", _opts.bootstrap);
      break;
    case link_state::disconnected:
      _log.error("mirror: cloud unreachable ({}); records wait in storage: {}", _opts.bootstrap,
                 why);
      break;
    case link_state::refusing:
      _log.error("mirror: the cloud refuses the mirror ({}): {}", _opts.bootstrap, why);
      break;
    case link_state::connecting:
      break;
  }
  if (!why.empty()) _board.note_error(why);
  _next_probe = steady::now() + _opts.retry_backoff_min;
}

void uplink::probe_if_due(steady::time_point now) {
  if (_link != link_state::disconnected || now < _next_probe) return;
  // The probe waits for librdkafka's own reconnect (every <= 1 s) and returns as soon as a
  // broker is usable: the uplink's return is noticed at once, not at a polling tick. Back to
  // back, but never more often than every 100 ms should it fail fast. Every fifth probe waits
  // longer, for links whose round trip exceeds the short one.
  _next_probe = now + milliseconds(100);
  bool patient = ++_probes % 5 == 0;
  if (probe(_rk.get(), patient ? metadata_timeout : probe_timeout) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    set_link(link_state::connected, "");
  }
}

void uplink::request_resync(const std::string& why) {
  if (!_resync_needed && !_stopping) {
    if (!_resync_episode) {
      _log.warn("mirror: {}; recreating the producer and re-reading the cloud's tail", why);
    } else {
      _log.debug("mirror: again: {}", why);
    }
    _resync_episode = true;
    _board.note_error(why);
  }
  _resync_needed = true;
}

std::vector<std::pair<std::string, std::string>> uplink::common_properties() const {
  std::vector<std::pair<std::string, std::string>> props{
      {"client.id", "edgebridge-mirror-" + _opts.site_id},
      {"socket.keepalive.enable", "true"},
      // Reconnect quickly once the uplink returns: the drain should not wait on a long backoff.
      {"reconnect.backoff.ms", "100"},
      {"reconnect.backoff.max.ms", "250"},
      // Idle connections closed by the broker are normal; real outages surface as
      // ALL_BROKERS_DOWN and through delivery.
      {"log.connection.close", "false"},
  };
  for (auto& kv : _opts.properties) props.push_back(kv);
  props.emplace_back("bootstrap.servers", _opts.bootstrap);
  return props;
}

std::vector<std::pair<std::string, std::string>> uplink::producer_properties() const {
  uint64_t kbytes = _opts.max_inflight_bytes / 1024 + 1024;
  uint64_t messages = _opts.max_inflight_bytes / (record_overhead + 2 * header_overhead) + 1000;
  // Batches of batch_bytes, at most a third of max_inflight_bytes so that several partitions
  // share the in-flight bound (see mirror_options::batch_bytes).
  uint64_t batch = std::clamp<uint64_t>(_opts.max_inflight_bytes / 3, 1'000'000,
                                        std::max<uint64_t>(_opts.batch_bytes, 1'000'000));
  std::vector<std::pair<std::string, std::string>> props{
      {"linger.ms", std::to_string(_opts.linger.count())},
      {"batch.size", std::to_string(batch)},
      {"message.max.bytes", std::to_string(batch)},
      // The byte bound cuts batches, not a record count (100 B records: 100,000 to a batch).
      {"batch.num.messages", "1000000"},
      // A request waits behind the others on its connection: up to max_inflight_bytes at the
      // link's rate (64 MiB at 20 Mbit/s: 27 s) before its own bytes go. librdkafka's 30 s
      // would time such a request out and resend it.
      {"request.timeout.ms", "120000"},
  };
  for (auto& kv : common_properties()) props.push_back(kv);
  // Last, so nothing in `properties` can weaken them (validate() rejects those keys too).
  std::vector<std::pair<std::string, std::string>> enforced{
      {"enable.idempotence", "true"},
      // A failed batch stops the producer instead of leaving a hole: the mirror then resumes
      // from the cloud's tail, so order and exactly-once survive any failure.
      {"enable.gapless.guarantee", "true"},
      {"acks", "all"},
      {"max.in.flight.requests.per.connection", "5"},
      // 0 = never give up: the uplink may be down for days.
      {"message.timeout.ms", "0"},
      {"compression.type", _opts.compression},
      {"queue.buffering.max.kbytes", std::to_string(kbytes)},
      {"queue.buffering.max.messages", std::to_string(messages)},
      // Topics are created by the mirror with the right partition count, never implicitly.
      {"allow.auto.create.topics", _opts.create_target_topics ? "false" : "true"},
  };
  for (auto& kv : enforced) props.push_back(kv);
  // The bandwidth cap counts the bytes the producer sent (link_meter).
  if (_opts.bandwidth_bytes_per_sec > 0) props.emplace_back("statistics.interval.ms", "1000");
  return props;
}

std::string uplink::create() {
  conf_ptr conf(rd_kafka_conf_new());
  std::string error = set_all(conf.get(), producer_properties());
  if (!error.empty()) return error;
  // The idempotent producer keeps up to five requests in flight per partition (the broker's
  // de-duplication window; scripts/librdkafka carries the patch that counts requests, not
  // messages). Five batches of a partition in librdkafka fill that window; a sixth would wait
  // behind them and make librdkafka's broker thread spin once it is older than linger.ms.
  constexpr uint64_t pipeline_batches = 5;
  // One record's framing beyond message.max.bytes (which counts key, value and headers), with
  // room to spare.
  constexpr uint64_t record_framing = 1024;
  _largest_batch =
      std::max(conf_int(conf.get(), "batch.size").value_or(1'000'000),
               conf_int(conf.get(), "message.max.bytes").value_or(1'000'000) + record_framing);
  _sched.set_pipeline(
      pipeline_batches * conf_int(conf.get(), "batch.size").value_or(1'000'000),
      pipeline_batches * conf_int(conf.get(), "batch.num.messages").value_or(10'000));
  rd_kafka_conf_set_opaque(conf.get(), this);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &uplink::on_delivery);
  rd_kafka_conf_set_error_cb(conf.get(), &uplink::on_error);
  rd_kafka_conf_set_log_cb(conf.get(), &uplink::on_log);
  if (_opts.bandwidth_bytes_per_sec > 0) rd_kafka_conf_set_stats_cb(conf.get(), &uplink::on_stats);
  _meter.restart();
  std::array<char, 512> err{};
  rk_ptr rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err.data(), err.size()));
  if (!rk) return std::string("cannot create the producer: ") + err.data();
  (void)conf.release();  // owned by rk now
  rd_kafka_queue_t* main_queue = rd_kafka_queue_get_main(rk.get());
  rd_kafka_queue_cb_event_enable(main_queue, &uplink::on_queue_event, this);
  rd_kafka_queue_destroy(main_queue);  // the callback stays with the queue itself
  _rk = std::move(rk);
  return {};
}

conf_ptr uplink::consumer_conf() const {
  conf_ptr conf(rd_kafka_conf_new());
  auto props = common_properties();
  props.emplace_back("client.id", "edgebridge-mirror-tail-" + _opts.site_id);
  // Producer-only properties in `properties` only draw a warning from a consumer; fine.
  (void)set_all(conf.get(), props);  // validated when the producer was created
  rd_kafka_conf_set_opaque(conf.get(), const_cast<uplink*>(this));
  rd_kafka_conf_set_log_cb(conf.get(), &uplink::on_log);
  return conf;
}

void uplink::purge() {
  if (!_rk) return;
  rd_kafka_purge(_rk.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  (void)rd_kafka_poll(_rk.get(), 0);  // the purge reports
}

void uplink::destroy() { _rk.reset(); }

void uplink::serve() {
  if (!_rk) return;
  for (int i = 0; i < 16 && rd_kafka_poll(_rk.get(), 0) > 0; ++i) {
  }
}

rd_kafka_resp_err_t uplink::flush(milliseconds timeout) {
  // rd_kafka_flush serves delivery reports while it waits, advancing the confirmed offsets.
  return rd_kafka_flush(_rk.get(), static_cast<int>(timeout.count()));
}

rd_kafka_resp_err_t uplink::send_record(part& p, const net::decoded_batch& b, const net::record& r,
                                        int64_t offset) {
  rd_kafka_headers_t* headers = rd_kafka_headers_new(r.headers.size() + provenance_headers);
  static const char empty = 0;
  for (auto& h : r.headers) {
    // A null header value stays null, an empty one stays empty (a non-null pointer).
    const char* v = h.value ? (h.value->empty() ? &empty : h.value->data()) : nullptr;
    (void)rd_kafka_header_add(headers, h.key.empty() ? &empty : h.key.data(),
                              static_cast<ssize_t>(h.key.size()), v,
                              h.value ? static_cast<ssize_t>(h.value->size()) : 0);
  }
  std::string part_s = decimal(p.partition), offset_s = decimal(offset);
  (void)rd_kafka_header_add(headers, h_site, -1, _opts.site_id.data(),
                            static_cast<ssize_t>(_opts.site_id.size()));
  (void)rd_kafka_header_add(headers, h_topic, -1, p.topic.data(),
                            static_cast<ssize_t>(p.topic.size()));
  (void)rd_kafka_header_add(headers, h_partition, -1, part_s.data(),
                            static_cast<ssize_t>(part_s.size()));
  (void)rd_kafka_header_add(headers, h_offset, -1, offset_s.data(),
                            static_cast<ssize_t>(offset_s.size()));
  std::string gen_s = decimal(p.topic_id);
  (void)rd_kafka_header_add(headers, h_gen, -1, gen_s.data(), static_cast<ssize_t>(gen_s.size()));
  // An empty but present key or value stays present: librdkafka tells them apart by the
  // pointer, so give it a non-null one.
  const void* key = r.key ? (r.key->empty() ? &empty : r.key->data()) : nullptr;
  const void* value = r.value ? (r.value->empty() ? &empty : r.value->data()) : nullptr;
  size_t key_size = r.key ? r.key->size() : 0;
  size_t value_size = r.value ? r.value->size() : 0;
  auto err = rd_kafka_producev(
      _rk.get(), RD_KAFKA_V_RKT(p.tgt->handle.get()), RD_KAFKA_V_PARTITION(p.partition),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, key_size),
      RD_KAFKA_V_VALUE(const_cast<void*>(value), value_size),
      RD_KAFKA_V_TIMESTAMP(b.timestamp_of(r)), RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(&p),
      RD_KAFKA_V_END);
  if (err) rd_kafka_headers_destroy(headers);  // ownership passes only on success
  return err;
}

rd_kafka_resp_err_t uplink::send_gap(part& gaps, const std::string& key, const std::string& json,
                                     int64_t timestamp_ms, uint64_t gap_id) {
  std::string id_s = decimal(static_cast<int64_t>(gap_id));
  rd_kafka_headers_t* headers = rd_kafka_headers_new(2);
  (void)rd_kafka_header_add(headers, h_site, -1, _opts.site_id.data(),
                            static_cast<ssize_t>(_opts.site_id.size()));
  (void)rd_kafka_header_add(headers, h_gap_id, -1, id_s.data(), static_cast<ssize_t>(id_s.size()));
  auto err = rd_kafka_producev(_rk.get(), RD_KAFKA_V_RKT(gaps.tgt->handle.get()),
                               RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                               RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
                               RD_KAFKA_V_VALUE(const_cast<char*>(json.data()), json.size()),
                               RD_KAFKA_V_TIMESTAMP(timestamp_ms), RD_KAFKA_V_HEADERS(headers),
                               RD_KAFKA_V_OPAQUE(&gaps), RD_KAFKA_V_END);
  if (err) rd_kafka_headers_destroy(headers);  // ownership passes only on success
  return err;
}

}  // namespace eb::bridge::mirror_detail

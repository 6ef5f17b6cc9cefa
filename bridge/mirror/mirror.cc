#include "bridge/mirror/mirror.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <span>
#include <thread>

#include "bridge/mirror/kafka_client.h"
#include "common/json.h"
#include "net/record_batch.h"
#include "storage/storage.h"

namespace eb::bridge {
namespace {

namespace md = mirror_detail;
using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

class mirror_category_impl : public std::error_category {
 public:
  const char* name() const noexcept override { return "mirror"; }
  std::string message(int ev) const override {
    switch (static_cast<mirror_errc>(ev)) {
      case mirror_errc::invalid_options:
        return "invalid mirror options";
      case mirror_errc::client_config:
        return "librdkafka refused the mirror's configuration";
      case mirror_errc::bad_state:
        return "mirror already started or stopped";
    }
    return "unknown mirror error";
  }
};

// Header names of the provenance every mirrored record carries.
constexpr const char* h_site = "eb.site";
constexpr const char* h_topic = "eb.topic";
constexpr const char* h_partition = "eb.partition";
constexpr const char* h_offset = "eb.offset";
constexpr const char* h_gap_id = "eb.gap_id";

// What a queued record costs beyond its bytes, so that many tiny records are bounded too:
// librdkafka's message struct with its allocation, and per header (the four provenance headers
// included) a header struct, list slot and name. Measured against RSS, see the report.
constexpr uint64_t record_overhead = 208;
constexpr uint64_t header_overhead = 72;
constexpr uint64_t provenance_headers = 4;
// Stored bytes read from storage at once for one partition. Large, because each read seeks anew
// (measured on a 1 GiB drain of 1 MB batches: the mirror thread's CPU fell from 3.15 s at 1 MiB
// reads to 1.86 s at 8 MiB, when storage still loaded one batch more than it returned).
// Partitions draining together share the read-ahead budget; a read is never below min_read_bytes.
constexpr size_t read_chunk_bytes = 8u << 20;
constexpr size_t min_read_bytes = 1u << 20;
constexpr uint64_t readahead_budget = 16u << 20;
// Blocking librdkafka calls from the mirror thread (stop() waits at most this long for them).
constexpr milliseconds metadata_timeout{3000};
constexpr milliseconds tail_timeout{15'000};
// Also bounds how long stop() and status() lag while the cloud is unreachable (every fifth probe
// waits metadata_timeout).
constexpr milliseconds probe_timeout{1000};
constexpr milliseconds status_interval{100};
constexpr milliseconds topic_refresh_interval{10'000};
constexpr milliseconds produce_slice{20};

std::string decimal(int64_t v) {
  std::array<char, 24> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  (void)ec;  // 24 chars always hold an int64
  return std::string(buf.data(), end);
}

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

int64_t wall_ms() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The first record's timestamp of a stored batch (its BaseTimestamp).
int64_t first_timestamp(const storage::stored_batch& b) {
  auto h = net::parse_batch_header(bytes_of(b.bytes));
  return h ? h->base_timestamp : b.max_timestamp;
}

// Capped exponential backoff with equal jitter: half the step fixed, half random.
class backoff {
 public:
  backoff(milliseconds min, milliseconds max) : _min(min), _max(max), _next(min) {}
  milliseconds next() {
    auto step = _next;
    _next = std::min(_max, _next * 2);
    std::uniform_int_distribution<int64_t> jitter(0, std::max<int64_t>(0, step.count() / 2));
    return milliseconds(step.count() - step.count() / 2 + jitter(_rng));
  }
  void reset() { _next = _min; }

 private:
  milliseconds _min, _max, _next;
  std::mt19937_64 _rng{std::random_device{}()};
};

}  // namespace

const std::error_category& mirror_category() noexcept {
  static const mirror_category_impl c;
  return c;
}
std::error_code make_error_code(mirror_errc e) noexcept {
  return {static_cast<int>(e), mirror_category()};
}

const char* to_string(uplink_state s) {
  switch (s) {
    case uplink_state::stopped:
      return "stopped";
    case uplink_state::connecting:
      return "connecting";
    case uplink_state::connected:
      return "connected";
    case uplink_state::disconnected:
      return "disconnected";
    case uplink_state::refusing:
      return "refusing";
  }
  return "?";
}

class mirror::impl {
 public:
  impl(mirror_options opts, storage::log_store& store, std::shared_ptr<spdlog::logger> log)
      : _opts(std::move(opts)),
        _store(store),
        _log(log ? std::move(log) : spdlog::default_logger()),
        _backoff(_opts.retry_backoff_min, _opts.retry_backoff_max),
        _gaps(std::make_unique<part>()) {
    _gaps->is_gaps = true;
    _gaps->target_name = _opts.gaps_target();
    _gaps->partition = 0;
  }

  ~impl() { stop(milliseconds(0)); }

  result<void> start() {
    if (_started) return mirror_errc::bad_state;
    auto problems = validate(_opts);
    if (!_opts.active()) problems.push_back("mirror: not enabled or no bootstrap");
    if (!problems.empty()) {
      for (auto& p : problems) _log->error("{}", p);
      return mirror_errc::invalid_options;
    }
    // The first producer is created here so that a configuration librdkafka refuses (a property
    // value, a TLS file) fails start() rather than a background thread.
    std::string error;
    _rk = create_producer(error);
    if (!_rk) {
      _log->error("mirror: {}", error);
      return mirror_errc::client_config;
    }
    _started = true;
    _token = _store.subscribe([this](const std::string& topic, int32_t partition, int64_t hw) {
      on_advance(topic, partition, hw);
    });
    _subscribed = true;
    publish_status();
    _thread = std::thread([this] {
      pthread_setname_np(pthread_self(), "eb-mirror");
      run();
    });
    return {};
  }

  void stop(milliseconds flush_timeout) {
    if (_subscribed) {
      _store.unsubscribe(_token);
      _subscribed = false;
    }
    if (_thread.joinable()) {
      {
        std::lock_guard lk(_wake_mutex);
        _flush_timeout = flush_timeout;
        _stopping = true;
        _wake = true;
      }
      _wake_cv.notify_all();
      _thread.join();
    }
  }

  mirror_status status() const {
    std::lock_guard lk(_status_mutex);
    return _status;
  }

 private:
  // A mirrored source partition (or, with is_gaps, the gap reports' target partition).
  struct target;
  struct inflight_record {
    int64_t offset;  // source offset, or the gap id
    uint64_t bytes;  // accounted bytes
    uint64_t payload;
  };
  // Stored batches read for a partition and not yet handed to the producer, and the one being
  // handed over.
  struct readahead {
    std::vector<storage::stored_batch> chunk;
    uint64_t bytes = 0;  // of chunk, counted in _readahead_bytes
    size_t batch_index = 0;
    std::optional<net::decoded_batch> batch;
    size_t record_index = 0;
    bool stored_left() const { return batch_index < chunk.size(); }
    bool empty() const { return !batch && !stored_left(); }
  };
  struct part {
    std::string topic;
    int32_t partition = 0;
    int32_t priority = 0;
    std::string target_name;
    target* tgt = nullptr;
    bool is_gaps = false;
    int64_t hw = 0;
    // Known only once the resume point was read from the cloud (resolved).
    bool resolved = false;
    int64_t next = -1;       // next offset to produce
    int64_t confirmed = -1;  // every offset below is in the cloud (or dropped by storage)
    int64_t committed = -1;  // persisted storage cursor
    int64_t last_resume = -1;
    bool failed = false;  // a delivery failed since the last resolve
    std::deque<inflight_record> inflight;
    uint64_t inflight_payload = 0;  // sum of inflight[].payload
    readahead ahead;
    // Age of the backlog for scheduling: the timestamp (ms) of the next batch to mirror when
    // known, else the wall-clock time the backlog was noticed.
    int64_t oldest_ms = 0;
    steady::time_point retry_at{};
    std::string error;
    uint64_t delivered_records = 0;
    uint64_t delivered_bytes = 0;
    double bytes_per_record = 0;  // of stored batches, for the backlog estimate
  };
  enum class target_state { unknown, ready, missing, too_few_partitions, refused };
  struct target {
    std::string name;
    int32_t needed_partitions = 1;
    target_state state = target_state::unknown;
    std::string error;
    target_state logged_state = target_state::unknown;
    std::string logged_error;
    steady::time_point retry_at{};
    backoff retry;
    md::topic_ptr handle;  // valid while the current producer lives
    target(std::string n, const mirror_options& o)
        : name(std::move(n)), retry(o.retry_backoff_min, o.retry_backoff_max) {}
  };
  enum class link_state { connecting, connected, disconnected, refusing };

  // ---- called on storage's writer thread: record and wake, nothing else -------------------
  void on_advance(const std::string& topic, int32_t partition, int64_t hw) {
    {
      std::lock_guard lk(_wake_mutex);
      auto& v = _advanced[{topic, partition}];
      v = std::max(v, hw);
      _wake = true;
    }
    _wake_cv.notify_one();
  }

  // ---- librdkafka callbacks: run inside rd_kafka_poll/flush on the mirror thread ------------
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    static_cast<impl*>(opaque)->delivered(m);
  }
  static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
    static_cast<impl*>(opaque)->client_error(rk, static_cast<rd_kafka_resp_err_t>(err), reason);
  }
  static void on_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
    // librdkafka repeats connection failures at every reconnect; the mirror logs state changes
    // itself, so librdkafka's own lines go to debug.
    auto* self = static_cast<impl*>(rd_kafka_opaque(rk));
    if (self) self->_log->debug("librdkafka {} {}: {}", level, fac, buf);
  }
  // Called from a librdkafka thread when the main queue becomes non-empty.
  static void on_queue_event(rd_kafka_t*, void* opaque) {
    auto* self = static_cast<impl*>(opaque);
    {
      std::lock_guard lk(self->_wake_mutex);
      self->_wake = true;
    }
    self->_wake_cv.notify_one();
  }

  void delivered(const rd_kafka_message_t* m) {
    auto* p = static_cast<part*>(m->_private);
    if (!p || p->inflight.empty()) return;  // a producer torn down by resync; nothing to match
    auto rec = p->inflight.front();
    p->inflight.pop_front();
    p->inflight_payload -= rec.payload;
    _inflight_bytes -= rec.bytes;
    _inflight_records--;
    if (m->err) {
      // Outcome unknown for this record and those after it: re-read the cloud's tail.
      p->failed = true;
      if (m->err != RD_KAFKA_RESP_ERR__PURGE_QUEUE && m->err != RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) {
        request_resync(std::string("delivery to ") + p->target_name + "[" +
                       std::to_string(p->partition) + "] failed: " + rd_kafka_err2str(m->err));
      }
      return;
    }
    if (p->failed) return;
    p->confirmed = rec.offset + 1;
    p->delivered_records++;
    p->delivered_bytes += rec.payload;
    _delivered_records++;
    _delivered_bytes += rec.payload;
    if (p->inflight.empty() && !p->is_gaps) p->confirmed = p->next;
    if (p->is_gaps) _gaps_confirmed = static_cast<uint64_t>(rec.offset);
    set_link(link_state::connected, "");
    _backoff.reset();
    _resync_episode = false;
  }

  void client_error(rd_kafka_t* rk, rd_kafka_resp_err_t err, const char* reason) {
    std::string text = std::string(rd_kafka_err2name(err)) + ": " + reason;
    switch (err) {
      case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
        set_link(link_state::disconnected, text);
        break;
      // Refusals of the whole uplink. (A topic the cloud will not let us describe or write is
      // that target's state, see check_targets.)
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
        _log->debug("mirror: {}", text);
        note_error(text);
    }
  }

  static std::string fatal_reason(rd_kafka_t* rk) {
    std::array<char, 512> buf{};
    auto orig = rd_kafka_fatal_error(rk, buf.data(), buf.size());
    return std::string("fatal producer error ") + rd_kafka_err2name(orig) + ": " + buf.data();
  }

  // ---- state reporting -----------------------------------------------------------------
  void note_error(const std::string& e) {
    std::lock_guard lk(_status_mutex);
    _status.last_error = e;
  }

  void set_link(link_state s, const std::string& why) {
    if (s == _link) return;
    _link = s;
    switch (s) {
      case link_state::connected:
        _log->info("mirror: connected to the cloud ({})", _opts.bootstrap);
        break;
      case link_state::disconnected:
        _log->error("mirror: cloud unreachable ({}); records wait in storage: {}", _opts.bootstrap,
                    why);
        break;
      case link_state::refusing:
        _log->error("mirror: the cloud refuses the mirror ({}): {}", _opts.bootstrap, why);
        break;
      case link_state::connecting:
        break;
    }
    if (!why.empty()) note_error(why);
    _next_probe = steady::now() + _opts.retry_backoff_min;
  }

  void set_target_state(target& t, target_state s, const std::string& why) {
    t.state = s;
    t.error = why;
    // Resyncs send every target back to `unknown` and then `ready` again: not worth a line.
    bool changed = t.logged_state != s || t.logged_error != why;
    if (!changed || s == target_state::unknown) return;
    t.logged_state = s;
    t.logged_error = why;
    if (s == target_state::ready) {
      _log->info("mirror: cloud topic {} ready", t.name);
    } else if (s != target_state::unknown) {
      _log->error("mirror: cloud topic {}: {}", t.name, why);
      note_error("cloud topic " + t.name + ": " + why);
    }
  }

  // Logged once per episode: the same failure repeating with backoff (until the cloud accepts)
  // is not news; a delivery success ends the episode.
  void request_resync(const std::string& why) {
    if (!_resync_needed && !_stopping) {
      if (!_resync_episode) {
        _log->warn("mirror: {}; recreating the producer and re-reading the cloud's tail", why);
      } else {
        _log->debug("mirror: again: {}", why);
      }
      _resync_episode = true;
      note_error(why);
    }
    _resync_needed = true;
  }

  // ---- the producer ---------------------------------------------------------------------
  std::vector<std::pair<std::string, std::string>> common_properties() const {
    std::vector<std::pair<std::string, std::string>> props{
        {"client.id", "edgebridge-mirror-" + _opts.site_id},
        {"socket.keepalive.enable", "true"},
        // Reconnect quickly once the uplink returns: the drain should not wait on a long backoff.
        {"reconnect.backoff.ms", "100"},
        {"reconnect.backoff.max.ms", "1000"},
        // Idle connections closed by the broker are normal; real outages surface as
        // ALL_BROKERS_DOWN and through delivery.
        {"log.connection.close", "false"},
    };
    for (auto& kv : _opts.properties) props.push_back(kv);
    props.emplace_back("bootstrap.servers", _opts.bootstrap);
    return props;
  }

  md::rk_ptr create_producer(std::string& error) {
    md::conf_ptr conf(rd_kafka_conf_new());
    uint64_t kbytes = _opts.max_inflight_bytes / 1024 + 1024;
    uint64_t messages = _opts.max_inflight_bytes / (record_overhead + 2 * header_overhead) + 1000;
    std::vector<std::pair<std::string, std::string>> props{
        {"linger.ms", std::to_string(_opts.linger.count())},
        {"batch.num.messages", "10000"},
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
    error = md::set_all(conf.get(), props);
    if (!error.empty()) return nullptr;
    constexpr uint64_t pipeline_batches = 2;
    _pipeline_bytes = pipeline_batches * md::conf_int(conf.get(), "batch.size").value_or(1'000'000);
    _pipeline_records =
        pipeline_batches * md::conf_int(conf.get(), "batch.num.messages").value_or(10'000);
    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &impl::on_delivery);
    rd_kafka_conf_set_error_cb(conf.get(), &impl::on_error);
    rd_kafka_conf_set_log_cb(conf.get(), &impl::on_log);
    std::array<char, 512> err{};
    md::rk_ptr rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err.data(), err.size()));
    if (!rk) {
      error = std::string("cannot create the producer: ") + err.data();
      return nullptr;
    }
    (void)conf.release();  // owned by rk now
    rd_kafka_queue_t* main_queue = rd_kafka_queue_get_main(rk.get());
    rd_kafka_queue_cb_event_enable(main_queue, &impl::on_queue_event, this);
    rd_kafka_queue_destroy(main_queue);  // the callback stays with the queue itself
    return rk;
  }

  md::conf_ptr consumer_conf() const {
    md::conf_ptr conf(rd_kafka_conf_new());
    auto props = common_properties();
    props.emplace_back("client.id", "edgebridge-mirror-tail-" + _opts.site_id);
    // Producer-only properties in `properties` only draw a warning from a consumer; fine.
    (void)md::set_all(conf.get(), props);  // validated when the producer was created
    rd_kafka_conf_set_opaque(conf.get(), const_cast<impl*>(this));
    rd_kafka_conf_set_log_cb(conf.get(), &impl::on_log);
    return conf;
  }

  // Tears the producer down. What was in flight has an unknown outcome: every partition is
  // resolved again from the cloud's tail before producing more.
  void destroy_producer() {
    if (!_rk) return;
    rd_kafka_purge(_rk.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    (void)rd_kafka_poll(_rk.get(), 0);  // the purge reports
    for (auto& [name, t] : _targets) t.handle.reset();
    _rk.reset();
    for (auto* p : all_parts()) {
      release(*p);
      p->inflight.clear();
      p->inflight_payload = 0;
      p->resolved = false;
      p->failed = false;
      if (p->next > p->confirmed) p->next = p->confirmed;
    }
    _inflight_bytes = 0;
    _inflight_records = 0;
    for (auto& [name, t] : _targets) {
      if (t.state == target_state::ready) t.state = target_state::unknown;
      t.retry_at = {};
    }
    _gaps_produced = _gaps_confirmed;
  }

  std::vector<part*> all_parts() {
    std::vector<part*> v;
    for (auto& p : _parts) v.push_back(p.get());
    v.push_back(_gaps.get());
    return v;
  }

  // ---- topics and partitions -------------------------------------------------------------
  target& target_for(const std::string& name) {
    auto it = _targets.find(name);
    if (it == _targets.end()) it = _targets.try_emplace(name, name, _opts).first;
    return it->second;
  }

  void refresh_topics() {
    _next_topic_refresh = steady::now() + topic_refresh_interval;
    for (auto& info : _store.topics()) {
      if (_opts.excluded_topics.count(info.name)) {
        for (int32_t i = 0; i < info.config.partitions; ++i) {
          auto [it, added] = _excluded.try_emplace({info.name, i});
          if (added) {
            if (auto o = _store.offsets(info.name, i)) it->second.hw = o->high_watermark;
            it->second.committed = _store.mirror_cursor(info.name, i).value_or(-1);
          }
        }
        continue;
      }
      std::string target_name = _opts.target_topic(info.name);
      auto& t = target_for(target_name);
      t.needed_partitions = std::max(t.needed_partitions, info.config.partitions);
      for (int32_t i = 0; i < info.config.partitions; ++i) {
        auto key = std::make_pair(info.name, i);
        auto it = _index.find(key);
        part* p = it == _index.end() ? nullptr : it->second;
        if (!p) {
          auto owned = std::make_unique<part>();
          p = owned.get();
          p->topic = info.name;
          p->partition = i;
          p->target_name = target_name;
          p->tgt = &t;
          if (auto c = _store.mirror_cursor(info.name, i)) p->committed = *c;
          if (auto o = _store.offsets(info.name, i)) p->hw = o->high_watermark;
          p->oldest_ms = wall_ms();
          _parts.push_back(std::move(owned));
          _index[key] = p;
        }
        p->priority = info.config.priority;
      }
    }
  }

  // The gaps topic is only needed once storage has dropped something: until then it is neither
  // checked nor created, so a cloud without it is not "refusing".
  void attach_gaps_target() {
    if (_gaps->tgt || _store.gaps_after(_gaps_marked).empty()) return;
    _gaps->tgt = &target_for(_gaps->target_name);
  }

  void absorb_advances(std::map<std::pair<std::string, int32_t>, int64_t> advanced) {
    bool unknown = false;
    for (auto& [key, hw] : advanced) {
      auto it = _index.find(key);
      if (it == _index.end()) {
        if (auto ex = _excluded.find(key); ex != _excluded.end()) {
          ex->second.hw = std::max(ex->second.hw, hw);
        } else {
          unknown = true;
        }
        continue;
      }
      part* p = it->second;
      if (hw <= p->hw) continue;
      if (p->resolved && p->next >= p->hw) p->oldest_ms = wall_ms();
      p->hw = hw;
    }
    if (unknown) refresh_topics();
  }

  // ---- cloud topics ----------------------------------------------------------------------
  void check_targets() {
    auto now = steady::now();
    std::vector<std::pair<std::string, int32_t>> to_create;
    for (auto& [name, t] : _targets) {
      if (t.state == target_state::ready || t.retry_at > now) continue;
      if (_stopping || _link == link_state::disconnected) return;
      if (!t.handle) t.handle.reset(rd_kafka_topic_new(_rk.get(), name.c_str(), nullptr));
      auto m = md::describe_topic(_rk.get(), t.handle.get(), metadata_timeout);
      if (m.error) {
        if (m.error == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
          set_target_state(t, target_state::refused, "not authorized to describe or write");
        } else {
          if (m.error == RD_KAFKA_RESP_ERR__TRANSPORT || m.error == RD_KAFKA_RESP_ERR__TIMED_OUT) {
            set_link(link_state::disconnected,
                     std::string("metadata: ") + rd_kafka_err2str(m.error));
          }
          note_error(std::string("metadata of ") + name + ": " + rd_kafka_err2str(m.error));
        }
        t.retry_at = now + t.retry.next();
        continue;
      }
      // An answer means the uplink works (and authenticates) again.
      set_link(link_state::connected, "");
      if (m.exists && !m.leaders) {
        t.retry_at = now + t.retry.next();  // e.g. just created: leaders being elected
      } else if (m.exists) {
        if (m.partitions >= t.needed_partitions) {
          set_target_state(t, target_state::ready, "");
          t.retry.reset();
        } else {
          set_target_state(t, target_state::too_few_partitions,
                           "has " + std::to_string(m.partitions) +
                               " partitions, the source needs " +
                               std::to_string(t.needed_partitions) +
                               "; its records wait in storage (partitions are never remapped)");
          t.retry_at = now + _opts.retry_backoff_max;
        }
      } else if (_opts.create_target_topics) {
        to_create.emplace_back(name, t.needed_partitions);
      } else {
        set_target_state(t, target_state::missing,
                         "does not exist and mirror.create_target_topics is off; its records "
                         "wait in storage");
        t.retry_at = now + t.retry.next();
      }
    }
    if (to_create.empty()) return;
    auto results = md::create_topics(_rk.get(), to_create, metadata_timeout);
    for (auto& [name, partitions] : to_create) {
      auto& t = _targets.at(name);
      auto it = results.find(name);
      if (it != results.end() && it->second.empty()) {
        _log->info("mirror: created cloud topic {} with {} partitions", name, partitions);
        // Metadata may lag the creation a little: look again shortly.
        t.retry_at = now + _opts.retry_backoff_min;
      } else {
        set_target_state(
            t, target_state::refused,
            "cannot be created: " + (it == results.end() ? std::string("no answer") : it->second));
        t.retry_at = now + t.retry.next();
      }
    }
  }

  // ---- resume points -----------------------------------------------------------------------
  void resolve_partitions() {
    if (steady::now() < _resolve_retry_at || _link == link_state::disconnected) return;
    std::vector<part*> todo;
    std::vector<md::tail_query> queries;
    for (auto* p : all_parts()) {
      if (p->resolved || !p->tgt || p->tgt->state != target_state::ready) continue;
      md::tail_query q{.topic = p->target_name, .partition = p->partition};
      q.must_match.emplace_back(h_site, _opts.site_id);
      if (p->is_gaps) {
        q.value_header = h_gap_id;
      } else {
        q.must_match.emplace_back(h_topic, p->topic);
        q.must_match.emplace_back(h_partition, decimal(p->partition));
        q.value_header = h_offset;
      }
      todo.push_back(p);
      queries.push_back(std::move(q));
    }
    if (todo.empty()) return;
    auto r =
        md::read_tails(consumer_conf(), queries, _opts.tail_scan_records, tail_timeout, _stopping);
    if (!r.error.empty()) {
      note_error("reading the cloud's tail: " + r.error);
      _log->warn("mirror: reading the cloud's tail failed ({}); retrying", r.error);
      _resolve_retry_at = steady::now() + _backoff.next();
      return;
    }
    for (size_t i = 0; i < todo.size(); ++i) {
      if (todo[i]->is_gaps) {
        resolve_gaps(r.answers[i]);
      } else {
        resolve_partition(*todo[i], r.answers[i]);
      }
    }
  }

  void resolve_partition(part& p, const md::tail_answer& a) {
    auto offsets = _store.offsets(p.topic, p.partition);
    if (!offsets) {
      p.error = "storage: " + offsets.error().message();
      return;
    }
    int64_t log_start = offsets->log_start;
    p.hw = std::max(p.hw, offsets->high_watermark);
    int64_t cursor = std::max<int64_t>(p.committed, std::max<int64_t>(p.confirmed, log_start));
    int64_t resume = cursor;
    const char* source = "storage cursor";
    if (a.value) {
      resume = *a.value + 1;
      source = "the cloud's last record";
      if (resume > p.hw) {
        // Only possible if the local store was reset under the same site id: keep everything
        // local rather than skip it.
        _log->error(
            "mirror: {}[{}] holds offset {} of {}[{}] but the local log ends at {} (local store "
            "reset?); mirroring from the cursor {}",
            p.target_name, p.partition, *a.value, p.topic, p.partition, p.hw, cursor);
        resume = cursor;
      }
    }
    // Below what the cloud once confirmed: it lost records (truncation, unclean election).
    int64_t confirmed_before = std::max(p.committed, p.confirmed);
    if (a.value && resume < confirmed_before) {
      _log->warn("mirror: {}[{}] ends at offset {} but confirmed up to {}; sending again from {}",
                 p.target_name, p.partition, *a.value, confirmed_before - 1, resume);
      if (resume < log_start) {
        // What storage already deleted as mirrored cannot be sent again. (Below the log start
        // and above the confirmed position is a storage gap, reported on its own.)
        _log->error("mirror: {}[{}] lost offsets {}..{} of {}[{}], no longer stored locally",
                    p.target_name, p.partition, resume, std::min(log_start, confirmed_before) - 1,
                    p.topic, p.partition);
        note_error("the cloud lost records of " + p.topic + "[" + std::to_string(p.partition) +
                   "] that are no longer stored locally");
      }
    }
    resume = std::clamp(resume, log_start, p.hw);
    _log->log(resume == p.last_resume ? spdlog::level::debug : spdlog::level::info,
              "mirror: {}[{}] -> {}[{}] resumes at offset {} (from {}; local log {}..{})", p.topic,
              p.partition, p.target_name, p.partition, resume, source, log_start, p.hw);
    p.last_resume = resume;
    p.next = p.confirmed = resume;
    p.resolved = true;
    p.failed = false;
    p.error.clear();
    if (p.next < p.hw) {
      // The age of the data waiting, so that after an outage the oldest goes first.
      auto first = _store.read(p.topic, p.partition, p.next, 1);
      p.oldest_ms = first && !first->empty() ? first_timestamp(first->front()) : wall_ms();
    }
  }

  void resolve_gaps(const md::tail_answer& a) {
    uint64_t reported = _store.last_reported_gap();
    if (a.value && static_cast<uint64_t>(*a.value) > reported) {
      // The report reached the cloud but the crash came before it was marked.
      if (auto r = _store.mark_gaps_reported(static_cast<uint64_t>(*a.value)); !r) {
        note_error("storage: mark_gaps_reported: " + r.error().message());
      }
      reported = static_cast<uint64_t>(*a.value);
    }
    _gaps_marked = _gaps_confirmed = _gaps_produced = reported;
    _gaps->resolved = true;
    _gaps->failed = false;
  }

  // ---- producing ---------------------------------------------------------------------------
  // Waiting for something other than the link: a resync, its target, a retry time, new data.
  bool blocked(const part& p, steady::time_point now) const {
    return p.is_gaps || !p.resolved || p.failed || !p.tgt || p.tgt->state != target_state::ready ||
           p.next >= p.hw || p.retry_at > now;
  }

  bool ready_to_produce(const part& p, steady::time_point now) const {
    return !blocked(p, now) && !pipeline_full(p) &&
           (!p.ahead.empty() || _readahead_bytes == 0 ||
            _readahead_bytes + min_read_bytes <= readahead_budget);
  }

  // librdkafka's idempotent producer sends one request per partition at a time (it counts the
  // partition's in-flight messages against the 5-request window, librdkafka PR #4989), and its
  // broker thread busy-polls while a batch older than linger.ms is ready behind it (measured: a
  // poll() per record, 3.8 of the 6.7 CPU seconds of a 1 GiB drain). More than two batches per
  // partition therefore never goes faster, only spins; other partitions use the idle slots.
  bool pipeline_full(const part& p) const {
    return p.inflight_payload >= _pipeline_bytes || p.inflight.size() >= _pipeline_records;
  }

  // Higher priority first, then the partition whose waiting data is oldest.
  part* pick() {
    auto now = steady::now();
    part* best = nullptr;
    for (auto& owned : _parts) {
      part* p = owned.get();
      if (blocked(*p, now) && p->ahead.bytes > 0) release(*p);  // leave the budget to others
      if (!ready_to_produce(*p, now)) continue;
      if (!best || p->priority > best->priority ||
          (p->priority == best->priority && p->oldest_ms < best->oldest_ms)) {
        best = p;
      }
    }
    return best;
  }

  // Drops what was read ahead for p; produced records are tracked by p.next, so nothing is lost.
  void release(part& p) {
    _readahead_bytes -= p.ahead.bytes;
    p.ahead = {};
  }

  // Decodes p's next stored batch into p.ahead.batch, reading a chunk from storage when none is
  // left. False when p cannot go on now; its state then says why (retry_at, error, hw, next).
  bool load_batch(part& p) {
    auto& a = p.ahead;
    if (!a.stored_left()) {
      release(p);
      size_t room = _readahead_bytes < readahead_budget ? readahead_budget - _readahead_bytes : 0;
      auto r = _store.read(p.topic, p.partition, p.next,
                           std::clamp(room, min_read_bytes, read_chunk_bytes));
      if (!r) {
        if (r.error() == storage::errc::offset_out_of_range) {
          // Dropped by retention/quota below our position: storage reported it as a gap.
          auto o = _store.offsets(p.topic, p.partition);
          if (o && p.next < o->log_start) {
            _log->warn("mirror: {}[{}] offsets {}..{} were dropped locally before mirroring",
                       p.topic, p.partition, p.next, o->log_start - 1);
            p.next = o->log_start;
            if (p.inflight.empty()) p.confirmed = p.next;
            return false;
          }
        }
        p.error = "storage read: " + r.error().message();
        p.retry_at = steady::now() + _opts.retry_backoff_max;
        _log->error("mirror: {}[{}]: {}", p.topic, p.partition, p.error);
        return false;
      }
      if (r->empty()) {
        // Our view of the high watermark ran ahead of what is readable: take storage's.
        auto o = _store.offsets(p.topic, p.partition);
        if (o && o->high_watermark <= p.next) {
          p.hw = o->high_watermark;
        } else {
          p.retry_at = steady::now() + _opts.retry_backoff_min;
        }
        return false;
      }
      a.chunk = std::move(*r);
      for (auto& b : a.chunk) a.bytes += b.bytes.size();
      _readahead_bytes += a.bytes;
    }
    auto& stored = a.chunk[a.batch_index++];
    p.oldest_ms = first_timestamp(stored);
    auto decoded = net::decode_batch(bytes_of(stored.bytes));
    if (!decoded) {
      // Storage validated it on append, so this is corruption or a bug: stop this partition
      // (nothing is skipped) and say so.
      p.error = "stored batch at offset " + std::to_string(stored.base_offset) +
                " does not decode: " + decoded.error().message();
      p.retry_at = steady::now() + _opts.retry_backoff_max;
      _log->error("mirror: {}[{}]: {}", p.topic, p.partition, p.error);
      release(p);
      return false;
    }
    int64_t count = stored.last_offset - stored.base_offset + 1;
    if (count > 0) {
      double bpr = static_cast<double>(stored.bytes.size()) / static_cast<double>(count);
      p.bytes_per_record = p.bytes_per_record == 0 ? bpr : 0.9 * p.bytes_per_record + 0.1 * bpr;
    }
    a.batch = std::move(*decoded);
    a.record_index = 0;
    if (a.batch->header.is_control()) {
      // Transaction markers are not records: nothing to mirror.
      a.batch->records.clear();
    }
    return true;
  }

  // Produces as much as the in-flight bound and the token bucket allow. True if it did work.
  // Returns after a time slice at most, so that a long drain (delivery reports keep freeing the
  // in-flight budget) does not starve cursor commits, status and target checks.
  // The partition is picked again after every batch and whenever its pipeline is full, so that
  // several partitions have a request in flight at once and the oldest data goes first.
  bool produce_some() {
    bool progressed = false;
    int produced = 0;
    const auto slice_end = steady::now() + produce_slice;
    while (!_resync_needed && !_stopping) {
      if (progressed && steady::now() >= slice_end) return true;
      part* picked = pick();
      if (!picked) return progressed;
      part& p = *picked;
      auto& a = p.ahead;
      if (!a.batch && !load_batch(p)) continue;  // p's state changed: pick again
      auto& b = *a.batch;
      for (; a.record_index < b.records.size(); a.record_index++) {
        const auto& r = b.records[a.record_index];
        int64_t offset = b.offset_of(r);
        if (offset < p.next) continue;  // already mirrored: the batch started before our position
        uint64_t payload = (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0);
        for (auto& h : r.headers) payload += h.key.size() + (h.value ? h.value->size() : 0);
        uint64_t cost =
            payload + record_overhead + header_overhead * (r.headers.size() + provenance_headers);
        if (_inflight_bytes > 0 && _inflight_bytes + cost > _opts.max_inflight_bytes) {
          return progressed;  // wait for delivery reports
        }
        if (pipeline_full(p)) break;  // another partition may use the link meanwhile
        if (!take_tokens(payload)) return progressed;
        auto err = produce_record(p, b, r, offset);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) return progressed;
        if (err) {
          produce_failed(p, offset, err);
          release(p);
          return true;
        }
        p.inflight.push_back({offset, cost, payload});
        p.inflight_payload += payload;
        _inflight_bytes += cost;
        _inflight_records++;
        p.next = offset + 1;
        progressed = true;
        if (++produced % 1024 == 0) {
          serve_queue();
          if (steady::now() >= slice_end) return true;
        }
      }
      if (a.record_index < b.records.size()) continue;
      // The whole batch is handed over: offsets it does not hold (control records, compaction)
      // are behind us too.
      p.next = std::max(p.next, b.header.last_offset() + 1);
      if (p.inflight.empty()) p.confirmed = p.next;
      a.batch.reset();
      if (!a.stored_left()) release(p);
      progressed = true;
    }
    return progressed;
  }

  rd_kafka_resp_err_t produce_record(part& p, const net::decoded_batch& b, const net::record& r,
                                     int64_t offset) {
    rd_kafka_headers_t* headers = rd_kafka_headers_new(r.headers.size() + 4);
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

  void produce_failed(part& p, int64_t offset, rd_kafka_resp_err_t err) {
    switch (err) {
      case RD_KAFKA_RESP_ERR__FATAL:
        request_resync(fatal_reason(_rk.get()));
        return;
      case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
        p.error = "record at offset " + std::to_string(offset) +
                  " is larger than the producer's message.max.bytes; the partition waits (raise "
                  "message.max.bytes in mirror.properties and on the cloud topic)";
        break;
      default:
        p.error = std::string("produce at offset ") + std::to_string(offset) + ": " +
                  rd_kafka_err2str(err);
        // The cloud topic may have changed (deleted, fewer partitions): look at it again.
        if (p.tgt) {
          p.tgt->state = target_state::unknown;
          p.tgt->retry_at = steady::now() + _opts.retry_backoff_min;
        }
    }
    _log->error("mirror: {}[{}]: {}", p.topic, p.partition, p.error);
    note_error(p.error);
    p.retry_at = steady::now() + _opts.retry_backoff_max;
  }

  bool take_tokens(uint64_t bytes) {
    if (_opts.bandwidth_bytes_per_sec == 0) return true;
    auto now = steady::now();
    double rate = static_cast<double>(_opts.bandwidth_bytes_per_sec);
    double cap = std::max(rate / 4, 65536.0);
    double elapsed = std::chrono::duration<double>(now - _tokens_at).count();
    _tokens = std::min(cap, _tokens + elapsed * rate);
    _tokens_at = now;
    // A record may overdraw the bucket; the debt is paid before the next one goes.
    if (_tokens <= 0) {
      _tokens_ready_at = now + std::chrono::duration_cast<steady::duration>(
                                   std::chrono::duration<double>(-_tokens / rate));
      return false;
    }
    _tokens -= static_cast<double>(bytes);
    return true;
  }

  void produce_gaps() {
    if (!_gaps->resolved || !_gaps->tgt || _gaps->tgt->state != target_state::ready) return;
    if (_gaps_produced != _gaps_confirmed) return;  // one round in flight at a time
    auto gaps = _store.gaps_after(_gaps_produced);
    for (auto& g : gaps) {
      std::string json = "{\"site\":";
      append_json_string(json, _opts.site_id);
      json += ",\"topic\":";
      append_json_string(json, g.topic);
      json += ",\"partition\":" + decimal(g.partition) +
              ",\"first_offset\":" + decimal(g.first_offset) +
              ",\"last_offset\":" + decimal(g.last_offset) + ",\"reason\":";
      append_json_string(json, g.reason);
      json += ",\"time_ms\":" + decimal(g.timestamp_ms) +
              ",\"gap_id\":" + decimal(static_cast<int64_t>(g.id)) + "}";
      std::string id_s = decimal(static_cast<int64_t>(g.id));
      rd_kafka_headers_t* headers = rd_kafka_headers_new(2);
      (void)rd_kafka_header_add(headers, h_site, -1, _opts.site_id.data(),
                                static_cast<ssize_t>(_opts.site_id.size()));
      (void)rd_kafka_header_add(headers, h_gap_id, -1, id_s.data(),
                                static_cast<ssize_t>(id_s.size()));
      std::string key = g.topic + "/" + decimal(g.partition);
      auto err = rd_kafka_producev(
          _rk.get(), RD_KAFKA_V_RKT(_gaps->tgt->handle.get()), RD_KAFKA_V_PARTITION(0),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key.data(), key.size()),
          RD_KAFKA_V_VALUE(json.data(), json.size()), RD_KAFKA_V_TIMESTAMP(g.timestamp_ms),
          RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(_gaps.get()), RD_KAFKA_V_END);
      if (err) {
        rd_kafka_headers_destroy(headers);
        if (err == RD_KAFKA_RESP_ERR__FATAL) request_resync(fatal_reason(_rk.get()));
        return;  // retried at the next tick
      }
      uint64_t cost = json.size() + record_overhead + 2 * header_overhead;
      _gaps->inflight.push_back({static_cast<int64_t>(g.id), cost, json.size()});
      _gaps->inflight_payload += json.size();
      _inflight_bytes += cost;
      _inflight_records++;
      _gaps_produced = g.id;
      _log->warn("mirror: reporting gap {}: {}[{}] offsets {}..{} ({})", g.id, g.topic, g.partition,
                 g.first_offset, g.last_offset, g.reason);
    }
  }

  void serve_queue() {
    if (!_rk) return;
    for (int i = 0; i < 16 && rd_kafka_poll(_rk.get(), 0) > 0; ++i) {
    }
  }

  // ---- persistence -------------------------------------------------------------------------
  void commit_cursors() {
    std::map<std::pair<std::string, int32_t>, int64_t> cursors;
    for (auto& p : _parts) {
      if (p->resolved && p->confirmed > p->committed) {
        cursors[{p->topic, p->partition}] = p->confirmed;
      }
    }
    // Excluded topics have nothing to mirror: their cursor follows the high watermark, so local
    // retention treats them like mirrored data and the quota never reports them as gaps.
    for (auto& [key, e] : _excluded) {
      if (e.hw > e.committed) cursors[key] = e.hw;
    }
    if (!cursors.empty()) {
      if (auto r = _store.commit_mirror_cursors(cursors); !r) {
        note_error("storage: commit_mirror_cursors: " + r.error().message());
        _log->warn("mirror: persisting cursors failed: {}", r.error().message());
      } else {
        for (auto& [key, next] : cursors) {
          if (auto it = _index.find(key); it != _index.end()) {
            it->second->committed = next;
          } else {
            _excluded[key].committed = next;
          }
        }
      }
    }
    if (_gaps_confirmed > _gaps_marked) {
      if (auto r = _store.mark_gaps_reported(_gaps_confirmed); r) {
        _gaps_marked = _gaps_confirmed;
        std::lock_guard lk(_status_mutex);
        _status.gaps_reported = _gaps_marked;
      }
    }
  }

  void publish_status() {
    mirror_status s;
    s.running = _started && !_stopped_thread;
    s.connected = _link == link_state::connected;
    s.uplink = uplink_state::connecting;
    switch (_link) {
      case link_state::connecting:
        s.uplink = uplink_state::connecting;
        break;
      case link_state::connected:
        s.uplink = uplink_state::connected;
        break;
      case link_state::disconnected:
        s.uplink = uplink_state::disconnected;
        break;
      case link_state::refusing:
        s.uplink = uplink_state::refusing;
        break;
    }
    if (s.uplink == uplink_state::connected) {
      for (auto& [name, t] : _targets) {
        if (t.state == target_state::missing || t.state == target_state::too_few_partitions ||
            t.state == target_state::refused) {
          s.uplink = uplink_state::refusing;
        }
      }
    }
    if (!s.running) s.uplink = uplink_state::stopped;
    s.inflight_bytes = _inflight_bytes;
    s.inflight_records = _inflight_records;
    s.delivered_records = _delivered_records;
    s.delivered_bytes = _delivered_bytes;
    s.resyncs = _resyncs;
    auto now = steady::now();
    for (auto& owned : _parts) {
      auto& p = *owned;
      mirror_partition_status ps;
      ps.topic = p.topic;
      ps.partition = p.partition;
      ps.target_topic = p.target_name;
      ps.priority = p.priority;
      ps.high_watermark = p.hw;
      ps.produced_offset = p.resolved ? p.next : -1;
      ps.confirmed_offset = p.resolved ? p.confirmed : -1;
      ps.committed_offset = p.committed;
      int64_t base = p.resolved ? p.confirmed : std::max<int64_t>(p.committed, 0);
      ps.backlog_records = std::max<int64_t>(0, p.hw - base);
      ps.backlog_bytes =
          static_cast<uint64_t>(static_cast<double>(ps.backlog_records) * p.bytes_per_record);
      ps.delivered_records = p.delivered_records;
      ps.delivered_bytes = p.delivered_bytes;
      ps.error = p.error;
      if (p.tgt && p.tgt->state != target_state::ready && p.tgt->state != target_state::unknown) {
        ps.state = "waiting";
        ps.error = p.tgt->error;
      } else if (!p.resolved) {
        ps.state = "resolving";
      } else if (p.retry_at > now) {
        ps.state = "waiting";
      } else {
        ps.state = ps.backlog_records > 0 ? "mirroring" : "caught-up";
      }
      s.backlog_records += ps.backlog_records;
      s.partitions.push_back(std::move(ps));
    }
    s.taken_at = std::chrono::system_clock::now();
    std::lock_guard lk(_status_mutex);
    s.last_error = _status.last_error;
    s.gaps_reported = _status.gaps_reported;
    _status = std::move(s);
  }

  // ---- the mirror thread -------------------------------------------------------------------
  void run() {
    _gaps_marked = _store.last_reported_gap();
    {
      std::lock_guard lk(_status_mutex);
      _status.gaps_reported = _gaps_marked;
    }
    refresh_topics();
    attach_gaps_target();
    auto next_commit = steady::now() + _opts.cursor_commit_interval;
    auto next_status = steady::now();
    steady::time_point next_producer{};
    while (!_stopping) {
      std::map<std::pair<std::string, int32_t>, int64_t> advanced;
      {
        std::lock_guard lk(_wake_mutex);
        advanced.swap(_advanced);
        _wake = false;
      }
      if (!advanced.empty()) absorb_advances(std::move(advanced));
      serve_queue();
      if (_resync_needed) {
        destroy_producer();
        _resync_needed = false;
        _resyncs++;
        next_producer = steady::now() + _backoff.next();
      }
      if (!_rk && steady::now() >= next_producer) {
        std::string error;
        _rk = create_producer(error);
        if (!_rk) {
          note_error(error);
          next_producer = steady::now() + _backoff.next();
        }
      }
      auto now = steady::now();
      if (now >= _next_topic_refresh) refresh_topics();
      if (_rk) {
        if (_link == link_state::disconnected && now >= _next_probe) {
          // The probe waits for librdkafka's own reconnect (every <= 1 s) and returns as soon as
          // a broker is usable: the uplink's return is noticed at once, not at a polling tick.
          // Back to back, but never more often than every 100 ms should it fail fast.
          // Every fifth probe waits longer, for links whose round trip exceeds the short one.
          _next_probe = now + milliseconds(100);
          bool patient = ++_probes % 5 == 0;
          if (md::probe(_rk.get(), patient ? metadata_timeout : probe_timeout) ==
              RD_KAFKA_RESP_ERR_NO_ERROR) {
            set_link(link_state::connected, "");
          }
        }
        check_targets();
        resolve_partitions();
      }
      now = steady::now();
      if (now >= next_commit) {
        commit_cursors();
        attach_gaps_target();
        if (_rk) produce_gaps();
        next_commit = now + _opts.cursor_commit_interval;
      }
      bool progressed = _rk && produce_some();
      if (steady::now() >= next_status) {
        publish_status();
        next_status = steady::now() + status_interval;
      }
      if (progressed) continue;
      // Nothing to do until a delivery report, an advance, or the next timer.
      auto deadline = std::min({next_commit, next_status, _next_topic_refresh});
      if (!_rk) deadline = std::min(deadline, next_producer);
      if (_rk && _link != link_state::disconnected) {
        for (auto& [name, t] : _targets) {
          if (t.state != target_state::ready) {
            deadline = std::min(deadline, std::max(t.retry_at, steady::now() + milliseconds(1)));
          }
        }
      }
      if (_resolve_retry_at > steady::now()) deadline = std::min(deadline, _resolve_retry_at);
      if (_link == link_state::disconnected) deadline = std::min(deadline, _next_probe);
      if (_opts.bandwidth_bytes_per_sec && _tokens_ready_at > steady::now()) {
        deadline = std::min(deadline, _tokens_ready_at);
      }
      for (auto& p : _parts) {
        if (p->retry_at > steady::now()) deadline = std::min(deadline, p->retry_at);
      }
      std::unique_lock lk(_wake_mutex);
      _wake_cv.wait_until(lk, deadline, [&] { return _wake || _stopping; });
    }
    shut_down();
  }

  void shut_down() {
    milliseconds timeout;
    {
      std::lock_guard lk(_wake_mutex);
      timeout = _flush_timeout;
    }
    if (_rk) {
      // rd_kafka_flush serves delivery reports while it waits, advancing the confirmed offsets.
      auto err = rd_kafka_flush(_rk.get(), static_cast<int>(timeout.count()));
      if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
        _log->warn(
            "mirror: {} records still unconfirmed after {} ms; the next start resends what the "
            "cloud does not hold",
            _inflight_records, timeout.count());
      }
      serve_queue();
    }
    commit_cursors();
    destroy_producer();
    _stopped_thread = true;
    publish_status();
    _log->info("mirror: stopped ({} records delivered)", _delivered_records);
  }

  mirror_options _opts;
  storage::log_store& _store;
  std::shared_ptr<spdlog::logger> _log;

  bool _started = false;
  bool _subscribed = false;
  uint64_t _token = 0;
  std::thread _thread;

  // Wake-ups from the storage listener, librdkafka's queue event and stop().
  std::mutex _wake_mutex;
  std::condition_variable _wake_cv;
  bool _wake = false;
  std::atomic<bool> _stopping{false};
  milliseconds _flush_timeout{0};
  std::map<std::pair<std::string, int32_t>, int64_t> _advanced;  // bounded by partition count

  mutable std::mutex _status_mutex;
  mirror_status _status;

  // Everything below is owned by the mirror thread (and by start() before it runs).
  md::rk_ptr _rk;
  backoff _backoff;
  bool _resync_needed = false;
  bool _resync_episode = false;
  uint64_t _resyncs = 0;
  link_state _link = link_state::connecting;
  steady::time_point _next_probe{};
  uint64_t _probes = 0;
  steady::time_point _next_topic_refresh{};
  steady::time_point _resolve_retry_at{};
  std::map<std::string, target> _targets;
  std::vector<std::unique_ptr<part>> _parts;
  std::map<std::pair<std::string, int32_t>, part*> _index;
  struct excluded_partition {
    int64_t hw = 0;
    int64_t committed = -1;
  };
  std::map<std::pair<std::string, int32_t>, excluded_partition> _excluded;
  std::unique_ptr<part> _gaps;
  uint64_t _gaps_produced = 0;   // highest gap id handed to the producer
  uint64_t _gaps_confirmed = 0;  // highest gap id the cloud confirmed
  uint64_t _gaps_marked = 0;     // highest gap id marked reported in storage
  uint64_t _readahead_bytes = 0;
  uint64_t _inflight_bytes = 0;
  uint64_t _inflight_records = 0;
  // Per partition: what librdkafka may hold of one partition (see pipeline_full).
  uint64_t _pipeline_bytes = 0;
  uint64_t _pipeline_records = 0;
  uint64_t _delivered_records = 0;
  uint64_t _delivered_bytes = 0;
  double _tokens = 0;
  steady::time_point _tokens_at = steady::now();
  steady::time_point _tokens_ready_at{};
  bool _stopped_thread = false;
};

mirror::mirror(mirror_options opts, storage::log_store& store, std::shared_ptr<spdlog::logger> log)
    : _impl(std::make_unique<impl>(std::move(opts), store, std::move(log))) {}
mirror::~mirror() = default;
result<void> mirror::start() { return _impl->start(); }
void mirror::stop(std::chrono::milliseconds flush_timeout) { _impl->stop(flush_timeout); }
mirror_status mirror::status() const { return _impl->status(); }

}  // namespace eb::bridge

#include "bridge/mirror/mirror.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "bridge/mirror/forwarder.h"
#include "bridge/mirror/gap_reporter.h"
#include "bridge/mirror/mirror_types.h"
#include "bridge/mirror/partition_table.h"
#include "bridge/mirror/resume.h"
#include "bridge/mirror/scheduler.h"
#include "bridge/mirror/status.h"
#include "bridge/mirror/target_topics.h"
#include "bridge/mirror/uplink.h"
#include "storage/storage.h"

namespace eb::bridge {
namespace {

namespace md = mirror_detail;
using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds status_interval{100};

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

// Owns the mirror thread and ties the parts together: the uplink, the target topics, the resume
// points, the scheduler and forwarder, the gap reporter and the status. See README.md.
class mirror::impl {
 public:
  impl(mirror_options opts, storage::log_store& store, std::shared_ptr<spdlog::logger> log)
      : _opts(std::move(opts)),
        _store(store),
        _log(log ? std::move(log) : spdlog::default_logger()),
        _sched(_opts.max_inflight_bytes),
        _uplink(_opts, _sched, _board, *_log, _stopping, [this] { wake(); }),
        _targets(_opts, _uplink, _board, *_log, _stopping),
        _table(_opts, _store, _targets, _board, *_log),
        _gaps(_opts, _store, _uplink, _sched, _targets, _board, *_log),
        _resume(_opts, _store, _uplink, _board, *_log, _stopping),
        _forwarder(_opts, _store, _sched, _uplink, _targets, _gaps, _board, *_log, _stopping) {}

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
    if (auto error = _uplink.create(); !error.empty()) {
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

  mirror_status status() const { return _board.get(); }

  void set_bandwidth(uint64_t bytes_per_sec) {
    {
      std::lock_guard lk(_wake_mutex);
      _new_bandwidth = bytes_per_sec;
      _wake = true;
    }
    _wake_cv.notify_one();
  }
  uint64_t bandwidth() const { return _bandwidth.load(); }

 private:
  // Called on storage's writer thread: record and wake, nothing else.
  void on_advance(const std::string& topic, int32_t partition, int64_t hw) {
    {
      std::lock_guard lk(_wake_mutex);
      if (hw < 0) {
        _topic_deleted = true;  // storage deleted the topic: the table looks again
      } else {
        auto& v = _advanced[{topic, partition}];
        v = std::max(v, hw);
      }
      _wake = true;
    }
    _wake_cv.notify_one();
  }

  // Called from a librdkafka thread when delivery reports wait.
  void wake() {
    {
      std::lock_guard lk(_wake_mutex);
      _wake = true;
    }
    _wake_cv.notify_one();
  }

  void run() {
    _gaps.start();
    _table.refresh();
    _gaps.attach();
    auto next_commit = steady::now() + _opts.cursor_commit_interval;
    auto next_status = steady::now();
    steady::time_point next_producer{};
    while (!_stopping) {
      take_advances();
      _uplink.serve();
      if (_uplink.resync_needed()) {
        tear_down_producer();
        _uplink.resynced();
        next_producer = steady::now() + _uplink.retry_backoff().next();
      }
      if (!_uplink.has_producer() && steady::now() >= next_producer) {
        if (auto error = _uplink.create(); !error.empty()) {
          _board.note_error(error);
          next_producer = steady::now() + _uplink.retry_backoff().next();
        }
      }
      if (steady::now() >= _table.next_refresh()) _table.refresh();
      if (_uplink.has_producer()) {
        _uplink.probe_if_due(steady::now());
        _targets.check(steady::now());
        resolve();
      }
      if (steady::now() >= next_commit) {
        commit();
        if (_uplink.has_producer()) _gaps.report();
        next_commit = steady::now() + _opts.cursor_commit_interval;
      }
      bool progressed = _uplink.has_producer() && _forwarder.produce_some(_table.parts());
      if (steady::now() >= next_status) {
        publish_status();
        next_status = steady::now() + status_interval;
      }
      if (progressed) continue;
      // Nothing to do until a delivery report, an advance, or the next timer.
      auto deadline = std::min({next_commit, next_status, _table.next_refresh()});
      if (!_uplink.has_producer()) deadline = std::min(deadline, next_producer);
      wait_until(next_wake(deadline));
    }
    shut_down();
  }

  void take_advances() {
    std::map<md::partition_key, int64_t> advanced;
    std::optional<uint64_t> bandwidth;
    bool deleted = false;
    {
      std::lock_guard lk(_wake_mutex);
      advanced.swap(_advanced);
      bandwidth.swap(_new_bandwidth);
      std::swap(deleted, _topic_deleted);
      _wake = false;
    }
    if (deleted) _table.refresh();
    for (auto& p : _table.take_gone()) _sched.release(*p);
    if (bandwidth) {
      _opts.bandwidth_bytes_per_sec = *bandwidth;
      _forwarder.set_bandwidth(*bandwidth);
      _bandwidth = *bandwidth;
      _log->info("mirror: uplink cap now {} bytes/s", *bandwidth);
    }
    if (!advanced.empty()) _table.absorb(advanced);
  }

  void resolve() {
    auto parts = all_parts();
    std::erase_if(parts, [](const md::part* p) { return p->gone; });  // nothing to resume
    for (auto& [p, answer] : _resume.read(parts)) {
      if (p->is_gaps) {
        _gaps.resolve(answer);
      } else {
        _resume.apply(*p, answer);
      }
    }
  }

  void commit() {
    _table.commit_cursors();
    _gaps.mark_confirmed();
    _gaps.attach();
  }

  // The earliest of `deadline` and every timer of the parts: target checks, tail read retries,
  // probes, the bandwidth cap and partitions waiting to retry.
  steady::time_point next_wake(steady::time_point deadline) const {
    auto now = steady::now();
    bool link_up = _uplink.link() != md::link_state::disconnected;
    if (_uplink.has_producer() && link_up) deadline = _targets.next_check(deadline);
    if (_resume.retry_at() > now) deadline = std::min(deadline, _resume.retry_at());
    if (!link_up) deadline = std::min(deadline, _uplink.next_probe());
    if (auto ready = _forwarder.tokens_ready_at(now)) deadline = std::min(deadline, *ready);
    for (auto& p : _table.parts()) {
      if (p->retry_at > now) deadline = std::min(deadline, p->retry_at);
    }
    return deadline;
  }

  void wait_until(steady::time_point deadline) {
    std::unique_lock lk(_wake_mutex);
    _wake_cv.wait_until(lk, deadline, [&] { return _wake || _stopping; });
  }

  std::vector<md::part*> all_parts() {
    std::vector<md::part*> v;
    for (auto& p : _table.parts()) v.push_back(p.get());
    v.push_back(&_gaps.target_part());
    return v;
  }

  // Tears the producer down. What was in flight has an unknown outcome: every partition is
  // resolved again from the cloud's tail before producing more.
  void tear_down_producer() {
    if (!_uplink.has_producer()) return;
    _uplink.purge();
    _targets.drop_handles();
    _uplink.destroy();
    auto parts = all_parts();
    for (auto* p : parts) {
      _sched.release(*p);
      p->resolved = false;
      p->failed = false;
      if (p->next > p->confirmed) p->next = p->confirmed;
    }
    _sched.forget_inflight(parts);
    _targets.reset_after_resync();
    _gaps.rewind();
  }

  void shut_down() {
    milliseconds timeout;
    {
      std::lock_guard lk(_wake_mutex);
      timeout = _flush_timeout;
    }
    if (_uplink.has_producer()) {
      if (_uplink.flush(timeout) == RD_KAFKA_RESP_ERR__TIMED_OUT) {
        _log->warn(
            "mirror: {} records still unconfirmed after {} ms; the next start resends what the "
            "cloud does not hold",
            _sched.inflight_records(), timeout.count());
      }
      _uplink.serve();
    }
    _table.commit_cursors();
    _gaps.mark_confirmed();
    tear_down_producer();
    _stopped_thread = true;
    publish_status();
    _log->info("mirror: stopped ({} records delivered)", _uplink.delivered_records());
  }

  void publish_status() {
    md::mirror_counters c{.inflight_bytes = _sched.inflight_bytes(),
                          .inflight_records = _sched.inflight_records(),
                          .delivered_records = _uplink.delivered_records(),
                          .delivered_bytes = _uplink.delivered_bytes(),
                          .resyncs = _uplink.resyncs(),
                          .reconnects = _uplink.reconnects()};
    _board.publish(md::snapshot(_started && !_stopped_thread, _uplink.link(), _targets.all(),
                                _table.parts(), c, steady::now()));
  }

  mirror_options _opts;
  storage::log_store& _store;
  std::shared_ptr<spdlog::logger> _log;
  md::status_board _board;

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
  std::map<md::partition_key, int64_t> _advanced;  // bounded by partition count
  bool _topic_deleted = false;
  std::optional<uint64_t> _new_bandwidth;  // set_bandwidth's, until the thread takes it
  std::atomic<uint64_t> _bandwidth{_opts.bandwidth_bytes_per_sec};

  // Everything below is owned by the mirror thread (and by start() before it runs).
  md::scheduler _sched;
  md::uplink _uplink;
  md::target_topics _targets;
  md::partition_table _table;
  md::gap_reporter _gaps;
  md::resume _resume;
  md::forwarder _forwarder;
  bool _stopped_thread = false;
};

mirror::mirror(mirror_options opts, storage::log_store& store, std::shared_ptr<spdlog::logger> log)
    : _impl(std::make_unique<impl>(std::move(opts), store, std::move(log))) {}
mirror::~mirror() = default;
result<void> mirror::start() { return _impl->start(); }
void mirror::stop(std::chrono::milliseconds flush_timeout) { _impl->stop(flush_timeout); }
mirror_status mirror::status() const { return _impl->status(); }
void mirror::set_bandwidth(uint64_t bytes_per_sec) { _impl->set_bandwidth(bytes_per_sec); }
uint64_t mirror::bandwidth() const { return _impl->bandwidth(); }

}  // namespace eb::bridge

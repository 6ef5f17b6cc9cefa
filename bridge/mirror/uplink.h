#pragma once
// The uplink: the librdkafka producer and its configuration, the link state (connected,
// unreachable, refusing, with the reason), librdkafka's callbacks, and the bookkeeping of delivery
// reports, which advance each partition's confirmed offset or mark it failed. A failure whose
// outcome is unknown requests a resync: the run loop then tears the producer down and every
// partition is resolved again from the cloud's tail.
//
// Everything runs on the mirror thread (librdkafka's callbacks inside poll/flush), except the
// queue event callback, which only calls `wake`.
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "bridge/mirror/kafka_client.h"
#include "bridge/mirror/link_meter.h"
#include "bridge/mirror/mirror_types.h"
#include "bridge/mirror/scheduler.h"
#include "bridge/mirror/status.h"

namespace spdlog {
class logger;
}

namespace eb::bridge::mirror_detail {

class uplink {
 public:
  // `stopping` silences resync requests once stop() began; `wake` is called from a librdkafka
  // thread when delivery reports wait to be served.
  uplink(const mirror_options& opts, scheduler& sched, status_board& board, spdlog::logger& log,
         const std::atomic<bool>& stopping, std::function<void()> wake);
  ~uplink();
  uplink(const uplink&) = delete;
  uplink& operator=(const uplink&) = delete;

  // Creates the producer and sets the scheduler's per-partition pipeline from its batch size.
  // Returns why librdkafka refused the configuration, empty if the producer was created.
  std::string create();
  bool has_producer() const { return _rk != nullptr; }
  rd_kafka_t* producer() const { return _rk.get(); }
  // Purges what the producer holds and serves the purge reports (the partitions are marked
  // failed). Target handles must be dropped between purge() and destroy().
  void purge();
  void destroy();
  // Serves delivery reports and error callbacks waiting in librdkafka's queue.
  void serve();
  rd_kafka_resp_err_t flush(milliseconds timeout);
  // For the short-lived consumers that read the cloud's tail: same servers, TLS and SASL.
  conf_ptr consumer_conf() const;

  // Hands one record to librdkafka with its provenance headers (a copy is made).
  rd_kafka_resp_err_t send_record(part& p, const net::decoded_batch& b, const net::record& r,
                                  int64_t offset);
  // Hands one gap report to librdkafka (partition 0 of the gaps part's target).
  rd_kafka_resp_err_t send_gap(part& gaps, const std::string& key, const std::string& json,
                               int64_t timestamp_ms, uint64_t gap_id);

  // Blocks p on a refusal: until a long, growing per-partition wait is over when `pause_long`,
  // else for retry_backoff_min. Each reason is logged once.
  void block(part& p, refusal r, bool pause_long);

  link_state link() const { return _link; }
  void set_link(link_state s, const std::string& why);
  // While every broker is down: a blocking probe that returns as soon as one is usable.
  void probe_if_due(steady::time_point now);
  steady::time_point next_probe() const { return _next_probe; }

  // Logged once per episode: the same failure repeating with backoff (until the cloud accepts)
  // is not news; a delivery success ends the episode.
  void request_resync(const std::string& why);
  bool resync_needed() const { return _resync_needed; }
  // The run loop tore the producer down.
  void resynced() {
    _resync_needed = false;
    _resyncs++;
  }
  std::string fatal_reason() const { return fatal_reason(_rk.get()); }
  // Paces producer re-creation and tail reads; reset by a successful delivery.
  backoff& retry_backoff() { return _backoff; }

  // The largest uplink batch this producer builds: max(batch.size, message.max.bytes plus one
  // record's framing). A cloud topic's max.message.bytes below it needs a batch budget.
  uint64_t largest_batch() const { return _largest_batch; }

  // What the bandwidth cap charges per record: fed by librdkafka's statistics (sent bytes) and
  // the delivery reports, when a cap is set.
  const link_meter& meter() const { return _meter; }

  uint64_t resyncs() const { return _resyncs; }
  uint64_t reconnects() const { return _reconnects; }
  uint64_t delivered_records() const { return _delivered_records; }
  uint64_t delivered_bytes() const { return _delivered_bytes; }

 private:
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque);
  static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  static void on_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf);
  static void on_queue_event(rd_kafka_t*, void* opaque);
  static int on_stats(rd_kafka_t*, char* json, size_t json_len, void* opaque);

  std::vector<std::pair<std::string, std::string>> common_properties() const;
  std::vector<std::pair<std::string, std::string>> producer_properties() const;
  void delivered(part& p, rd_kafka_resp_err_t err);
  // The broker refused p's record at `offset` for good: p is blocked before the resync, so that
  // the next producer does not get it again and the other partitions go on.
  void refused(part& p, const inflight_record& rec, rd_kafka_resp_err_t err);

  void confirmed(part& p, const inflight_record& rec);
  void client_error(rd_kafka_t* rk, rd_kafka_resp_err_t err, const char* reason);
  static std::string fatal_reason(rd_kafka_t* rk);

  const mirror_options& _opts;
  scheduler& _sched;
  status_board& _board;
  spdlog::logger& _log;
  const std::atomic<bool>& _stopping;
  std::function<void()> _wake;

  rk_ptr _rk;
  backoff _backoff;
  link_state _link = link_state::connecting;
  steady::time_point _next_probe{};
  uint64_t _probes = 0;
  bool _resync_needed = false;
  bool _resync_episode = false;
  uint64_t _resyncs = 0;
  uint64_t _reconnects = 0;
  bool _ever_connected = false;
  uint64_t _largest_batch = 1'000'000;
  uint64_t _delivered_records = 0;
  uint64_t _delivered_bytes = 0;
  link_meter _meter;
};

}  // namespace eb::bridge::mirror_detail

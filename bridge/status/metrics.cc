// /metrics: the Prometheus text format (0.0.4) of a status snapshot, one family after another.
#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <string>

#include "bridge/status/downlink_render.h"
#include "bridge/status/snapshot.h"
#include "bridge/status/writers.h"
#include "net/messages/api.h"

namespace eb::bridge {
namespace {

using status_detail::prom_writer;

// Per topic produce/fetch counters.
void topic_traffic_metrics(prom_writer& m, const status_snapshot& s) {
  auto topic_family = [&](std::string_view name, std::string_view help,
                          const std::atomic<uint64_t> topic_traffic::*field) {
    m.family(name, "counter", help);
    for (auto& t : s.topics) {
      if (!t.traffic) continue;
      m.sample(name, {{"topic", t.name}},
               static_cast<double>((t.traffic->*field).load(std::memory_order_relaxed)));
    }
  };
  topic_family("edgebridge_produce_requests_total", "Produce requests naming the topic.",
               &topic_traffic::produce_requests);
  topic_family("edgebridge_produce_records_total", "Records stored by produce requests.",
               &topic_traffic::produce_records);
  topic_family("edgebridge_produce_bytes_total", "Record batch bytes stored by produce requests.",
               &topic_traffic::produce_bytes);
  topic_family("edgebridge_produce_refused_partitions_total",
               "Produce partitions answered with an error (records not stored).",
               &topic_traffic::produce_refused);
  topic_family("edgebridge_fetch_requests_total", "Fetch requests naming the topic.",
               &topic_traffic::fetch_requests);
  topic_family("edgebridge_fetch_records_total", "Records handed out by fetch responses.",
               &topic_traffic::fetch_records);
  topic_family("edgebridge_fetch_bytes_total", "Record batch bytes handed out by fetch responses.",
               &topic_traffic::fetch_bytes);
}

// Per API request latency histograms.
void request_metrics(prom_writer& m, const traffic_registry& traffic) {
  m.family("edgebridge_request_duration_seconds", "histogram",
           "Kafka request handling time, from decoding to the encoded response.");
  for (int16_t key = 0; key < static_cast<int16_t>(traffic_registry::max_api_keys); ++key) {
    auto* h = traffic.request_latency(key);
    if (!h) continue;
    auto* info = net::find_api(key);
    const std::string api = info ? std::string(info->name) : std::to_string(key);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < latency_buckets.size(); ++i) {
      cumulative += h->counts[i].load(std::memory_order_relaxed);
      m.sample("edgebridge_request_duration_seconds_bucket",
               {{"api", api}, {"le", fmt::format("{}", latency_buckets[i])}},
               static_cast<double>(cumulative));
    }
    const uint64_t count = h->count.load(std::memory_order_relaxed);
    m.sample("edgebridge_request_duration_seconds_bucket", {{"api", api}, {"le", "+Inf"}},
             static_cast<double>(count));
    m.sample("edgebridge_request_duration_seconds_sum", {{"api", api}},
             static_cast<double>(h->sum_ns.load(std::memory_order_relaxed)) / 1e9);
    m.sample("edgebridge_request_duration_seconds_count", {{"api", api}},
             static_cast<double>(count));
  }
}

// Disk against quota, the storage writer and RocksDB.
void storage_metrics(prom_writer& m, const status_snapshot& s) {
  m.one("edgebridge_disk_used_bytes", "gauge", "Approximate bytes of log data on disk.",
        static_cast<double>(s.usage.log_bytes));
  m.one("edgebridge_disk_quota_bytes", "gauge", "storage.max_disk_bytes; 0 = no quota.",
        static_cast<double>(s.disk_quota_bytes));
  m.one("edgebridge_disk_unmirrored_bytes", "gauge",
        "Approximate bytes stored above the mirror cursors.",
        static_cast<double>(s.usage.unmirrored_bytes));
  m.one("edgebridge_dropped_records_total", "counter",
        "Records dropped by the quota policy drop-oldest (each range reported as a gap).",
        static_cast<double>(s.usage.dropped_records));

  const auto& st = s.storage;
  m.one("edgebridge_storage_queued_appends", "gauge",
        "Append requests waiting for the storage writer.", static_cast<double>(st.queued_appends));
  m.one("edgebridge_storage_queued_bytes", "gauge", "Bytes of appends waiting for the writer.",
        static_cast<double>(st.queued_bytes));
  m.one("edgebridge_storage_group_commits_total", "counter", "Groups of appends written.",
        static_cast<double>(st.group_commits));
  m.one("edgebridge_storage_group_commit_records_total", "counter",
        "Records appended by those groups (divide by group commits: records per commit).",
        static_cast<double>(st.group_commit_records));
  m.family("edgebridge_storage_sync_duration_seconds", "histogram",
           "Synced RocksDB writes and WAL syncs (fsync).");
  {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < storage::sync_latency_bounds_us.size(); ++i) {
      cumulative += st.sync_latency_counts[i];
      m.sample("edgebridge_storage_sync_duration_seconds_bucket",
               {{"le", fmt::format("{}", storage::sync_latency_bounds_us[i] / 1e6)}},
               static_cast<double>(cumulative));
    }
    cumulative += st.sync_latency_counts.back();
    m.sample("edgebridge_storage_sync_duration_seconds_bucket", {{"le", "+Inf"}},
             static_cast<double>(cumulative));
    m.sample("edgebridge_storage_sync_duration_seconds_sum", {},
             static_cast<double>(st.sync_latency_sum_us) / 1e6);
    m.sample("edgebridge_storage_sync_duration_seconds_count", {}, static_cast<double>(cumulative));
  }
  m.one("edgebridge_rocksdb_live_sst_bytes", "gauge", "RocksDB rocksdb.live-sst-files-size.",
        static_cast<double>(st.live_sst_bytes));
  m.one("edgebridge_rocksdb_memtable_bytes", "gauge", "RocksDB rocksdb.cur-size-all-mem-tables.",
        static_cast<double>(st.memtable_bytes));
  m.one("edgebridge_rocksdb_write_stalls_total", "counter",
        "RocksDB write stops and slowdowns (cfstats io_stalls).",
        static_cast<double>(st.write_stalls));
  m.one("edgebridge_rocksdb_write_stopped", "gauge", "1 while RocksDB stops writes.",
        st.write_stopped ? 1 : 0);
}

// Per partition offsets, backlog and mirror state; per topic drain rate.
void partition_metrics(prom_writer& m, const status_snapshot& s) {
  auto partition_family = [&](std::string_view name, std::string_view help, auto value,
                              bool mirrored_only) {
    m.family(name, "gauge", help);
    for (auto& p : s.partitions) {
      if (mirrored_only && !p.uplink) continue;
      m.sample(name, {{"topic", p.topic}, {"partition", std::to_string(p.partition)}}, value(p));
    }
  };
  using prow = status_snapshot::partition;
  partition_family(
      "edgebridge_partition_high_watermark", "Local end offset: one past the last stored record.",
      [](const prow& p) { return static_cast<double>(p.high_watermark); }, false);
  partition_family(
      "edgebridge_partition_log_start_offset", "First offset still stored locally.",
      [](const prow& p) { return static_cast<double>(p.log_start); }, false);
  partition_family(
      "edgebridge_partition_confirmed_offset",
      "Every record below it is confirmed by the cloud; -1 while unknown.",
      [](const prow& p) { return static_cast<double>(p.uplink->confirmed_offset); }, true);
  partition_family(
      "edgebridge_partition_backlog_records", "Records stored and not yet confirmed by the cloud.",
      [](const prow& p) { return static_cast<double>(p.uplink->backlog_records); }, true);
  partition_family(
      "edgebridge_partition_backlog_bytes", "Estimated bytes not yet confirmed by the cloud.",
      [](const prow& p) { return static_cast<double>(p.uplink->backlog_bytes); }, true);
  partition_family(
      "edgebridge_partition_oldest_unmirrored_age_seconds",
      "Age of the oldest record not yet in the cloud (0 when none).",
      [](const prow& p) { return std::max(0.0, p.oldest_unmirrored_age_s); }, true);
  m.family("edgebridge_partition_mirror_state", "gauge",
           "1 for the partition's current mirror state, with the mirror's reason.");
  for (auto& p : s.partitions) {
    if (!p.uplink) continue;
    m.sample("edgebridge_partition_mirror_state",
             {{"topic", p.topic},
              {"partition", std::to_string(p.partition)},
              {"state", p.uplink->state},
              {"reason", p.uplink->reason}},
             1);
  }
  m.family("edgebridge_topic_drain_rate_bytes_per_second", "gauge",
           "Bytes confirmed by the cloud per second, over about the last minute.");
  for (auto& t : s.topics) {
    if (s.uplink)
      m.sample("edgebridge_topic_drain_rate_bytes_per_second", {{"topic", t.name}}, t.drain_rate);
  }
}

// The uplink, gaps, connections, readiness and the process.
void uplink_and_process_metrics(prom_writer& m, const status_snapshot& s) {
  m.family("edgebridge_uplink_state", "gauge", "1 for the uplink's current state.");
  static constexpr std::string_view states[] = {"off",       "stopped",      "connecting",
                                                "connected", "disconnected", "refusing"};
  const std::string current = s.uplink ? s.uplink->state : "off";
  for (auto st : states) {
    m.sample("edgebridge_uplink_state", {{"state", std::string(st)}}, st == current ? 1 : 0);
  }
  if (s.uplink) {
    m.one("edgebridge_uplink_resyncs_total", "counter",
          "Resume points re-read from the cloud after an unknown outcome.",
          static_cast<double>(s.uplink->resyncs));
    m.one("edgebridge_uplink_reconnects_total", "counter",
          "Connections to the cloud after the first (outages, refusals, resyncs).",
          static_cast<double>(s.uplink->reconnects));
    m.one("edgebridge_uplink_gaps_total", "counter", "Gaps reported to the cloud.",
          static_cast<double>(s.uplink->gaps_reported));
    m.one("edgebridge_uplink_delivered_records_total", "counter",
          "Records confirmed by the cloud since start.",
          static_cast<double>(s.uplink->delivered_records));
    m.one("edgebridge_uplink_delivered_bytes_total", "counter",
          "Bytes confirmed by the cloud since start.",
          static_cast<double>(s.uplink->delivered_bytes));
    m.one("edgebridge_uplink_inflight_bytes", "gauge", "Bytes handed to the producer, unconfirmed.",
          static_cast<double>(s.uplink->inflight_bytes));
  }
  m.one("edgebridge_gaps_recent", "gauge", "Gap ledger entries listed by /v1/status (at most 20).",
        static_cast<double>(s.gaps.size()));
  m.one("edgebridge_connections", "gauge", "Open Kafka client connections.",
        static_cast<double>(s.connections));
  m.one("edgebridge_ready", "gauge", "1 when /readyz answers 200.", s.listening ? 1 : 0);
  m.one("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
        static_cast<double>(s.process.rss_bytes));
  m.one("process_cpu_seconds_total", "counter", "Total user and system CPU time in seconds.",
        s.process.cpu_seconds);
}

}  // namespace

std::string render_metrics(const status_snapshot& s, const traffic_registry& traffic) {
  prom_writer m;
  topic_traffic_metrics(m, s);
  request_metrics(m, traffic);
  storage_metrics(m, s);
  partition_metrics(m, s);
  uplink_and_process_metrics(m, s);
  status_detail::downlink_metrics(m, s);
  return m.take();
}

}  // namespace eb::bridge

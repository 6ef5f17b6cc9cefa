// /v1/status: the JSON the status page and `edgebridge status` show, from a status snapshot.
#include <string>

#include "bridge/status/downlink_render.h"
#include "bridge/status/snapshot.h"
#include "bridge/status/writers.h"

namespace eb::bridge {
namespace {

using status_detail::json_writer;

// Site, readiness, process, disk and the storage writer.
void overview_json(json_writer& w, const status_snapshot& s) {
  w.str("site_id", s.site_id)
      .num("time_ms", s.time_ms)
      .dbl("uptime_s", s.uptime_s)
      .boolean("ready", s.listening)
      .unum("connections", s.connections);
  w.open("process")
      .unum("rss_bytes", s.process.rss_bytes)
      .dbl("cpu_seconds", s.process.cpu_seconds);
  w.close();
  w.open("disk")
      .unum("used_bytes", s.usage.log_bytes)
      .unum("quota_bytes", s.disk_quota_bytes)
      .unum("unmirrored_bytes", s.usage.unmirrored_bytes)
      .unum("dropped_records", s.usage.dropped_records)
      .close();
  w.open("storage")
      .unum("queued_appends", s.storage.queued_appends)
      .unum("group_commits", s.storage.group_commits)
      .unum("group_commit_records", s.storage.group_commit_records)
      .unum("live_sst_bytes", s.storage.live_sst_bytes)
      .unum("memtable_bytes", s.storage.memtable_bytes)
      .unum("write_stalls", s.storage.write_stalls)
      .close();
}

void uplink_json(json_writer& w, const status_snapshot& s) {
  w.open("uplink");
  if (s.uplink) {
    w.boolean("configured", true)
        .str("state", s.uplink->state)
        .str("last_error", s.uplink->last_error)
        .unum("resyncs", s.uplink->resyncs)
        .unum("reconnects", s.uplink->reconnects)
        .unum("gaps_reported", s.uplink->gaps_reported)
        .unum("delivered_records", s.uplink->delivered_records)
        .unum("delivered_bytes", s.uplink->delivered_bytes)
        .unum("inflight_bytes", s.uplink->inflight_bytes);
  } else {
    w.boolean("configured", false).str("state", "off");
  }
  w.close();
}

// Per topic backlog, drain rate, time to drain and traffic; the totals.
void topics_json(json_writer& w, const status_snapshot& s) {
  int64_t total_backlog = 0;
  uint64_t total_backlog_bytes = 0;
  w.open_array("topics");
  for (auto& t : s.topics) {
    total_backlog += t.backlog_records;
    total_backlog_bytes += t.backlog_bytes;
    w.open()
        .str("name", t.name)
        .num("partitions", t.partitions)
        .num("priority", t.priority)
        .num("end_offsets", t.end_offsets)
        .num("backlog_records", t.backlog_records)
        .unum("backlog_bytes", t.backlog_bytes)
        .dbl("drain_rate_bytes_per_s", t.drain_rate);
    if (t.backlog_records == 0) {
      w.dbl("eta_s", 0);
    } else if (t.drain_rate > 0 && t.backlog_bytes > 0) {
      w.dbl("eta_s", static_cast<double>(t.backlog_bytes) / t.drain_rate);
    } else {
      w.null("eta_s");  // not draining: no estimate
    }
    auto count = [&](const std::atomic<uint64_t> topic_traffic::*m) {
      return t.traffic ? (t.traffic->*m).load(std::memory_order_relaxed) : 0;
    };
    w.unum("produce_requests", count(&topic_traffic::produce_requests))
        .unum("produce_records", count(&topic_traffic::produce_records))
        .unum("produce_bytes", count(&topic_traffic::produce_bytes))
        .unum("produce_refused", count(&topic_traffic::produce_refused))
        .unum("fetch_requests", count(&topic_traffic::fetch_requests))
        .unum("fetch_records", count(&topic_traffic::fetch_records))
        .unum("fetch_bytes", count(&topic_traffic::fetch_bytes))
        .close();
  }
  w.close();
  w.num("backlog_records", total_backlog).unum("backlog_bytes", total_backlog_bytes);
}

void partitions_json(json_writer& w, const status_snapshot& s) {
  w.open_array("partitions");
  for (auto& p : s.partitions) {
    w.open()
        .str("topic", p.topic)
        .num("partition", p.partition)
        .num("log_start", p.log_start)
        .num("high_watermark", p.high_watermark);
    if (p.uplink) {
      w.str("state", p.uplink->state)
          .str("reason", p.uplink->reason)
          .str("target_topic", p.uplink->target_topic)
          .num("confirmed_offset", p.uplink->confirmed_offset)
          .num("backlog_records", p.uplink->backlog_records)
          .unum("backlog_bytes", p.uplink->backlog_bytes);
    } else {
      w.str("state", s.uplink ? "not-mirrored" : "mirror-off")
          .str("reason", "")
          .num("confirmed_offset", -1)
          .num("backlog_records", 0)
          .unum("backlog_bytes", 0);
    }
    if (p.oldest_unmirrored_age_s >= 0) {
      w.dbl("oldest_unmirrored_age_s", p.oldest_unmirrored_age_s);
    } else {
      w.null("oldest_unmirrored_age_s");
    }
    w.close();
  }
  w.close();
}

// Recent gaps and refused records, and the backlog history of the chart.
void events_json(json_writer& w, const status_snapshot& s) {
  w.open_array("gaps");
  for (auto& g : s.gaps) {
    w.open()
        .unum("id", g.id)
        .str("topic", g.topic)
        .num("partition", g.partition)
        .num("first_offset", g.first_offset)
        .num("last_offset", g.last_offset)
        .str("reason", g.reason)
        .num("time_ms", g.timestamp_ms)
        .close();
  }
  w.close();
  w.unum("refused_total", s.refusals_total);
  w.open_array("refused");
  for (auto& r : s.refusals) {
    w.open()
        .num("time_ms", r.time_ms)
        .str("topic", r.topic)
        .num("partition", r.partition)
        .str("peer", r.peer)
        .str("reason", r.reason)
        .close();
  }
  w.close();
  w.num("sample_interval_ms", s.sample_interval_ms);
  w.open_array("history");
  for (auto& h : s.samples) {
    w.open()
        .num("time_ms", h.time_ms)
        .num("backlog_records", h.backlog_records)
        .unum("backlog_bytes", h.backlog_bytes)
        .close();
  }
  w.close();
}

}  // namespace

std::string render_status_json(const status_snapshot& s) {
  json_writer w;
  w.open();
  overview_json(w, s);
  uplink_json(w, s);
  status_detail::downlink_json(w, s);
  topics_json(w, s);
  partitions_json(w, s);
  events_json(w, s);
  w.close();
  return w.take();
}

}  // namespace eb::bridge

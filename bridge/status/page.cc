#include "bridge/status/page.h"

namespace eb::bridge {

namespace {

// Plain DOM and an inline SVG chart: nothing to fetch but /v1/status.
constexpr std::string_view page = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edgebridge status</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 1.2em; background: #f6f7f9; color: #1c1e21; }
  h1 { font-size: 1.4em; margin: 0 0 .6em 0; }
  h2 { font-size: 1.05em; margin: 1.2em 0 .4em 0; }
  .cards { display: flex; flex-wrap: wrap; gap: .8em; }
  .card { background: #fff; border-radius: 8px; padding: .7em 1em; min-width: 11em;
          box-shadow: 0 1px 3px rgba(0,0,0,.12); }
  .card .label { font-size: .8em; color: #606770; text-transform: uppercase; }
  .card .value { font-size: 1.6em; font-weight: 600; }
  .ok { color: #1a7f37; } .warn { color: #9a6700; } .bad { color: #cf222e; }
  table { border-collapse: collapse; background: #fff; width: 100%;
          box-shadow: 0 1px 3px rgba(0,0,0,.12); }
  th, td { text-align: left; padding: .35em .7em; border-bottom: 1px solid #e4e6eb; }
  th { font-size: .8em; color: #606770; text-transform: uppercase; }
  td.n { text-align: right; font-variant-numeric: tabular-nums; }
  .bar { background: #e4e6eb; border-radius: 4px; height: 14px; width: 100%; }
  .bar > div { height: 14px; border-radius: 4px; background: #1f6feb; }
  #chart { background: #fff; box-shadow: 0 1px 3px rgba(0,0,0,.12); width: 100%; height: 180px; }
  .muted { color: #606770; font-size: .85em; }
</style>
</head>
<body>
<h1>edgebridge <span id="site"></span></h1>
<div class="cards">
  <div class="card"><div class="label">Uplink to cloud</div><div class="value" id="uplink">…</div>
    <div class="muted" id="uplink-error"></div></div>
  <div class="card"><div class="label">Downlink from cloud</div><div class="value" id="downlink">…</div>
    <div class="muted" id="downlink-lag"></div></div>
  <div class="card"><div class="label">Waiting for cloud</div><div class="value" id="backlog">…</div>
    <div class="muted" id="backlog-bytes"></div></div>
  <div class="card"><div class="label">Disk</div><div class="value" id="disk">…</div>
    <div class="bar"><div id="disk-bar" style="width:0%"></div></div></div>
  <div class="card"><div class="label">Connected clients</div><div class="value" id="clients">…</div></div>
  <div class="card"><div class="label">Gaps / refused</div><div class="value" id="problems">…</div></div>
</div>
<h2>Backlog per topic</h2>
<table><thead><tr><th>Topic</th><th>Records waiting</th><th>Bytes waiting</th>
  <th>Drain rate</th><th>Time to drain</th><th>Stored</th><th>Produced</th></tr></thead>
  <tbody id="topics"></tbody></table>
<h2>Backlog, last hour <span class="muted" id="chart-scale"></span></h2>
<svg id="chart" viewBox="0 0 600 180" preserveAspectRatio="none"></svg>
<h2>Partitions</h2>
<table><thead><tr><th>Topic</th><th>Partition</th><th>State</th><th>Local end</th>
  <th>In cloud below</th><th>Waiting</th><th>Oldest waiting</th></tr></thead>
  <tbody id="partitions"></tbody></table>
<h2>Downlink</h2>
<table><thead><tr><th>Cloud topic</th><th>Partition</th><th>Local topic</th><th>State</th>
  <th>Copied below</th><th>Cloud end</th><th>Lag</th></tr></thead>
  <tbody id="downlink-partitions"></tbody></table>
<h2>Recent gaps</h2>
<table><thead><tr><th>When</th><th>Topic</th><th>Partition</th><th>Offsets</th><th>Reason</th></tr>
  </thead><tbody id="gaps"></tbody></table>
<h2>Recently refused records</h2>
<table><thead><tr><th>When</th><th>Topic</th><th>Partition</th><th>Client</th><th>Reason</th></tr>
  </thead><tbody id="refused"></tbody></table>
<p class="muted" id="updated">Waiting for the first status…</p>
<script>
"use strict";
function $(id) { return document.getElementById(id); }
function bytes(n) {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : String(n)) + " " + units[i];
}
function count(n) { return Number(n).toLocaleString("en-US"); }
function duration(s) {
  if (s === null || s === undefined) return "not draining";
  if (s < 1) return "now";
  if (s < 90) return Math.round(s) + " s";
  if (s < 5400) return Math.round(s / 60) + " min";
  if (s < 172800) return (s / 3600).toFixed(1) + " h";
  return (s / 86400).toFixed(1) + " days";
}
function when(ms) { return new Date(ms).toLocaleString(); }
function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}
function rows(id, items, toCells, empty) {
  const body = $(id);
  body.replaceChildren();
  if (!items.length) {
    const tr = document.createElement("tr");
    const td = cell(empty, "muted");
    td.colSpan = 8;
    tr.appendChild(td);
    body.appendChild(tr);
    return;
  }
  for (const it of items) {
    const tr = document.createElement("tr");
    for (const td of toCells(it)) tr.appendChild(td);
    body.appendChild(tr);
  }
}
const uplinkClass = { connected: "ok", off: "muted", connecting: "warn", disconnected: "bad",
                      refusing: "bad", stopped: "bad" };
function chart(history, now) {
  const svg = $("chart");
  const w = 600, h = 180, pad = 4;
  // The samples (one per sample_interval) and the backlog right now.
  const pts = history.slice(-360).concat([now]);
  const max = Math.max(1, ...pts.map(p => p.backlog_records));
  const t0 = pts.length ? pts[0].time_ms : 0, t1 = pts.length ? pts[pts.length - 1].time_ms : 1;
  const x = t => pad + (w - 2 * pad) * (t1 > t0 ? (t - t0) / (t1 - t0) : 1);
  const y = v => h - pad - (h - 2 * pad) * v / max;
  const line = pts.map(p => x(p.time_ms).toFixed(1) + "," + y(p.backlog_records).toFixed(1));
  svg.innerHTML = '<polyline fill="none" stroke="#1f6feb" stroke-width="2" ' +
      'vector-effect="non-scaling-stroke" points="' + line.join(" ") + '"/>';
  $("chart-scale").textContent = "(top of chart: " + count(max) + " records, since " +
      new Date(pts[0].time_ms).toLocaleTimeString() + ")";
}
function render(s) {
  $("site").textContent = s.site_id;
  const up = s.uplink.state;
  $("uplink").textContent = up;
  $("uplink").className = "value " + (uplinkClass[up] || "");
  $("uplink-error").textContent = s.uplink.last_error || "";
  const down = s.downlink.state;
  $("downlink").textContent = down;
  $("downlink").className = "value " + (uplinkClass[down] || (down === "paused" ? "warn" : ""));
  $("downlink-lag").textContent = s.downlink.configured
      ? count(s.downlink.lag_records) + " records behind" + (s.downlink.last_error ? "; " +
        s.downlink.last_error : "") : "";
  rows("downlink-partitions", s.downlink.partitions || [], p => [cell(p.cloud_topic),
      cell(p.partition, "n"), cell(p.topic), cell(p.state + (p.error ? " (" + p.error + ")" : "")),
      cell(p.cursor < 0 ? "–" : count(p.cursor), "n"),
      cell(p.cloud_high_watermark < 0 ? "unknown" : count(p.cloud_high_watermark), "n"),
      cell(p.lag < 0 ? "unknown" : count(p.lag), "n")],
      s.downlink.configured ? "No cloud topic matched yet" : "Downlink off");
  $("backlog").textContent = count(s.backlog_records) + " records";
  $("backlog-bytes").textContent = bytes(s.backlog_bytes);
  const quota = s.disk.quota_bytes;
  $("disk").textContent = bytes(s.disk.used_bytes) + (quota ? " of " + bytes(quota) : "");
  const pct = quota ? Math.min(100, 100 * s.disk.used_bytes / quota) : 0;
  $("disk-bar").style.width = pct.toFixed(1) + "%";
  $("disk-bar").style.background = pct > 90 ? "#cf222e" : pct > 70 ? "#bf8700" : "#1f6feb";
  $("clients").textContent = s.connections;
  $("problems").textContent = s.gaps.length + " / " + s.refused_total;
  rows("topics", s.topics, t => [cell(t.name), cell(count(t.backlog_records), "n"),
      cell(bytes(t.backlog_bytes), "n"), cell(bytes(Math.round(t.drain_rate_bytes_per_s)) + "/s", "n"),
      cell(s.uplink.configured ? duration(t.eta_s) : "mirror off"), cell(count(t.end_offsets), "n"),
      cell(count(t.produce_records), "n")], "No topics yet");
  rows("partitions", s.partitions, p => [cell(p.topic), cell(p.partition, "n"),
      cell(p.state + (p.reason ? " (" + p.reason + ")" : "")), cell(count(p.high_watermark), "n"),
      cell(p.confirmed_offset < 0 ? "unknown" : count(p.confirmed_offset), "n"),
      cell(count(p.backlog_records), "n"),
      cell(p.oldest_unmirrored_age_s === null ? "–" : duration(p.oldest_unmirrored_age_s))],
      "No partitions yet");
  rows("gaps", s.gaps.slice().reverse(), g => [cell(when(g.time_ms)), cell(g.topic),
      cell(g.partition, "n"), cell(g.first_offset + "–" + g.last_offset), cell(g.reason)],
      "No gaps: nothing was dropped");
  rows("refused", s.refused.slice().reverse(), r => [cell(when(r.time_ms)), cell(r.topic),
      cell(r.partition, "n"), cell(r.peer), cell(r.reason)], "Nothing refused");
  chart(s.history, { time_ms: s.time_ms, backlog_records: s.backlog_records });
  $("updated").textContent = "Updated " + new Date(s.time_ms).toLocaleTimeString();
}
async function poll() {
  try {
    const r = await fetch("/v1/status", { cache: "no-store" });
    render(await r.json());
  } catch (e) {
    $("updated").textContent = "Cannot reach the gateway: " + e;
    $("updated").className = "bad";
  }
}
poll();
setInterval(poll, 2000);
</script>
</body>
</html>
)html";

}  // namespace

std::string_view status_page_html() { return page; }

}  // namespace eb::bridge

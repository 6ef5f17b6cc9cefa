#include "bridge/status/status.h"

#include <spdlog/fmt/fmt.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include "bridge/status/page.h"
#include "common/batch_header.h"
#include "common/json.h"
#include "net/messages/api.h"

namespace eb::bridge {

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct process_usage {
  uint64_t rss_bytes = 0;
  double cpu_seconds = 0;
};

// From /proc/self: resident pages (statm) and user + system CPU ticks (stat fields 14 and 15).
process_usage read_process_usage() {
  process_usage u;
  const long page = sysconf(_SC_PAGESIZE);
  const long ticks = sysconf(_SC_CLK_TCK);
  if (std::ifstream statm("/proc/self/statm"); statm) {
    uint64_t size = 0, resident = 0;
    statm >> size >> resident;
    u.rss_bytes = resident * static_cast<uint64_t>(page);
  }
  if (std::ifstream stat("/proc/self/stat"); stat) {
    std::string line;
    std::getline(stat, line);
    // The command name (field 2) may hold spaces: fields are counted after its closing ')'.
    auto close = line.rfind(')');
    if (close != std::string::npos && ticks > 0) {
      std::istringstream rest(line.substr(close + 2));
      std::string field;
      uint64_t utime = 0, stime = 0;
      for (int i = 3; i <= 15 && rest >> field; ++i) {
        if (i == 14) utime = std::stoull(field);
        if (i == 15) stime = std::stoull(field);
      }
      u.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(ticks);
    }
  }
  return u;
}

// Prometheus label values escape backslash, double quote and newline.
std::string label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

using labels = std::vector<std::pair<std::string_view, std::string>>;

// Prometheus text format 0.0.4: one HELP and TYPE per family, then its samples.
class prom_writer {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    _out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void sample(std::string_view name, const labels& ls, double value) {
    _out += name;
    if (!ls.empty()) {
      _out += '{';
      for (size_t i = 0; i < ls.size(); ++i) {
        if (i) _out += ',';
        _out += fmt::format("{}=\"{}\"", ls[i].first, label_value(ls[i].second));
      }
      _out += '}';
    }
    _out += fmt::format(" {}\n", value);
  }
  void one(std::string_view name, std::string_view type, std::string_view help, double value) {
    family(name, type, help);
    sample(name, {}, value);
  }
  std::string take() { return std::move(_out); }

 private:
  std::string _out;
};

void json_key(std::string& out, std::string_view key) {
  append_json_string(out, key);
  out += ':';
}

// A small JSON object writer: commas are its job.
class json_writer {
 public:
  json_writer& open(std::string_view key = {}) { return begin(key, '{'); }
  json_writer& open_array(std::string_view key = {}) { return begin(key, '['); }
  json_writer& close() {
    _out += _stack.back();
    _stack.pop_back();
    _first = false;
    return *this;
  }
  json_writer& str(std::string_view key, std::string_view v) {
    sep(key);
    append_json_string(_out, v);
    return *this;
  }
  json_writer& num(std::string_view key, int64_t v) {
    sep(key);
    _out += std::to_string(v);
    return *this;
  }
  json_writer& unum(std::string_view key, uint64_t v) {
    sep(key);
    _out += std::to_string(v);
    return *this;
  }
  json_writer& dbl(std::string_view key, double v) {
    sep(key);
    _out += std::isfinite(v) ? fmt::format("{:.3f}", v) : "null";
    return *this;
  }
  json_writer& boolean(std::string_view key, bool v) {
    sep(key);
    _out += v ? "true" : "false";
    return *this;
  }
  json_writer& null(std::string_view key) {
    sep(key);
    _out += "null";
    return *this;
  }
  std::string take() { return std::move(_out); }

 private:
  json_writer& begin(std::string_view key, char c) {
    sep(key);
    _out += c;
    _stack.push_back(c == '{' ? '}' : ']');
    _first = true;
    return *this;
  }
  void sep(std::string_view key) {
    if (!_first) _out += ',';
    _first = false;
    if (!key.empty()) json_key(_out, key);
  }
  std::string _out;
  std::string _stack;
  bool _first = true;
};

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec == std::errc() && p == s.data() + i + 3) {
        out += static_cast<char>(v);
        i += 2;
        continue;
      }
    }
    out += s[i] == '+' ? ' ' : s[i];
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    auto amp = q.find('&');
    auto part = q.substr(0, amp);
    auto eq = part.find('=');
    if (eq != std::string_view::npos) {
      out[percent_decode(part.substr(0, eq))] = percent_decode(part.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

template <class Int>
std::optional<Int> to_int(const std::string& s) {
  Int v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

net::http_response json_response(int status, std::string body) {
  return {.status = status, .content_type = "application/json", .body = std::move(body)};
}

net::http_response text_response(int status, std::string body) {
  return {.status = status, .body = std::move(body)};
}

}  // namespace

struct status_service::snapshot {
  struct partition {
    std::string topic;
    int32_t partition = 0;
    int64_t log_start = 0;
    int64_t high_watermark = 0;
    const uplink_partition* uplink = nullptr;
    // Seconds since the oldest record not yet in the cloud was written; -1 when none.
    double oldest_unmirrored_age_s = -1;
  };
  struct topic {
    std::string name;
    int32_t partitions = 0;
    int32_t priority = 0;
    int64_t end_offsets = 0;  // sum of high watermarks: records ever stored
    int64_t backlog_records = 0;
    uint64_t backlog_bytes = 0;
    double drain_rate = 0;  // bytes/s
    const topic_traffic* traffic = nullptr;
  };
  int64_t time_ms = 0;
  std::vector<partition> partitions;
  std::vector<topic> topics;
  storage::usage usage;
  storage::stats storage;
  std::optional<uplink_view> uplink;
  std::vector<storage::gap> gaps;
  std::vector<refusal> refusals;
  size_t connections = 0;
  bool listening = false;
  process_usage process;
  std::vector<sample> samples;
};

status_service::status_service(status_sources src) : _src(std::move(src)) {}

status_service::~status_service() { stop(); }

void status_service::start() {
  record_sample();
  _sampler = std::thread([this] {
    std::unique_lock lock(_mutex);
    while (!_wake.wait_for(lock, _src.sample_interval, [this] { return _stopping; })) {
      lock.unlock();
      record_sample();
      lock.lock();
    }
  });
}

void status_service::stop() {
  {
    std::lock_guard lock(_mutex);
    _stopping = true;
  }
  _wake.notify_all();
  if (_sampler.joinable()) _sampler.join();
}

void status_service::record_sample() {
  sample s;
  s.time_ms = now_ms();
  if (_src.uplink) {
    if (auto u = _src.uplink()) {
      for (auto& p : u->partitions) {
        s.backlog_records += p.backlog_records;
        s.backlog_bytes += p.backlog_bytes;
        s.delivered_bytes[p.topic] += p.delivered_bytes;
      }
    }
  }
  std::lock_guard lock(_mutex);
  // The drain rate is taken over about the last minute of samples.
  constexpr size_t window = 6;
  if (!_samples.empty()) {
    auto& from = _samples.size() >= window ? _samples[_samples.size() - window] : _samples.front();
    const double dt = static_cast<double>(s.time_ms - from.time_ms) / 1000.0;
    if (dt > 0) {
      for (auto& [topic, bytes] : s.delivered_bytes) {
        auto it = from.delivered_bytes.find(topic);
        const uint64_t before = it == from.delivered_bytes.end() ? 0 : it->second;
        _drain_rate[topic] = bytes >= before ? static_cast<double>(bytes - before) / dt : 0.0;
      }
    }
  }
  _samples.push_back(std::move(s));
  while (_samples.size() > _src.max_samples) _samples.pop_front();
}

status_service::snapshot status_service::take_snapshot() {
  snapshot s;
  s.time_ms = now_ms();
  if (_src.uplink) s.uplink = _src.uplink();
  s.usage = _src.store.current_usage();
  s.storage = _src.store.current_stats();
  s.connections = _src.connections ? _src.connections() : 0;
  s.listening = _src.listening && _src.listening();
  s.process = read_process_usage();
  s.refusals = _src.traffic.recent_refusals();
  std::map<std::pair<std::string, int32_t>, const uplink_partition*> mirrored;
  if (s.uplink) {
    for (auto& p : s.uplink->partitions) mirrored[{p.topic, p.partition}] = &p;
  }
  std::map<std::string, const topic_traffic*> traffic;
  for (auto& [name, t] : _src.traffic.topics()) traffic[name] = t;
  {
    std::lock_guard lock(_mutex);
    s.samples.assign(_samples.begin(), _samples.end());
    for (auto& info : _src.store.topics()) {
      auto& t = s.topics.emplace_back();
      t.name = info.name;
      t.partitions = info.config.partitions;
      t.priority = info.config.priority;
      if (auto it = _drain_rate.find(info.name); it != _drain_rate.end()) t.drain_rate = it->second;
      if (auto it = traffic.find(info.name); it != traffic.end()) t.traffic = it->second;
    }
  }
  for (auto& t : s.topics) {
    for (int32_t p = 0; p < t.partitions; ++p) {
      auto& row = s.partitions.emplace_back();
      row.topic = t.name;
      row.partition = p;
      if (auto o = _src.store.offsets(t.name, p)) {
        row.log_start = o->log_start;
        row.high_watermark = o->high_watermark;
      }
      t.end_offsets += row.high_watermark;
      if (auto it = mirrored.find({t.name, p}); it != mirrored.end()) {
        row.uplink = it->second;
        t.backlog_records += row.uplink->backlog_records;
        t.backlog_bytes += row.uplink->backlog_bytes;
      }

      // The oldest record not in the cloud: at the confirmed offset (or the persisted cursor,
      // or the log start, while the mirror is resolving). One batch header read.
      if (row.uplink && row.uplink->backlog_records > 0) {
        int64_t from = row.uplink->confirmed_offset;
        if (from < 0) from = _src.store.mirror_cursor(t.name, p).value_or(row.log_start);
        from = std::max(from, row.log_start);
        if (from < row.high_watermark) {
          auto batches = _src.store.read(t.name, p, from, 1);
          if (batches && !batches->empty()) {
            if (auto h = batch_v2::parse_batch_header(batches->front().bytes)) {
              row.oldest_unmirrored_age_s =
                  std::max<double>(0, static_cast<double>(s.time_ms - h->base_timestamp) / 1000.0);
            }
          }
        }
      }
    }
  }
  // The mirror estimates bytes only from batches it has read: until then (uplink down since
  // start), the topic's stored bytes per record stand in.
  for (auto& t : s.topics) {
    if (t.backlog_bytes != 0 || t.backlog_records == 0 || !t.traffic) continue;
    const auto records = t.traffic->produce_records.load(std::memory_order_relaxed);
    const auto bytes = t.traffic->produce_bytes.load(std::memory_order_relaxed);
    if (records) t.backlog_bytes = bytes / records * static_cast<uint64_t>(t.backlog_records);
  }
  // The newest gaps: the ledger is read forward from the start, at most 1024 per call, bounded.
  uint64_t after = 0;
  for (int i = 0; i < 8; ++i) {
    auto batch = _src.store.gaps_after(after);
    if (batch.empty()) break;
    after = batch.back().id;
    for (auto& g : batch) s.gaps.push_back(std::move(g));
    if (s.gaps.size() > 20) s.gaps.erase(s.gaps.begin(), s.gaps.end() - 20);
  }
  return s;
}

net::http_response status_service::handle(std::string_view, std::string_view target) {
  auto q = target.find('?');
  auto path = target.substr(0, q);
  auto query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  if (path == "/healthz") return text_response(200, "ok\n");
  if (path == "/readyz") return ready();
  if (path == "/metrics") {
    return {.content_type = "text/plain; version=0.0.4; charset=utf-8", .body = metrics_text()};
  }
  if (path == "/v1/status") return json_response(200, status_json());
  if (path == "/v1/confirmed") return confirmed(query);
  if (path == "/" || path == "/index.html") {
    return {.content_type = "text/html; charset=utf-8", .body = std::string(status_page_html())};
  }
  return text_response(404, "not found\n");
}

net::http_response status_service::ready() {
  const bool listening = _src.listening && _src.listening();
  std::string body = listening ? "ready\n" : "not ready: the Kafka listener is not serving\n";
  if (_src.uplink) {
    auto u = _src.uplink();
    body += "uplink: " + (u ? u->state : std::string("unknown")) + "\n";
  } else {
    body += "uplink: off\n";
  }
  return text_response(listening ? 200 : 503, std::move(body));
}

net::http_response status_service::confirmed(std::string_view query) {
  auto args = parse_query(query);
  auto partition = to_int<int32_t>(args["partition"]);
  auto offset = to_int<int64_t>(args["offset"]);
  auto& topic = args["topic"];
  if (topic.empty() || !partition || !offset || *offset < 0) {
    return json_response(400, R"({"error":"usage: /v1/confirmed?topic=T&partition=P&offset=N"})");
  }
  auto offsets = _src.store.offsets(topic, *partition);
  if (!offsets) {
    json_writer w;
    w.open().str("error", offsets.error().message()).close();
    return json_response(404, w.take());
  }
  std::optional<int64_t> confirmed;
  std::string state = "off";
  if (_src.uplink) {
    if (auto u = _src.uplink()) {
      for (auto& p : u->partitions) {
        if (p.topic == topic && p.partition == *partition) {
          state = p.state;
          if (p.confirmed_offset >= 0) confirmed = p.confirmed_offset;
        }
      }
    }
  }
  json_writer w;
  w.open()
      .str("topic", topic)
      .num("partition", *partition)
      .num("offset", *offset)
      .boolean("stored", *offset < offsets->high_watermark)
      .boolean("in_cloud", confirmed && *offset < *confirmed);
  if (confirmed) {
    w.num("confirmed_offset", *confirmed);
  } else {
    w.null("confirmed_offset");
  }
  w.num("high_watermark", offsets->high_watermark).str("mirror_state", state).close();
  return json_response(200, w.take());
}

std::string status_service::status_json() {
  auto s = take_snapshot();
  json_writer w;
  w.open()
      .str("site_id", _src.site_id)
      .num("time_ms", s.time_ms)
      .dbl("uptime_s",
           std::chrono::duration<double>(std::chrono::steady_clock::now() - _started).count())
      .boolean("ready", s.listening)
      .unum("connections", s.connections);
  w.open("process")
      .unum("rss_bytes", s.process.rss_bytes)
      .dbl("cpu_seconds", s.process.cpu_seconds);
  w.close();
  w.open("disk")
      .unum("used_bytes", s.usage.log_bytes)
      .unum("quota_bytes", _src.disk_quota_bytes)
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
  w.open("uplink");
  if (s.uplink) {
    w.boolean("configured", true)
        .str("state", s.uplink->state)
        .str("last_error", s.uplink->last_error)
        .unum("resyncs", s.uplink->resyncs)
        .unum("gaps_reported", s.uplink->gaps_reported)
        .unum("delivered_records", s.uplink->delivered_records)
        .unum("delivered_bytes", s.uplink->delivered_bytes)
        .unum("inflight_bytes", s.uplink->inflight_bytes);
  } else {
    w.boolean("configured", false).str("state", "off");
  }
  w.close();
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
  w.unum("refused_total", _src.traffic.refusals_total());
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
  w.num("sample_interval_ms", _src.sample_interval.count());
  w.open_array("history");
  for (auto& h : s.samples) {
    w.open()
        .num("time_ms", h.time_ms)
        .num("backlog_records", h.backlog_records)
        .unum("backlog_bytes", h.backlog_bytes)
        .close();
  }
  w.close();
  w.close();
  return w.take();
}

std::string status_service::metrics_text() {
  auto s = take_snapshot();
  prom_writer m;
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

  m.family("edgebridge_request_duration_seconds", "histogram",
           "Kafka request handling time, from decoding to the encoded response.");
  for (int16_t key = 0; key < static_cast<int16_t>(traffic_registry::max_api_keys); ++key) {
    auto* h = _src.traffic.request_latency(key);
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

  m.one("edgebridge_disk_used_bytes", "gauge", "Approximate bytes of log data on disk.",
        static_cast<double>(s.usage.log_bytes));
  m.one("edgebridge_disk_quota_bytes", "gauge", "storage.max_disk_bytes; 0 = no quota.",
        static_cast<double>(_src.disk_quota_bytes));
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

  auto partition_family = [&](std::string_view name, std::string_view help, auto value,
                              bool mirrored_only) {
    m.family(name, "gauge", help);
    for (auto& p : s.partitions) {
      if (mirrored_only && !p.uplink) continue;
      m.sample(name, {{"topic", p.topic}, {"partition", std::to_string(p.partition)}}, value(p));
    }
  };
  using prow = snapshot::partition;
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
  return m.take();
}

}  // namespace eb::bridge

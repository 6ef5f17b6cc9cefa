#include "bridge/status/status.h"

#include <spdlog/fmt/fmt.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include "bridge/status/page.h"
#include "bridge/status/writers.h"
#include "net/messages/api.h"

namespace eb::bridge {

using status_detail::json_writer;

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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
  status_sample s;
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

status_snapshot status_service::take_snapshot() {
  status_snapshot s;
  s.time_ms = now_ms();
  s.site_id = _src.site_id;
  s.uptime_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - _started).count();
  s.disk_quota_bytes = _src.disk_quota_bytes;
  s.sample_interval_ms = _src.sample_interval.count();
  s.refusals_total = _src.traffic.refusals_total();
  if (_src.uplink) s.uplink = _src.uplink();
  if (_src.downlink) s.downlink = _src.downlink();
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
            // The bridge's append time, never a device clock that may say 1970 or 2099.
            row.oldest_unmirrored_age_s = std::max<double>(
                0, static_cast<double>(s.time_ms - batches->front().append_time_ms) / 1000.0);
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

std::string status_service::status_json() { return render_status_json(take_snapshot()); }

std::string status_service::metrics_text() { return render_metrics(take_snapshot(), _src.traffic); }

}  // namespace eb::bridge

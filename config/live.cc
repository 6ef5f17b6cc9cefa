#include "config/live.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <set>

namespace eb::config {

std::variant<remote_document, problems> parse_remote_document(const std::string& text) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return problems{"YAML syntax error at line " + std::to_string(e.mark.line + 1) + ", column " +
                    std::to_string(e.mark.column + 1) + ": " + e.msg};
  }
  if (!root.IsMap()) return problems{"the config document must be a YAML mapping of sections"};
  auto v = const_cast<const YAML::Node&>(root)["version"];
  if (!v.IsDefined() || !v.IsScalar()) {
    return problems{"version: missing; a config document carries a positive integer version"};
  }
  remote_document doc;
  const auto& s = v.Scalar();
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), doc.version);
  if (ec != std::errc() || end != s.data() + s.size() || doc.version < 1) {
    return problems{"version: expected a positive integer, got '" + s + "'"};
  }
  root.remove("version");
  if (root.size() == 0) return doc;
  YAML::Emitter out;
  out << root;
  doc.overlay = out.c_str();
  return doc;
}

namespace {

struct comparer {
  const bridge_config& a;
  const bridge_config& b;
  changes out;

  template <class T>
  bool differ(const char* key, const T& x, const T& y, bool live) {
    if (x == y) return false;
    (live ? out.live : out.restart).push_back(key);
    return true;
  }
};

// The topics section: every key live.
void compare_topics(const bridge_config& a, const bridge_config& b, changes& out) {
  auto note = [&](const std::string& key) {
    out.live.push_back(key);
    out.topics = true;
  };
  const auto& x = a.topics;
  const auto& y = b.topics;
  if (x.auto_create != y.auto_create) note("topics.auto_create");
  if (x.max_topics != y.max_topics) note("topics.max_topics");
  if (x.max_partitions != y.max_partitions) note("topics.max_partitions");
  if (x.create_allow != y.create_allow) note("topics.create_allow");
  if (x.max_message_bytes != y.max_message_bytes) note("topics.max_message_bytes");
  auto topic_keys = [&](const std::string& prefix, const storage::topic_config& p,
                        const storage::topic_config& q) {
    if (p.partitions != q.partitions) note(prefix + ".partitions");
    if (p.priority != q.priority) note(prefix + ".priority");
    if (p.retention_ms != q.retention_ms) note(prefix + ".retention");
    if (p.retention_bytes != q.retention_bytes) note(prefix + ".retention_bytes");
  };
  topic_keys("topics.defaults", x.defaults, y.defaults);
  std::set<std::string> names;
  for (auto& [n, _] : x.overrides) names.insert(n);
  for (auto& [n, _] : y.overrides) names.insert(n);
  for (auto& n : names) {
    auto p = x.overrides.find(n);
    auto q = y.overrides.find(n);
    std::string prefix = "topics.overrides." + n;
    if (p == x.overrides.end() || q == y.overrides.end()) {
      note(prefix);
      if ((p == x.overrides.end() ? q->second : p->second).mirror == false ||
          !(p == x.overrides.end() ? q->second : p->second).target.empty()) {
        out.mirror_rebuild = true;
      }
      continue;
    }
    topic_keys(prefix, p->second.storage, q->second.storage);
    if (p->second.mirror != q->second.mirror) {
      note(prefix + ".mirror");
      out.mirror_rebuild = true;
    }
    if (p->second.target != q->second.target) {
      note(prefix + ".target");
      out.mirror_rebuild = true;
    }
  }
  if (a.mirror.topic_on_refusal != b.mirror.topic_on_refusal) {
    for (auto& n : names) {
      auto p = a.mirror.topic_on_refusal.find(n);
      auto q = b.mirror.topic_on_refusal.find(n);
      bool has_p = p != a.mirror.topic_on_refusal.end();
      bool has_q = q != b.mirror.topic_on_refusal.end();
      if (has_p != has_q || (has_p && p->second != q->second)) {
        note("topics.overrides." + n + ".on_refusal");
      }
    }
    out.mirror_rebuild = true;
  }
}

void compare_mirror(comparer& c) {
  const auto& x = c.a.mirror;
  const auto& y = c.b.mirror;
  // Storage's retention rule follows whether a mirror is configured at all.
  bool appears = x.bootstrap.empty() != y.bootstrap.empty();
  bool rebuild = false;
  rebuild |= c.differ("mirror.enabled", x.enabled, y.enabled, true);
  rebuild |= c.differ("mirror.bootstrap", x.bootstrap, y.bootstrap, !appears);
  rebuild |= c.differ("mirror.properties", x.properties, y.properties, true);
  rebuild |= c.differ("mirror.topic_template", x.topic_template, y.topic_template, true);
  rebuild |= c.differ("mirror.gaps_topic", x.gaps_topic, y.gaps_topic, true);
  rebuild |= c.differ("mirror.compression", x.compression, y.compression, true);
  rebuild |=
      c.differ("mirror.max_inflight_bytes", x.max_inflight_bytes, y.max_inflight_bytes, true);
  rebuild |= c.differ("mirror.linger", x.linger, y.linger, true);
  rebuild |=
      c.differ("mirror.create_target_topics", x.create_target_topics, y.create_target_topics, true);
  rebuild |= c.differ("mirror.on_refusal", x.on_refusal, y.on_refusal, true);
  rebuild |= c.differ("mirror.retry_backoff_min", x.retry_backoff_min, y.retry_backoff_min, true);
  rebuild |= c.differ("mirror.retry_backoff_max", x.retry_backoff_max, y.retry_backoff_max, true);
  rebuild |= c.differ("mirror.cursor_commit_interval", x.cursor_commit_interval,
                      y.cursor_commit_interval, true);
  if (appears) {
    // Needs the restart anyway: nothing of the mirror changes now.
    c.out.mirror_rebuild = false;
    return;
  }
  if (rebuild) c.out.mirror_rebuild = true;
  if (c.differ("mirror.bandwidth_bytes_per_sec", x.bandwidth_bytes_per_sec,
               y.bandwidth_bytes_per_sec, true)) {
    c.out.bandwidth = true;
  }
}

}  // namespace

changes compare(const bridge_config& a, const bridge_config& b) {
  comparer c{a, b, {}};
  c.differ("site_id", a.site_id, b.site_id, false);
  if (c.differ("log_level", a.log_level, b.log_level, true)) c.out.log_level = true;
  c.differ("log_format", a.log_format, b.log_format, false);
  c.differ("http.enabled", a.http.enabled, b.http.enabled, false);
  c.differ("http.host", a.http.host, b.http.host, false);
  c.differ("http.port", a.http.port, b.http.port, false);
  c.differ("http.max_connections", a.http.max_connections, b.http.max_connections, false);
  c.differ("http.max_header_bytes", a.http.max_header_bytes, b.http.max_header_bytes, false);
  c.differ("http.header_timeout", a.http.header_timeout, b.http.header_timeout, false);
  c.differ("listener.host", a.server.host, b.server.host, false);
  c.differ("listener.port", a.server.port, b.server.port, false);
  c.differ("listener.advertised_host", a.advertised_host, b.advertised_host, false);
  c.differ("listener.advertised_port", a.advertised_port, b.advertised_port, false);
  const auto& s = a.server;
  const auto& t = b.server;
  c.differ("server.io_threads", s.io_threads, t.io_threads, false);
  c.differ("server.max_request_bytes", s.max_request_bytes, t.max_request_bytes, false);
  c.differ("server.max_connections", s.max_connections, t.max_connections, false);
  c.differ("server.max_connections_per_ip", s.max_connections_per_ip, t.max_connections_per_ip,
           false);
  c.differ("server.max_queued_request_bytes", s.max_queued_request_bytes,
           t.max_queued_request_bytes, false);
  c.differ("server.request_timeout", s.request_timeout, t.request_timeout, false);
  c.differ("server.fetch_max_bytes", a.handlers.fetch_max_bytes, b.handlers.fetch_max_bytes, false);
  c.differ("server.idle_timeout", s.idle_timeout, t.idle_timeout, false);
  c.differ("server.max_inflight_requests", s.max_inflight_requests, t.max_inflight_requests, false);
  c.differ("server.max_inflight_bytes", s.max_inflight_bytes, t.max_inflight_bytes, false);
  c.differ("server.shutdown_grace", s.shutdown_grace, t.shutdown_grace, false);
  const auto& x = a.storage;
  const auto& y = b.storage;
  c.differ("storage.data_dir", x.data_dir, y.data_dir, false);
  c.differ("storage.fsync", x.fsync, y.fsync, false);
  c.differ("storage.fsync_interval", x.fsync_interval, y.fsync_interval, false);
  c.differ("storage.max_disk_bytes", x.max_disk_bytes, y.max_disk_bytes, false);
  c.differ("storage.quota_policy", x.on_quota, y.on_quota, false);
  c.differ("storage.block_cache_bytes", x.block_cache_bytes, y.block_cache_bytes, false);
  c.differ("storage.write_buffer_bytes", x.write_buffer_bytes, y.write_buffer_bytes, false);
  c.differ("storage.max_write_buffers", x.max_write_buffers, y.max_write_buffers, false);
  c.differ("storage.max_pending_appends", x.max_pending_appends, y.max_pending_appends, false);
  c.differ("storage.max_group_commit_bytes", x.max_group_commit_bytes, y.max_group_commit_bytes,
           false);
  c.differ("storage.retention_check_interval", x.retention_check_interval,
           y.retention_check_interval, false);
  c.differ("storage.reader_threads", a.reader_threads, b.reader_threads, false);
  c.differ("topics.retention_protected_groups", x.retention_protected_groups,
           y.retention_protected_groups, false);
  compare_topics(a, b, c.out);
  const auto& g = a.groups;
  const auto& h = b.groups;
  c.differ("groups.min_session_timeout", g.min_session_timeout, h.min_session_timeout, false);
  c.differ("groups.max_session_timeout", g.max_session_timeout, h.max_session_timeout, false);
  c.differ("groups.max_groups", g.max_groups, h.max_groups, false);
  c.differ("groups.max_group_size", g.max_group_size, h.max_group_size, false);
  c.differ("groups.consumer_heartbeat_interval", g.consumer_heartbeat_interval,
           h.consumer_heartbeat_interval, false);
  c.differ("groups.consumer_session_timeout", g.consumer_session_timeout,
           h.consumer_session_timeout, false);
  compare_mirror(c);
  c.differ("remote.enabled", a.remote.enabled, b.remote.enabled, false);
  c.differ("remote.config_topic", a.remote.config_topic, b.remote.config_topic, false);
  c.differ("remote.status_topic", a.remote.status_topic, b.remote.status_topic, false);
  c.differ("remote.status_interval", a.remote.status_interval, b.remote.status_interval, false);
  // The downlink: its topic list is live (downlink::set_topics), its other keys need a restart.
  const auto& d = a.downlink;
  const auto& e = b.downlink;
  if (c.differ("downlink.topics", d.topics, e.topics, true)) c.out.downlink = true;
  c.differ("downlink.enabled", d.enabled, e.enabled, false);
  c.differ("downlink.bootstrap", d.bootstrap, e.bootstrap, false);
  c.differ("downlink.properties", d.properties, e.properties, false);
  c.differ("downlink.start_at", d.start_at, e.start_at, false);
  c.differ("downlink.max_queued_bytes", d.max_queued_bytes, e.max_queued_bytes, false);
  c.differ("downlink.fetch_max_bytes", d.fetch_max_bytes, e.fetch_max_bytes, false);
  c.differ("downlink.partition_fetch_max_bytes", d.partition_fetch_max_bytes,
           e.partition_fetch_max_bytes, false);
  c.differ("downlink.max_batch_bytes", d.max_batch_bytes, e.max_batch_bytes, false);
  c.differ("downlink.quota_pause_percent", d.quota_pause_percent, e.quota_pause_percent, false);
  c.differ("downlink.quota_resume_percent", d.quota_resume_percent, e.quota_resume_percent, false);
  c.differ("downlink.metadata_refresh", d.metadata_refresh, e.metadata_refresh, false);
  c.differ("downlink.retry_backoff", d.retry_backoff, e.retry_backoff, false);
  // Hook: users and ACLs (branch `sasl`) join the live keys here, setting out.security.
  return std::move(c.out);
}

}  // namespace eb::config

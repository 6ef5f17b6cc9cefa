#include "config/config.h"

#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <type_traits>

#include "config/yaml_reader.h"

namespace eb::config {
namespace {

using detail::duplicate_key_finder;
using detail::map_reader;

void read_topic_config(map_reader& r, storage::topic_config& t) {
  r.integer("partitions", t.partitions, 1, 100'000);
  r.integer("priority", t.priority, -1000, 1000);
  r.duration_or_forever("retention", t.retention_ms);
  r.bytes_or_unlimited("retention_bytes", t.retention_bytes);
  // Kafka cleanup.policy: 1 delete, 2 compact, 3 both.
  int policy = (t.cleanup_delete ? 1 : 0) | (t.cleanup_compact ? 2 : 0);
  r.choice("cleanup_policy", policy,
           {{"delete", 1}, {"compact", 2}, {"compact,delete", 3}, {"delete,compact", 3}});
  t.cleanup_delete = (policy & 1) != 0;
  t.cleanup_compact = (policy & 2) != 0;
  r.duration_or_forever("delete_retention", t.delete_retention_ms);
}

void read_listener(map_reader& r, net::listener_options& l) {
  l.name.clear();
  r.string("name", l.name);
  r.string("host", l.host);
  r.integer("port", l.port, 0, 65535);
  r.choice("security_protocol", l.protocol,
           {{"PLAINTEXT", net::security_protocol::plaintext},
            {"SSL", net::security_protocol::ssl},
            {"SASL_PLAINTEXT", net::security_protocol::sasl_plaintext},
            {"SASL_SSL", net::security_protocol::sasl_ssl}});
  r.string("advertised_host", l.advertised_host);
  r.integer("advertised_port", l.advertised_port, 0, 65535);
  r.boolean("allow_insecure", l.allow_insecure);
  r.string_list("sasl_mechanisms", l.sasl_mechanisms);
  auto t = r.section("tls");
  t.path("cert", l.tls.cert);
  t.path("key", l.tls.key);
  t.path("client_ca", l.tls.client_ca);
  t.choice("client_auth", l.tls.client_auth,
           {{"none", net::client_auth::none},
            {"requested", net::client_auth::requested},
            {"required", net::client_auth::required}});
  t.string("principal_mapping_rules", l.tls.principal_mapping_rules);
  t.choice("min_version", l.tls.min_version,
           {{"TLSv1.2", std::string("TLSv1.2")}, {"TLSv1.3", std::string("TLSv1.3")}});
}

// A key or password file: readable, a regular file, and not readable by every user.
std::optional<std::string> secret_file_problem(const std::filesystem::path& f) {
  struct stat st {};
  if (::stat(f.c_str(), &st) != 0) return f.string() + ": " + std::strerror(errno);
  if (!S_ISREG(st.st_mode)) return f.string() + " is not a regular file";
  if (st.st_mode & S_IROTH) {
    return f.string() + " is readable by every user of this machine; refusing it (chmod 600 " +
           f.string() + ")";
  }
  return std::nullopt;
}

// mirror.security: the cloud connection's TLS and SASL, Kafka's names, onto librdkafka
// properties. The password comes from a file (never in the config, never logged).
void read_mirror_security(map_reader& r, bridge::mirror_options& m) {
  std::string protocol, mechanism, username;
  std::filesystem::path ca, cert, key, password_file;
  r.choice("protocol", protocol,
           {{"PLAINTEXT", std::string("PLAINTEXT")},
            {"SSL", std::string("SSL")},
            {"SASL_PLAINTEXT", std::string("SASL_PLAINTEXT")},
            {"SASL_SSL", std::string("SASL_SSL")}});
  r.path("ca", ca);
  r.path("cert", cert);
  r.path("key", key);
  r.choice("sasl_mechanism", mechanism,
           {{"PLAIN", std::string("PLAIN")},
            {"SCRAM-SHA-256", std::string("SCRAM-SHA-256")},
            {"SCRAM-SHA-512", std::string("SCRAM-SHA-512")}});
  r.string("sasl_username", username);
  r.path("sasl_password_file", password_file);
  if (protocol.empty()) {
    if (!ca.empty() || !cert.empty() || !mechanism.empty()) {
      r.fail("protocol", "required with the other mirror.security keys");
    }
    return;
  }
  auto set = [&](const std::string& k, const std::string& v) {
    if (m.properties.count(k) && m.properties[k] != v) {
      r.fail("", "mirror.properties." + k + " contradicts mirror.security");
      return;
    }
    m.properties[k] = v;
  };
  set("security.protocol", protocol);
  // The files are checked (and the password read) only for a mirror that runs.
  if (!m.active()) return;
  const bool tls = protocol == "SSL" || protocol == "SASL_SSL";
  const bool sasl = protocol.starts_with("SASL_");
  if (tls) {
    if (!ca.empty()) {
      std::error_code ec;
      if (!std::filesystem::is_regular_file(ca, ec)) {
        r.fail("ca", ca.string() + " is not a readable file");
      }
      set("ssl.ca.location", ca.string());
    }
    if (cert.empty() != key.empty()) r.fail("cert", "cert and key go together");
    if (!cert.empty() && !key.empty()) {
      if (auto why = secret_file_problem(key)) r.fail("key", *why);
      set("ssl.certificate.location", cert.string());
      set("ssl.key.location", key.string());
    }
  } else if (!ca.empty() || !cert.empty()) {
    r.fail("ca", "TLS settings need protocol SSL or SASL_SSL");
  }
  if (sasl) {
    if (mechanism.empty()) r.fail("sasl_mechanism", "required for " + protocol);
    if (username.empty()) r.fail("sasl_username", "required for " + protocol);
    if (password_file.empty()) {
      r.fail("sasl_password_file", "required for " + protocol);
    } else if (auto why = secret_file_problem(password_file)) {
      r.fail("sasl_password_file", *why);
    } else {
      std::ifstream in(password_file);
      std::string password;
      std::getline(in, password);
      if (password.empty()) r.fail("sasl_password_file", password_file.string() + " is empty");
      set("sasl.mechanism", mechanism);
      set("sasl.username", username);
      set("sasl.password", password);
    }
  } else if (!mechanism.empty()) {
    r.fail("sasl_mechanism", "SASL settings need protocol SASL_PLAINTEXT or SASL_SSL");
  }
}

void read_config(const YAML::Node& root, bridge_config& c, problems& p) {
  // Before the readers: a finished map_reader resets its (shared) node.
  if (root.IsMap() && root["listener"] && root["listeners"]) {
    p.push_back("listener: give either `listener` (one plaintext listener) or `listeners`");
  }
  map_reader top(root, "", p);
  top.string("site_id", c.site_id);
  top.choice("log_level", c.log_level,
             {{"trace", std::string("trace")},
              {"debug", std::string("debug")},
              {"info", std::string("info")},
              {"warn", std::string("warn")},
              {"error", std::string("error")}});
  top.choice("log_format", c.log_format,
             {{"text", std::string("text")}, {"json", std::string("json")}});
  {
    auto r = top.section("http");
    r.boolean("enabled", c.http.enabled);
    r.string("host", c.http.host);
    r.integer("port", c.http.port, 0, 65535);
    r.integer("max_connections", c.http.max_connections, 1, 100'000);
    r.integer("max_header_bytes", c.http.max_header_bytes, 512, 1 << 20);
    r.duration("header_timeout", c.http.header_timeout);
  }
  {
    auto r = top.section("listener");
    r.string("host", c.server.host);
    r.integer("port", c.server.port, 0, 65535);
    r.string("advertised_host", c.advertised_host);
    r.integer("advertised_port", c.advertised_port, 0, 65535);
    r.boolean("allow_insecure", c.server.allow_insecure);
  }
  top.section_list("listeners", [&](size_t, map_reader& r) {
    read_listener(r, c.server.listeners.emplace_back());
  });
  {
    auto r = top.section("server");
    r.integer("io_threads", c.server.io_threads, 0, 256);
    uint64_t max_request = c.server.max_request_bytes;
    r.bytes("max_request_bytes", max_request);
    if (max_request > std::numeric_limits<int32_t>::max()) {
      r.fail("max_request_bytes", "must be below 2GiB");
    } else {
      c.server.max_request_bytes = uint32_t(max_request);
    }
    r.integer("max_connections", c.server.max_connections, 1, 1'000'000);
    r.integer("max_connections_per_ip", c.server.max_connections_per_ip, 1, 1'000'000);
    r.bytes("max_queued_request_bytes", c.server.max_queued_request_bytes);
    r.duration("request_timeout", c.server.request_timeout);
    uint64_t fetch_max = uint64_t(c.handlers.fetch_max_bytes);
    r.bytes("fetch_max_bytes", fetch_max);
    if (fetch_max > std::numeric_limits<int32_t>::max()) {
      r.fail("fetch_max_bytes", "must be below 2GiB");
    } else {
      c.handlers.fetch_max_bytes = int32_t(fetch_max);
    }
    r.duration("idle_timeout", c.server.idle_timeout);
    r.integer("max_inflight_requests", c.server.max_inflight_requests, 1, 10'000);
    r.bytes("max_inflight_bytes", c.server.max_inflight_bytes);
    r.duration("shutdown_grace", c.server.shutdown_grace);
    r.duration("tls_handshake_timeout", c.server.tls_handshake_timeout);
    r.duration("tls_reload_interval", c.server.tls_reload_interval);
  }
  {
    auto r = top.section("storage");
    auto& s = c.storage;
    r.path("data_dir", s.data_dir);
    r.choice("fsync", s.fsync,
             {{"always", storage::fsync_policy::always},
              {"interval", storage::fsync_policy::interval},
              {"never", storage::fsync_policy::never}});
    r.duration("fsync_interval", s.fsync_interval);
    r.bytes("max_disk_bytes", s.max_disk_bytes);
    r.choice("quota_policy", s.on_quota,
             {{"reject", storage::quota_policy::reject},
              {"drop-oldest", storage::quota_policy::drop_oldest}});
    r.bytes("block_cache_bytes", s.block_cache_bytes);
    r.bytes("write_buffer_bytes", s.write_buffer_bytes);
    r.integer("max_write_buffers", s.max_write_buffers, 1, 64);
    r.integer("max_pending_appends", s.max_pending_appends, 1, 1'000'000);
    r.bytes("max_group_commit_bytes", s.max_group_commit_bytes);
    r.duration("retention_check_interval", s.retention_check_interval);
    r.bytes("compaction_max_pass_bytes", s.compaction_max_pass_bytes);
    r.integer("reader_threads", c.reader_threads, 1, 64);
  }
  {
    auto r = top.section("topics");
    auto& t = c.topics;
    r.boolean("auto_create", t.auto_create);
    r.integer("max_topics", t.max_topics, 1, 1'000'000);
    r.integer("max_partitions", t.max_partitions, 1, 100'000);
    r.string_list("create_allow", t.create_allow);
    uint64_t max_message = t.max_message_bytes;
    r.bytes("max_message_bytes", max_message);
    t.max_message_bytes = static_cast<size_t>(max_message);
    {
      auto d = r.section("defaults");
      read_topic_config(d, t.defaults);
    }
    // Retention keeps what these consumer groups have not committed past (storage owns it).
    std::vector<std::string> protected_groups(c.storage.retention_protected_groups.begin(),
                                              c.storage.retention_protected_groups.end());
    r.string_list("retention_protected_groups", protected_groups);
    c.storage.retention_protected_groups = {protected_groups.begin(), protected_groups.end()};
    r.named_sections("overrides", [&](const std::string& name, map_reader& o) {
      bridge::topic_override ov{.storage = t.defaults};
      read_topic_config(o, ov.storage);
      o.boolean("mirror", ov.mirror);
      o.string("target", ov.target);
      // Only when given: otherwise mirror.on_refusal (read below) applies.
      int on_refusal = -1;
      o.choice("on_refusal", on_refusal, {{"pause", 0}, {"skip", 1}});
      if (on_refusal >= 0) {
        c.mirror.topic_on_refusal[name] =
            on_refusal == 0 ? bridge::refusal_policy::pause : bridge::refusal_policy::skip;
      }
      t.overrides[name] = ov;
    });
  }
  {
    auto r = top.section("groups");
    auto& g = c.groups;
    r.duration("min_session_timeout", g.min_session_timeout);
    r.duration("max_session_timeout", g.max_session_timeout);
    r.integer("max_groups", g.max_groups, 1, 10'000'000);
    r.integer("max_group_size", g.max_group_size, 1, 1'000'000);
    r.duration("consumer_heartbeat_interval", g.consumer_heartbeat_interval);
    r.duration("consumer_session_timeout", g.consumer_session_timeout);
  }
  {
    auto r = top.section("sasl");
    r.string_list("mechanisms", c.security.sasl.mechanisms);
    r.duration("max_reauth", c.security.sasl.max_reauth);
  }
  {
    auto r = top.section("authorization");
    r.boolean("enabled", c.security.authorization.enabled);
    std::vector<std::string> supers(c.security.authorization.super_users.begin(),
                                    c.security.authorization.super_users.end());
    r.string_list("super_users", supers);
    c.security.authorization.super_users = {supers.begin(), supers.end()};
  }
  top.named_sections("users", [&](const std::string& name, map_reader& u) {
    bridge::security::bootstrap_user user{.name = name};
    u.path("password_file", user.password_file);
    u.string_list("mechanisms", user.mechanisms);
    u.integer("iterations", user.iterations, 4096, 16384);
    c.security.users.push_back(std::move(user));
  });
  {
    auto r = top.section("mirror");
    auto& m = c.mirror;
    r.boolean("enabled", m.enabled);
    r.string("bootstrap", m.bootstrap);
    r.string_map("properties", m.properties);
    r.string("topic_template", m.topic_template);
    r.string("gaps_topic", m.gaps_topic);
    r.string("compression", m.compression);
    r.bytes("max_inflight_bytes", m.max_inflight_bytes);
    r.bytes("batch_bytes", m.batch_bytes);
    r.duration("linger", m.linger);
    r.bytes("bandwidth_bytes_per_sec", m.bandwidth_bytes_per_sec);
    r.boolean("create_target_topics", m.create_target_topics);
    r.choice("on_refusal", m.on_refusal,
             {{"pause", bridge::refusal_policy::pause}, {"skip", bridge::refusal_policy::skip}});
    r.duration("retry_backoff_min", m.retry_backoff_min);
    r.duration("retry_backoff_max", m.retry_backoff_max);
    r.duration("cursor_commit_interval", m.cursor_commit_interval);
    auto sec = r.section("security");
    read_mirror_security(sec, m);
  }
  {
    auto r = top.section("remote");
    auto& m = c.remote;
    r.boolean("enabled", m.enabled);
    r.string("config_topic", m.config_topic);
    r.string("status_topic", m.status_topic);
    r.duration("status_interval", m.status_interval);
  }
  {
    const YAML::Node& croot = root;
    auto& d = c.downlink;
    d.enabled = croot.IsMap() && croot["downlink"].IsDefined() && !croot["downlink"].IsNull();
    auto r = top.section("downlink");
    r.boolean("enabled", d.enabled);
    r.string("bootstrap", d.bootstrap);
    r.string_map("properties", d.properties);
    r.section_list("topics", [&](map_reader& t) {
      bridge::downlink_rule rule;
      t.string("cloud", rule.cloud);
      t.string("local", rule.local);
      if (rule.cloud.empty()) t.fail("cloud", "required");
      if (rule.local.empty()) t.fail("local", "required");
      d.topics.push_back(rule);
    });
    r.choice("start_at", d.start_at,
             {{"earliest", bridge::downlink_start::earliest},
              {"latest", bridge::downlink_start::latest}});
    r.bytes("max_queued_bytes", d.max_queued_bytes);
    r.bytes("fetch_max_bytes", d.fetch_max_bytes);
    r.bytes("partition_fetch_max_bytes", d.partition_fetch_max_bytes);
    r.bytes("max_batch_bytes", d.max_batch_bytes);
    r.integer("quota_pause_percent", d.quota_pause_percent, 1, 100);
    r.integer("quota_resume_percent", d.quota_resume_percent, 0, 99);
    r.duration("metadata_refresh", d.metadata_refresh);
    r.duration("retry_backoff", d.retry_backoff);
  }
}

// Topic overrides decide the mirror's per-topic mapping; the mirror module knows no YAML.
void apply_topic_overrides(bridge_config& c) {
  c.mirror.site_id = c.site_id;
  // The downlink talks to the mirror's cloud unless told otherwise, with its TLS/SASL settings.
  c.downlink.site_id = c.site_id;
  c.downlink.disk_quota_bytes = c.storage.max_disk_bytes;
  if (c.downlink.bootstrap.empty()) {
    c.downlink.bootstrap = c.mirror.bootstrap;
    if (c.downlink.properties.empty()) {
      for (auto& [k, v] : c.mirror.properties) {
        if (k.starts_with("security.") || k.starts_with("ssl.") || k.starts_with("sasl.")) {
          c.downlink.properties[k] = v;
        }
      }
    }
  }
  for (auto& [name, ov] : c.topics.overrides) {
    if (!ov.mirror) c.mirror.excluded_topics.insert(name);
    if (!ov.target.empty()) c.mirror.topic_overrides[name] = ov.target;
  }
}

bool valid_site_id(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char ch : s) {
    if (!(isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.')) {
      return false;
    }
  }
  return true;
}

}  // namespace

namespace {

// One layer's text as a YAML node, or its problems (syntax, not a mapping, duplicate keys).
std::variant<YAML::Node, problems> load_layer(const std::string& yaml_text) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return problems{"YAML syntax error at line " + std::to_string(e.mark.line + 1) + ", column " +
                    std::to_string(e.mark.column + 1) + ": " + e.msg};
  }
  if (root && !root.IsNull() && !root.IsMap()) {
    return problems{"the config file must be a YAML mapping of sections"};
  }
  std::istringstream in(yaml_text);
  YAML::Parser parser(in);
  duplicate_key_finder finder;
  while (parser.HandleNextDocument(finder)) {
  }
  if (!finder.found.empty()) return finder.found;
  return root;
}

// `over` merged into `base` (a fresh tree): maps key by key, anything else replaced.
YAML::Node merged(const YAML::Node& base, const YAML::Node& over) {
  if (!over.IsDefined() || over.IsNull()) return YAML::Clone(base);
  if (!base.IsDefined() || base.IsNull() || !base.IsMap() || !over.IsMap()) {
    return YAML::Clone(over);
  }
  YAML::Node out = YAML::Clone(base);
  for (auto it : over) {
    auto key = it.first.as<std::string>();
    out[key] = merged(const_cast<const YAML::Node&>(out)[key], it.second);
  }
  return out;
}

std::variant<bridge_config, problems> parse_root(const YAML::Node& root) {
  problems p;
  bridge_config c;
  read_config(root, c, p);
  if (!p.empty()) return p;
  apply_topic_overrides(c);
  p = validate(c);
  if (!p.empty()) return p;
  return c;
}

}  // namespace

std::variant<bridge_config, problems> parse(const std::string& yaml_text) {
  auto root = load_layer(yaml_text);
  if (auto* p = std::get_if<problems>(&root)) return *p;
  return parse_root(std::get<YAML::Node>(root));
}

std::variant<bridge_config, problems> parse_layers(const std::string& file_text,
                                                   const std::string& overlay) {
  auto base = load_layer(file_text);
  if (auto* p = std::get_if<problems>(&base)) return *p;
  auto over = load_layer(overlay);
  if (auto* p = std::get_if<problems>(&over)) return *p;
  return parse_root(merged(std::get<YAML::Node>(base), std::get<YAML::Node>(over)));
}

std::variant<bridge_config, problems> load(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return problems{"config file " + file.string() + ": cannot be read"};
  std::stringstream text;
  text << in.rdbuf();
  return parse(text.str());
}

problems validate(const bridge_config& c) {
  problems p;
  if (!valid_site_id(c.site_id)) {
    p.push_back("site_id: must be 1-64 characters of letters, digits, '.', '_' or '-'");
  }
  for (auto& s : net::validate(c.server)) p.push_back(s);
  for (auto& s : net::validate(c.http)) p.push_back(s);
  for (auto& l : net::effective_listeners(c.server)) {
    if (c.http.enabled && c.http.port != 0 && c.http.port == l.port && c.http.host == l.host) {
      p.push_back("http.port: must differ from the Kafka listener's port (" + l.name + ")");
    }
  }
  for (auto& s : bridge::validate(c.handlers)) p.push_back("server." + s);
  for (auto& s : storage::validate(c.storage)) p.push_back(s);
  for (auto& s : bridge::validate(c.mirror)) p.push_back(s);
  if (c.downlink.enabled) {
    for (auto& s : bridge::validate(c.downlink)) p.push_back(s);
  }
  for (auto& s : bridge::groups::validate(c.groups)) p.push_back(s);
  for (auto& s : bridge::validate(c.topics)) p.push_back(s);
  for (auto& s : bridge::validate(c.remote)) p.push_back(s);
  for (auto& s : bridge::security::validate(c.security)) p.push_back(s);
  if (c.server.listeners.empty() && c.server.port == 0) {
    p.push_back("listener.port: must be between 1 and 65535");
  }
  for (auto& l : c.server.listeners) {
    if (l.port == 0) p.push_back("listeners." + l.name + ".port: must be between 1 and 65535");
  }
  std::error_code ec;
  const bool created = std::filesystem::create_directories(c.storage.data_dir, ec);
  // The data holds every record (and credentials): a new directory is the owner's alone.
  if (!ec && created) {
    std::filesystem::permissions(c.storage.data_dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
  }
  if (ec) {
    p.push_back("storage.data_dir: cannot create " + c.storage.data_dir.string() + ": " +
                ec.message());
  } else if (::access(c.storage.data_dir.c_str(), W_OK | X_OK) != 0) {
    p.push_back("storage.data_dir: " + c.storage.data_dir.string() + " is not writable");
  }
  return p;
}

const char* default_yaml() {
  return "site_id: edge\n"
         "listener: {host: 127.0.0.1, port: 9092}\n"
         "storage: {data_dir: ./data}\n";
}

}  // namespace eb::config

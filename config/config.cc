#include "config/config.h"

#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <sstream>

namespace eb::config {
namespace {

// yaml-cpp keeps the first of two equal keys in a mapping and drops the other without a word, so
// `fsync: never` written below an earlier `fsync: always` would be ignored. This walks the parse
// events and reports every repeated scalar key with its full name.
class duplicate_key_finder : public YAML::EventHandler {
 public:
  problems found;

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { leaf(mark, ""); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { leaf(mark, std::nullopt); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string& value) override {
    leaf(mark, value);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    open(mark, false);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    open(mark, true);
  }
  void OnMapEnd() override { close(); }

 private:
  struct level {
    bool is_map = false;
    bool at_key = true;  // maps alternate key, value
    std::string path;
    std::string key;  // the current key, once read
    std::set<std::string> keys;
  };

  // A node begins: if it is a key of the enclosing map, check it.
  void begin(const YAML::Mark& mark, const std::optional<std::string>& scalar) {
    if (_levels.empty() || !_levels.back().is_map || !_levels.back().at_key) return;
    auto& m = _levels.back();
    m.key = scalar.value_or("?");
    if (scalar && !m.keys.insert(*scalar).second) {
      found.push_back((m.path.empty() ? "" : m.path + ".") + *scalar + ": duplicate key (line " +
                      std::to_string(mark.line + 1) + "); yaml-cpp would keep only the first");
    }
  }
  // A node ended: the enclosing map moves from key to value or back.
  void end() {
    if (!_levels.empty() && _levels.back().is_map) _levels.back().at_key = !_levels.back().at_key;
  }
  void leaf(const YAML::Mark& mark, const std::optional<std::string>& scalar) {
    begin(mark, scalar);
    end();
  }
  void open(const YAML::Mark& mark, bool is_map) {
    begin(mark, std::nullopt);
    std::string path;
    if (!_levels.empty()) {
      auto& parent = _levels.back();
      path = parent.is_map ? (parent.path.empty() ? "" : parent.path + ".") + parent.key
                           : parent.path + "[]";
    }
    _levels.push_back({.is_map = is_map, .path = std::move(path)});
  }
  void close() {
    _levels.pop_back();
    end();
  }

  std::vector<level> _levels;
};

// Reads one YAML mapping: typed getters record a problem (naming the full key) instead of
// throwing, and finish() reports every key nobody asked for.
class map_reader {
 public:
  map_reader(YAML::Node node, std::string prefix, problems& out)
      : _node(std::move(node)), _prefix(std::move(prefix)), _problems(out) {
    if (_node.IsDefined() && !_node.IsNull() && !_node.IsMap()) {
      fail("", "must be a mapping");
      _node = YAML::Node(YAML::NodeType::Undefined);
    }
  }
  map_reader(const map_reader&) = delete;
  ~map_reader() { finish(); }

  map_reader section(const std::string& key) { return map_reader(take(key), join(key), _problems); }

  void string(const std::string& key, std::string& out) {
    if (auto n = scalar(key)) out = n->as<std::string>();
  }
  void path(const std::string& key, std::filesystem::path& out) {
    if (auto n = scalar(key)) out = n->as<std::string>();
  }
  void boolean(const std::string& key, bool& out) {
    if (auto n = scalar(key)) {
      bool v;
      if (YAML::convert<bool>::decode(*n, v)) {
        out = v;
      } else {
        fail(key, "expected true or false, got '" + n->Scalar() + "'");
      }
    }
  }
  template <class Int>
  void integer(const std::string& key, Int& out, int64_t min = std::numeric_limits<Int>::min(),
               int64_t max = std::numeric_limits<Int>::max()) {
    auto n = scalar(key);
    if (!n) return;
    int64_t v = 0;
    const std::string& s = n->Scalar();
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) {
      fail(key, "expected an integer, got '" + s + "'");
    } else if (v < min || v > max) {
      fail(key,
           "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + s);
    } else {
      out = static_cast<Int>(v);
    }
  }
  // A byte count: an integer, or a number with a unit (KiB, MiB, GiB, TiB, KB, MB, GB, TB).
  void bytes(const std::string& key, uint64_t& out) {
    auto n = scalar(key);
    if (!n) return;
    if (auto v = parse_bytes(n->Scalar())) {
      out = *v;
    } else {
      fail(key,
           "expected a size such as 1048576, 512KiB, 64MiB or 2GiB, got '" + n->Scalar() + "'");
    }
  }
  // A duration always carries its unit: ms, s, m, h or d.
  template <class Duration>
  void duration(const std::string& key, Duration& out) {
    auto n = scalar(key);
    if (!n) return;
    if (auto ms = parse_duration_ms(n->Scalar())) {
      out = std::chrono::duration_cast<Duration>(std::chrono::milliseconds(*ms));
    } else {
      fail(key, "expected a duration with a unit (ms, s, m, h, d), got '" + n->Scalar() + "'");
    }
  }
  // Like duration, but -1 (or "forever") means no limit; stored as milliseconds.
  void duration_or_forever(const std::string& key, int64_t& out_ms) {
    auto n = scalar(key);
    if (!n) return;
    if (n->Scalar() == "-1" || n->Scalar() == "forever") {
      out_ms = -1;
    } else if (auto ms = parse_duration_ms(n->Scalar())) {
      out_ms = *ms;
    } else {
      fail(key, "expected a duration with a unit (ms, s, m, h, d) or 'forever', got '" +
                    n->Scalar() + "'");
    }
  }
  void bytes_or_unlimited(const std::string& key, int64_t& out) {
    auto n = scalar(key);
    if (!n) return;
    if (n->Scalar() == "-1" || n->Scalar() == "unlimited") {
      out = -1;
    } else if (auto v = parse_bytes(n->Scalar());
               v && *v <= uint64_t(std::numeric_limits<int64_t>::max())) {
      out = int64_t(*v);
    } else {
      fail(key, "expected a size or 'unlimited', got '" + n->Scalar() + "'");
    }
  }
  template <class Enum>
  void choice(const std::string& key, Enum& out,
              std::initializer_list<std::pair<const char*, Enum>> options) {
    auto n = scalar(key);
    if (!n) return;
    std::string names;
    for (auto& [name, value] : options) {
      if (n->Scalar() == name) {
        out = value;
        return;
      }
      names += names.empty() ? name : std::string(", ") + name;
    }
    fail(key, "expected one of " + names + ", got '" + n->Scalar() + "'");
  }
  void string_map(const std::string& key, std::map<std::string, std::string>& out) {
    auto n = take(key);
    if (!n.IsDefined() || n.IsNull()) return;
    if (!n.IsMap()) return fail(key, "must be a mapping of names to values");
    for (auto it : n) {
      if (!it.second.IsScalar()) {
        fail(key + "." + it.first.as<std::string>(), "must be a single value");
        continue;
      }
      out[it.first.as<std::string>()] = it.second.Scalar();
    }
  }
  void string_list(const std::string& key, std::vector<std::string>& out) {
    auto n = take(key);
    if (!n.IsDefined() || n.IsNull()) return;
    if (!n.IsSequence()) return fail(key, "must be a list");
    out.clear();
    for (auto item : n) {
      if (!item.IsScalar()) return fail(key, "must be a list of names");
      out.push_back(item.Scalar());
    }
  }
  // Calls each(name, reader) for every entry of a mapping of named sections.
  template <class Fn>
  void named_sections(const std::string& key, Fn each) {
    auto n = take(key);
    if (!n.IsDefined() || n.IsNull()) return;
    if (!n.IsMap()) return fail(key, "must be a mapping of names to settings");
    for (auto it : n) {
      auto name = it.first.as<std::string>();
      map_reader r(it.second, join(key) + "." + name, _problems);
      each(name, r);
    }
  }

  // Calls each(reader) for every entry of a list of mappings.
  template <class Fn>
  void section_list(const std::string& key, Fn each) {
    auto n = take(key);
    if (!n.IsDefined() || n.IsNull()) return;
    if (!n.IsSequence()) return fail(key, "must be a list");
    size_t i = 0;
    for (auto item : n) {
      map_reader r(item, join(key) + "[" + std::to_string(i++) + "]", _problems);
      each(r);
    }
  }

  void fail(const std::string& key, const std::string& why) {
    _problems.push_back((key.empty() ? _prefix : join(key)) + ": " + why);
  }

 private:
  std::string join(const std::string& key) const {
    return _prefix.empty() ? key : _prefix + "." + key;
  }
  YAML::Node take(const std::string& key) {
    _known.insert(key);
    if (!_node.IsDefined() || !_node.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    return const_cast<const YAML::Node&>(_node)[key];
  }
  // The key's scalar; nullopt when absent or null (the default stays) or not a scalar (reported).
  // A YAML::Node cannot say "absent" itself: a default-constructed one converts to true.
  std::optional<YAML::Node> scalar(const std::string& key) {
    auto n = take(key);
    if (!n.IsDefined() || n.IsNull()) return std::nullopt;
    if (!n.IsScalar()) {
      fail(key, "must be a single value");
      return std::nullopt;
    }
    return n;
  }
  void finish() {
    if (!_node.IsDefined() || !_node.IsMap()) return;
    for (auto it : _node) {
      auto key = it.first.as<std::string>();
      if (!_known.count(key)) fail(key, "unknown key");
    }
    _node = YAML::Node(YAML::NodeType::Undefined);
  }

  static std::optional<uint64_t> parse_bytes(const std::string& s) {
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end == s.data()) return std::nullopt;
    std::string unit(end, s.data() + s.size());
    static const std::pair<const char*, uint64_t> units[] = {{"", 1},
                                                             {"B", 1},
                                                             {"KiB", 1ull << 10},
                                                             {"MiB", 1ull << 20},
                                                             {"GiB", 1ull << 30},
                                                             {"TiB", 1ull << 40},
                                                             {"KB", 1000},
                                                             {"MB", 1000'000},
                                                             {"GB", 1000'000'000},
                                                             {"TB", 1000'000'000'000}};
    for (auto& [name, mult] : units) {
      if (unit == name) {
        if (v > std::numeric_limits<uint64_t>::max() / mult) return std::nullopt;
        return v * mult;
      }
    }
    return std::nullopt;
  }
  static std::optional<int64_t> parse_duration_ms(const std::string& s) {
    int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end == s.data() || v < 0) return std::nullopt;
    std::string unit(end, s.data() + s.size());
    static const std::pair<const char*, int64_t> units[] = {
        {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3600'000}, {"d", 86400'000}};
    for (auto& [name, mult] : units) {
      if (unit == name) {
        if (v > std::numeric_limits<int64_t>::max() / mult) return std::nullopt;
        return v * mult;
      }
    }
    return std::nullopt;
  }

  YAML::Node _node;
  std::string _prefix;
  problems& _problems;
  std::set<std::string> _known;
};

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

void read_config(const YAML::Node& root, bridge_config& c, problems& p) {
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
  }
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
  }
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

std::variant<bridge_config, problems> parse(const std::string& yaml_text) {
  problems p;
  bridge_config c;
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
  {
    std::istringstream in(yaml_text);
    YAML::Parser parser(in);
    duplicate_key_finder finder;
    while (parser.HandleNextDocument(finder)) {
    }
    if (!finder.found.empty()) return finder.found;
  }
  read_config(root, c, p);
  if (!p.empty()) return p;
  apply_topic_overrides(c);
  p = validate(c);
  if (!p.empty()) return p;
  return c;
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
  if (c.http.enabled && c.http.port != 0 && c.http.port == c.server.port &&
      c.http.host == c.server.host) {
    p.push_back("http.port: must differ from listener.port");
  }
  for (auto& s : bridge::validate(c.handlers)) p.push_back("server." + s);
  for (auto& s : storage::validate(c.storage)) p.push_back(s);
  for (auto& s : bridge::validate(c.mirror)) p.push_back(s);
  if (c.downlink.enabled) {
    for (auto& s : bridge::validate(c.downlink)) p.push_back(s);
  }
  for (auto& s : bridge::groups::validate(c.groups)) p.push_back(s);
  for (auto& s : bridge::validate(c.topics)) p.push_back(s);
  if (c.server.port == 0) p.push_back("listener.port: must be between 1 and 65535");
  std::error_code ec;
  std::filesystem::create_directories(c.storage.data_dir, ec);
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

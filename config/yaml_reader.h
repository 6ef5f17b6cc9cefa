// YAML reading for config.cc: a duplicate-key check over yaml-cpp's parse events and map_reader,
// the typed getters that record problems instead of throwing. Internal to config/.
#pragma once

#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "config/config.h"

namespace eb::config::detail {
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

  // Calls each(index, reader) (or each(reader)) for every entry of a list of mappings; the
  // reader's keys are named "key.<name>" when the entry has a `name`, "key[i]" otherwise.
  template <class Fn>
  void section_list(const std::string& key, Fn each) {
    auto n = take(key);
    if (!n.IsDefined() || n.IsNull()) return;
    if (!n.IsSequence()) return fail(key, "must be a list");
    size_t i = 0;
    for (auto item : n) {
      std::string label = join(key) + "[" + std::to_string(i) + "]";
      if (item.IsMap() && item["name"] && item["name"].IsScalar()) {
        label = join(key) + "." + item["name"].Scalar();
      }
      map_reader r(item, label, _problems);
      if constexpr (std::is_invocable_v<Fn, size_t, map_reader&>) {
        each(i++, r);
      } else {
        ++i;
        each(r);
      }
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

}  // namespace eb::config::detail

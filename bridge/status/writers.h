#pragma once
// Text writers of bridge/status: the Prometheus text format (0.0.4) and a small JSON writer.
#include <spdlog/fmt/fmt.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/json.h"

namespace eb::bridge::status_detail {

// Prometheus label values escape backslash, double quote and newline.
inline std::string label_value(std::string_view v) {
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

inline void json_key(std::string& out, std::string_view key) {
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

}  // namespace eb::bridge::status_detail

#include "bridge/downlink/topic_rules.h"

#include "common/topic_name.h"

namespace eb::bridge::downlink_detail {
namespace {

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

std::string regex_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::string_view(R"(\^$.|?*+()[]{})").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

// A glob as a regular expression; the first run of wildcards is group 1 ({match}).
std::string glob_to_regex(const std::string& glob) {
  std::string out;
  bool grouped = false;
  for (size_t i = 0; i < glob.size(); ++i) {
    char c = glob[i];
    if (c == '*' || c == '?') {
      std::string run;
      while (i < glob.size() && (glob[i] == '*' || glob[i] == '?')) {
        run += glob[i] == '*' ? ".*" : ".";
        ++i;
      }
      --i;
      out += grouped ? "(?:" + run + ")" : "(" + run + ")";
      grouped = true;
    } else if (c == '[') {
      auto end = glob.find(']', i + 1);
      if (end == std::string::npos) {
        out += "\\[";
        continue;
      }
      std::string cls = glob.substr(i + 1, end - i - 1);
      if (!cls.empty() && cls[0] == '!') cls[0] = '^';
      out += "[" + cls + "]";
      i = end;
    } else {
      out += regex_escape(std::string(1, c));
    }
  }
  return out;
}

bool is_glob(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

}  // namespace

topic_rules::topic_rules(const std::vector<downlink_rule>& rules, const std::string& site_id,
                         std::vector<std::string>* errors)
    : _site(site_id) {
  for (size_t i = 0; i < rules.size(); ++i) {
    const auto& r = rules[i];
    auto fail = [&](const std::string& why) {
      if (errors) errors->push_back("topics[" + std::to_string(i) + "]: " + why);
    };
    compiled c{.rule = r};
    if (r.cloud.empty()) {
      fail("cloud: must name a cloud topic or pattern");
      continue;
    }
    if (r.local.empty()) {
      fail("local: must name the local topic");
      continue;
    }
    try {
      if (r.cloud[0] == '^') {
        c.pattern = true;
        c.re = std::regex(replace_all(r.cloud, "{site}", regex_escape(site_id)));
      } else if (is_glob(r.cloud)) {
        c.pattern = true;
        c.re = std::regex(glob_to_regex(replace_all(r.cloud, "{site}", site_id)));
      } else {
        c.exact = replace_all(r.cloud, "{site}", site_id);
        if (!is_legal_topic_name(c.exact)) {
          fail("cloud: '" + c.exact + "' is not a legal topic name");
          continue;
        }
      }
    } catch (const std::regex_error& e) {
      fail("cloud: bad pattern '" + r.cloud + "': " + e.what());
      continue;
    }
    const bool per_topic = r.local.find("{topic}") != std::string::npos ||
                           r.local.find("{match}") != std::string::npos;
    if (c.pattern && !per_topic) {
      fail("local: a pattern rule must use {topic} or {match}, or every match would feed '" +
           r.local + "'");
      continue;
    }
    if (!per_topic && !is_legal_topic_name(expand(r.local, "", ""))) {
      fail("local: '" + expand(r.local, "", "") + "' is not a legal topic name");
      continue;
    }
    if (!c.pattern && !is_legal_topic_name(expand(r.local, c.exact, c.exact))) {
      fail("local: '" + expand(r.local, c.exact, c.exact) + "' is not a legal topic name");
      continue;
    }
    _rules.push_back(std::move(c));
  }
}

std::string topic_rules::expand(const std::string& tmpl, const std::string& topic,
                                const std::string& match) const {
  return replace_all(replace_all(replace_all(tmpl, "{site}", _site), "{topic}", topic), "{match}",
                     match);
}

std::optional<std::string> topic_rules::local_for(const std::string& cloud_topic) const {
  for (const auto& c : _rules) {
    if (!c.pattern) {
      if (cloud_topic == c.exact) return expand(c.rule.local, cloud_topic, cloud_topic);
      continue;
    }
    if (cloud_topic.starts_with("__")) continue;
    std::smatch m;
    if (!std::regex_match(cloud_topic, m, c.re)) continue;
    std::string match = m.size() > 1 && m[1].matched ? m[1].str() : cloud_topic;
    auto local = expand(c.rule.local, cloud_topic, match);
    if (!is_legal_topic_name(local)) return std::nullopt;
    return local;
  }
  return std::nullopt;
}

bool topic_rules::has_patterns() const {
  for (const auto& c : _rules) {
    if (c.pattern) return true;
  }
  return false;
}

}  // namespace eb::bridge::downlink_detail

#include "net/principal_rules.h"

#include <algorithm>
#include <cctype>

namespace eb::net {
namespace {

// Reads up to the next unescaped '/', unescaping "\/"; false if there is none.
bool read_part(std::string_view text, size_t& pos, std::string& out) {
  out.clear();
  while (pos < text.size()) {
    const char c = text[pos];
    if (c == '\\' && pos + 1 < text.size() && text[pos + 1] == '/') {
      out += '/';
      pos += 2;
      continue;
    }
    if (c == '/') {
      ++pos;
      return true;
    }
    out += c;
    ++pos;
  }
  return false;
}

}  // namespace

std::variant<principal_rules, std::string> principal_rules::parse(std::string_view text) {
  principal_rules r;
  size_t pos = 0;
  auto skip_separators = [&] {
    while (pos < text.size() &&
           (std::isspace(static_cast<unsigned char>(text[pos])) || text[pos] == ',')) {
      ++pos;
    }
  };
  skip_separators();
  while (pos < text.size()) {
    const auto rest = text.substr(pos);
    if (rest.starts_with("DEFAULT")) {
      r._rules.push_back(rule{.is_default = true});
      pos += 7;
    } else if (rest.starts_with("RULE:")) {
      pos += 5;
      rule ru;
      if (!read_part(text, pos, ru.pattern_text) || !read_part(text, pos, ru.replacement)) {
        return "RULE at offset " + std::to_string(rest.data() - text.data()) +
               ": expected RULE:pattern/replacement/[L|U]";
      }
      if (pos < text.size() && (text[pos] == 'L' || text[pos] == 'U')) ru.caseing = text[pos++];
      try {
        ru.pattern = std::regex(ru.pattern_text, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        return "RULE pattern '" + ru.pattern_text + "': " + e.what();
      }
      r._rules.push_back(std::move(ru));
    } else {
      return "unexpected '" + std::string(rest.substr(0, 20)) +
             "': expected RULE:pattern/replacement/[L|U] or DEFAULT";
    }
    if (pos < text.size() && !std::isspace(static_cast<unsigned char>(text[pos])) &&
        text[pos] != ',') {
      return "unexpected '" + std::string(text.substr(pos, 20)) + "' after a rule";
    }
    skip_separators();
  }
  if (r._rules.empty()) r._rules.push_back(rule{.is_default = true});
  return r;
}

std::optional<std::string> principal_rules::apply(const std::string& subject) const {
  for (const auto& ru : _rules) {
    if (ru.is_default) return subject;
    if (!std::regex_match(subject, ru.pattern)) continue;
    std::string out = std::regex_replace(subject, ru.pattern, ru.replacement);
    if (ru.caseing == 'L') {
      std::transform(out.begin(), out.end(), out.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    } else if (ru.caseing == 'U') {
      std::transform(out.begin(), out.end(), out.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    }
    return out;
  }
  return std::nullopt;
}

}  // namespace eb::net

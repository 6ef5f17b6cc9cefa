#pragma once
// Kafka's ssl.principal.mapping.rules: how a client certificate's subject becomes a principal
// name. A comma-separated list, tried in order, the first that matches wins:
//   RULE:pattern/replacement/[L|U]   pattern must match the whole RFC 2253 subject; the result
//                                    is the subject with every match replaced (Java/ECMAScript
//                                    $1 references), lower- (L) or upper-cased (U)
//   DEFAULT                          the subject unchanged
// A subject that no rule matches has no principal (the connection is refused). A '/' inside a
// pattern or replacement is written "\/".
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace eb::net {

class principal_rules {
 public:
  // The rules, or what is wrong with the text.
  static std::variant<principal_rules, std::string> parse(std::string_view text);
  // The name for `subject` (without "User:"), nullopt when no rule matches.
  std::optional<std::string> apply(const std::string& subject) const;

 private:
  struct rule {
    bool is_default = false;
    std::string pattern_text;
    std::regex pattern;
    std::string replacement;
    char caseing = 0;  // 0, 'L' or 'U'
  };
  std::vector<rule> _rules;
};

}  // namespace eb::net

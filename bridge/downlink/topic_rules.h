#pragma once
// The downlink's rules compiled: which cloud topics are copied, and to which local topic.
// Internal to bridge/downlink.
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "bridge/downlink/options.h"

namespace eb::bridge::downlink_detail {

class topic_rules {
 public:
  struct compiled {
    downlink_rule rule;
    bool pattern = false;
    std::string exact;  // the cloud name, when not a pattern
    std::regex re;
  };

  // Compiles `rules` for `site_id`; problems (one per bad rule, "topics[i]: why") in `errors`.
  topic_rules(const std::vector<downlink_rule>& rules, const std::string& site_id,
              std::vector<std::string>* errors = nullptr);

  // The local topic for a cloud topic, or nullopt when no rule matches it. Internal topics
  // (starting with "__") only match exact rules.
  std::optional<std::string> local_for(const std::string& cloud_topic) const;
  // Exact cloud names (metadata can be asked for them alone when there is no pattern).
  bool has_patterns() const;
  const std::vector<compiled>& rules() const { return _rules; }

 private:
  std::string expand(const std::string& tmpl, const std::string& topic,
                     const std::string& match) const;
  std::string _site;
  std::vector<compiled> _rules;
};

}  // namespace eb::bridge::downlink_detail

#pragma once
// Options of the cloud control channel (bridge/remote/link.h): remote configuration documents
// read from a cloud topic, and the outcomes and the periodic fleet record published to another.
// The channel uses the mirror's cloud connection (mirror.bootstrap, mirror.properties). config/
// maps the YAML `remote:` section onto these. No dependencies beyond the standard library.
#include <chrono>
#include <string>
#include <vector>

namespace eb::bridge {

struct remote_options {
  // The channel runs when enabled and the mirror has a bootstrap.
  bool enabled = true;
  // Config documents (YAML with a `version:` integer) are read from partition 0 of this topic;
  // "{site}" is substituted.
  std::string config_topic = "{site}.edgebridge.config";
  // Outcomes of config documents and the periodic fleet record go here, keyed by site id.
  std::string status_topic = "{site}.edgebridge.status";
  // How often the fleet record is published.
  std::chrono::milliseconds status_interval{60'000};

  static std::string expand(const std::string& pattern, const std::string& site) {
    std::string out;
    for (size_t i = 0; i < pattern.size();) {
      if (pattern.compare(i, 6, "{site}") == 0) {
        out += site;
        i += 6;
      } else {
        out += pattern[i++];
      }
    }
    return out;
  }
};

inline std::vector<std::string> validate(const remote_options& o) {
  std::vector<std::string> p;
  if (o.config_topic.empty()) p.push_back("remote.config_topic: must not be empty");
  if (o.status_topic.empty()) p.push_back("remote.status_topic: must not be empty");
  if (o.config_topic == o.status_topic) {
    p.push_back("remote.status_topic: must differ from remote.config_topic");
  }
  if (o.status_interval < std::chrono::seconds(1)) {
    p.push_back("remote.status_interval: must be at least 1s");
  }
  return p;
}

}  // namespace eb::bridge

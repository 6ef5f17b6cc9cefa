#include "bridge/downlink/options.h"

#include <librdkafka/rdkafka.h>

#include <array>
#include <memory>
#include <set>

#include "bridge/downlink/topic_rules.h"

namespace eb::bridge {

std::vector<std::string> validate_rules(const std::vector<downlink_rule>& rules,
                                        const std::string& site_id) {
  std::vector<std::string> p;
  downlink_detail::topic_rules compiled(rules, site_id, &p);
  for (auto& s : p) s = "downlink." + s;
  return p;
}

std::vector<std::string> validate(const downlink_options& o) {
  auto p = validate_rules(o.topics, o.site_id);
  // Keys the downlink owns: its exactly-once needs no group and no commits, and its memory bound
  // comes from the options.
  static const std::set<std::string> owned = {"bootstrap.servers",
                                              "metadata.broker.list",
                                              "group.id",
                                              "enable.auto.commit",
                                              "enable.auto.offset.store",
                                              "auto.offset.reset",
                                              "queued.max.messages.kbytes",
                                              "fetch.max.bytes",
                                              "max.partition.fetch.bytes",
                                              "fetch.message.max.bytes",
                                              "queued.min.messages",
                                              "enable.partition.eof",
                                              "group.instance.id",
                                              "partition.assignment.strategy"};
  std::unique_ptr<rd_kafka_conf_t, void (*)(rd_kafka_conf_t*)> conf(rd_kafka_conf_new(),
                                                                    rd_kafka_conf_destroy);
  for (auto& [k, v] : o.properties) {
    if (owned.count(k)) {
      p.push_back("downlink.properties." + k + ": set by the downlink itself");
      continue;
    }
    std::array<char, 512> err{};
    if (rd_kafka_conf_set(conf.get(), k.c_str(), v.c_str(), err.data(), err.size()) !=
        RD_KAFKA_CONF_OK) {
      p.push_back("downlink.properties." + k + ": " + err.data());
    }
  }
  if (o.max_queued_bytes < 1024) p.push_back("downlink.max_queued_bytes: must be at least 1KiB");
  if (o.max_queued_bytes > (2000ull << 30)) p.push_back("downlink.max_queued_bytes: too large");
  if (o.fetch_max_bytes < 1024 || o.fetch_max_bytes > 0x7fffffff) {
    p.push_back("downlink.fetch_max_bytes: must be between 1KiB and 2GiB");
  }
  if (o.partition_fetch_max_bytes < 1024 || o.partition_fetch_max_bytes > o.fetch_max_bytes) {
    p.push_back("downlink.partition_fetch_max_bytes: must be between 1KiB and fetch_max_bytes");
  }
  if (o.max_batch_bytes < 1024 || o.max_batch_bytes > (64ull << 20)) {
    p.push_back("downlink.max_batch_bytes: must be between 1KiB and 64MiB");
  }
  if (o.quota_pause_percent < 1 || o.quota_pause_percent > 100) {
    p.push_back("downlink.quota_pause_percent: must be between 1 and 100");
  }
  if (o.quota_resume_percent < 0 || o.quota_resume_percent >= o.quota_pause_percent) {
    p.push_back("downlink.quota_resume_percent: must be below quota_pause_percent");
  }
  if (o.metadata_refresh.count() < 100) {
    p.push_back("downlink.metadata_refresh: must be at least 100ms");
  }
  return p;
}

}  // namespace eb::bridge

// Live reconfiguration (app::reconfigure), SIGHUP (app::reload_file) and the layering of the
// configuration at start (load_layers). README, "Configuration layers", says how they combine.
#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

#include "bridge/app/parts.h"
#include "config/live.h"

namespace eb::bridge {
namespace {

std::variant<std::string, config::problems> read_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return config::problems{"config file " + file.string() + ": cannot be read"};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The command line over a parsed layering, validated again (it may move the data dir or ports).
std::variant<config::bridge_config, config::problems> finish(
    std::variant<config::bridge_config, config::problems> parsed, const config_layers& layers) {
  if (std::holds_alternative<config::problems>(parsed)) return parsed;
  auto cfg = std::get<config::bridge_config>(std::move(parsed));
  if (layers.command_line) layers.command_line(cfg);
  if (auto p = config::validate(cfg); !p.empty()) return p;
  return cfg;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (auto& k : v) s += (s.empty() ? "" : ", ") + k;
  return s;
}

}  // namespace

std::variant<config::bridge_config, config::problems> load_layers(config_layers& layers) {
  if (layers.file_text.empty()) {
    if (layers.file.empty()) {
      layers.file_text = config::default_yaml();
    } else {
      auto text = read_file(layers.file);
      if (auto* p = std::get_if<config::problems>(&text)) return *p;
      layers.file_text = std::get<std::string>(text);
    }
  }
  // The file alone first: its problems are exactly what --check-config prints.
  auto alone = finish(config::parse(layers.file_text), layers);
  if (std::holds_alternative<config::problems>(alone)) return alone;
  remote_store files(std::get<config::bridge_config>(alone).storage.data_dir);
  auto stored = files.document();
  if (stored.empty()) return alone;
  auto doc = config::parse_remote_document(stored);
  if (auto* p = std::get_if<config::problems>(&doc)) {
    spdlog::error("remote config: the stored document is unreadable ({}); running the file alone",
                  p->front());
    return alone;
  }
  auto& d = std::get<config::remote_document>(doc);
  auto merged = finish(config::parse_layers(layers.file_text, d.overlay), layers);
  if (auto* p = std::get_if<config::problems>(&merged)) {
    for (auto& problem : *p) {
      spdlog::error("remote config: version {} no longer fits the file: {}", d.version, problem);
    }
    spdlog::error("remote config: running the file alone; the document stays stored");
    return alone;
  }
  layers.remote_version = d.version;
  layers.remote_overlay = d.overlay;
  layers.remote_applied = true;
  spdlog::info("remote config: version {} applies over the file", d.version);
  return merged;
}

reconfigure_outcome app::reconfigure(const config::bridge_config& next) {
  auto& p = *_parts;
  std::lock_guard lk(p.reconfig_mutex);
  reconfigure_outcome out;
  auto diff = config::compare(p.running, next);
  out.needs_restart = diff.restart;
  if (diff.log_level) {
    spdlog::set_level(spdlog::level::from_str(next.log_level));
    p.running.log_level = next.log_level;
    out.applied.push_back("log_level");
  }
  if (diff.topics) {
    // New creations use the new options from here on (io threads read a snapshot) ...
    p.topics.set_options(next.topics);
    // ... and existing topics take them under their stored (admin API) settings, on the writer.
    if (auto changed = p.topics.reconcile_blocking(); !changed) {
      out.failed.push_back("topics: " + changed.error().message());
    }
    p.running.topics = next.topics;
    for (auto& k : diff.live) {
      if (k.rfind("topics.", 0) == 0) out.applied.push_back(k);
    }
  }
  std::vector<std::string> mirror_keys;
  for (auto& k : diff.live) {
    if (k.rfind("mirror.", 0) == 0) mirror_keys.push_back(k);
  }
  if (diff.mirror_rebuild) {
    // Stop, then start with the new options: never two mirrors at once (both would send). The
    // cloud's tail gives the new one its resume points, as after any restart.
    std::shared_ptr<mirror> old;
    {
      std::lock_guard m(p.mirror_mutex);
      old.swap(p.uplink);
    }
    if (old) old->stop(p.cfg.server.shutdown_grace);
    old.reset();
    auto start_with = [&](const mirror_options& o) -> std::string {
      if (!o.active()) return {};
      auto opts = o;
      opts.exclude = p.mirror_exclude;
      auto m = std::make_shared<mirror>(opts, *p.store);
      if (auto started = m->start(); !started) return started.error().message();
      std::lock_guard g(p.mirror_mutex);
      p.uplink = std::move(m);
      return {};
    };
    if (auto error = start_with(next.mirror); error.empty()) {
      p.running.mirror = next.mirror;
      p.mirror_wanted = next.mirror.active();
      out.applied.insert(out.applied.end(), mirror_keys.begin(), mirror_keys.end());
      spdlog::info("reconfigure: the mirror runs with its new options ({})", join(mirror_keys));
    } else {
      out.failed.push_back("mirror: " + error + " (the previous mirror options run again)");
      if (auto again = start_with(p.running.mirror); !again.empty()) {
        spdlog::error("reconfigure: the previous mirror options fail too: {}", again);
      }
    }
  } else if (diff.bandwidth) {
    // Only the cap: the mirror thread takes it without a restart.
    if (auto m = p.current_mirror()) m->set_bandwidth(next.mirror.bandwidth_bytes_per_sec);
    p.running.mirror.bandwidth_bytes_per_sec = next.mirror.bandwidth_bytes_per_sec;
    out.applied.push_back("mirror.bandwidth_bytes_per_sec");
  }
  if (diff.downlink) {
    // The downlink thread takes the new rules (bridge/downlink/downlink.h); without a running
    // downlink the list waits for the next start.
    if (p.down) {
      auto problems = p.down->set_topics(next.downlink.topics);
      if (problems.empty()) {
        p.running.downlink.topics = next.downlink.topics;
        out.applied.push_back("downlink.topics");
      } else {
        for (auto& problem : problems) out.failed.push_back(problem);
      }
    } else {
      out.needs_restart.push_back("downlink.topics");
    }
  }
  // Hook: users and ACLs (branch `sasl`): diff.security, applied through the security
  // registry's own swap, the same way.
  if (!out.applied.empty()) spdlog::info("reconfigure: applied {}", join(out.applied));
  if (!out.needs_restart.empty()) {
    spdlog::warn("reconfigure: needs a restart to take effect: {}", join(out.needs_restart));
  }
  for (auto& f : out.failed) spdlog::error("reconfigure: {}", f);
  return out;
}

std::variant<reconfigure_outcome, config::problems> app::reload_file() {
  auto& p = *_parts;
  config_layers layers;
  {
    std::lock_guard lk(p.reconfig_mutex);
    layers = p.layers;
  }
  if (layers.file.empty()) {
    return config::problems{"no config file: edgebridge runs the embedded default"};
  }
  auto text = read_file(layers.file);
  if (auto* problems = std::get_if<config::problems>(&text)) {
    note_outcome("sighup", "rejected", 0, nullptr, *problems);
    return *problems;
  }
  layers.file_text = std::get<std::string>(text);
  auto alone = finish(config::parse(layers.file_text), layers);
  std::variant<config::bridge_config, config::problems> next = std::move(alone);
  if (std::holds_alternative<config::bridge_config>(next) && layers.remote_applied) {
    next = finish(config::parse_layers(layers.file_text, layers.remote_overlay), layers);
  }
  if (auto* problems = std::get_if<config::problems>(&next)) {
    note_outcome("sighup", "rejected", 0, nullptr, *problems);
    return *problems;
  }
  auto done = reconfigure(std::get<config::bridge_config>(next));
  {
    std::lock_guard lk(p.reconfig_mutex);
    p.layers.file_text = layers.file_text;
  }
  note_outcome("sighup", done.needs_restart.empty() ? "applied" : "needs-restart", 0, &done, {});
  return done;
}

config::bridge_config app::running_config() const {
  std::lock_guard lk(_parts->reconfig_mutex);
  return _parts->running;
}

}  // namespace eb::bridge

// Remote configuration: documents from the cloud's config topic (bridge/remote/link.h) checked
// against the versions seen, validated over the file layer, applied through app::reconfigure and
// persisted (bridge/app/remote_store.h); every outcome goes to the status topic and the status
// page.
#include <spdlog/spdlog.h>

#include <chrono>

#include "bridge/app/parts.h"
#include "bridge/status/writers.h"
#include "config/live.h"

#ifndef EB_VERSION
#define EB_VERSION "unknown"
#endif

namespace eb::bridge {
namespace {

std::variant<config::bridge_config, config::problems> layered(const config_layers& layers,
                                                              const std::string& overlay) {
  auto parsed = config::parse_layers(layers.file_text, overlay);
  if (std::holds_alternative<config::problems>(parsed)) return parsed;
  auto cfg = std::get<config::bridge_config>(std::move(parsed));
  if (layers.command_line) layers.command_line(cfg);
  if (auto p = config::validate(cfg); !p.empty()) return p;
  return cfg;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void app::start_remote() {
  auto& p = *_parts;
  const auto& c = p.cfg;
  remote_link_options o{.bootstrap = c.mirror.bootstrap,
                        .properties = c.mirror.properties,
                        .site_id = c.site_id,
                        .config_topic = remote_options::expand(c.remote.config_topic, c.site_id),
                        .status_topic = remote_options::expand(c.remote.status_topic, c.site_id),
                        .status_interval = c.remote.status_interval};
  p.link = std::make_unique<remote_link>(
      o,
      [this](const std::string& text, const std::string& error, int64_t offset) {
        if (!error.empty()) {
          spdlog::warn("remote config: document at offset {} rejected: {}", offset, error);
          note_outcome("remote", "rejected", 0, nullptr, {error});
          return;
        }
        handle_remote_document(text);
      },
      [this] { return render_fleet_json(_parts->status.snapshot(), EB_VERSION); });
  if (auto error = p.link->start(); !error.empty()) {
    // The site keeps serving and mirroring; only the control channel is missing.
    spdlog::error("remote: the control channel does not start: {}", error);
    p.link.reset();
  }
}

void app::handle_remote_document(const std::string& text) {
  auto& p = *_parts;
  auto doc = config::parse_remote_document(text);
  if (auto* problems = std::get_if<config::problems>(&doc)) {
    for (auto& problem : *problems) spdlog::error("remote config: rejected: {}", problem);
    note_outcome("remote", "rejected", 0, nullptr, *problems);
    return;
  }
  auto& d = std::get<config::remote_document>(doc);
  config_layers layers;
  {
    std::lock_guard lk(p.reconfig_mutex);
    layers = p.layers;
  }
  int64_t seen;
  {
    std::lock_guard lk(p.view_mutex);
    seen = std::max(p.view.seen_version, layers.remote_version);
    if (d.version <= seen) {
      p.view.ignored++;
    } else {
      p.view.seen_version = d.version;
    }
  }
  if (d.version <= seen) {
    spdlog::info("remote config: version {} ignored (version {} already seen)", d.version, seen);
    return;
  }
  if (auto error = p.remote_files.save_seen_version(d.version); !error.empty()) {
    spdlog::error("remote config: cannot persist the version seen: {}", error);
  }
  auto next = layered(layers, d.overlay);
  if (auto* problems = std::get_if<config::problems>(&next)) {
    for (auto& problem : *problems) {
      spdlog::error("remote config: version {} rejected: {}", d.version, problem);
    }
    note_outcome("remote", "rejected", d.version, nullptr, *problems);
    return;
  }
  // Stored before it is applied: what runs always survives a restart.
  if (auto error = p.remote_files.save_document(text); !error.empty()) {
    note_outcome("remote", "rejected", d.version, nullptr,
                 {"the document cannot be persisted: " + error});
    return;
  }
  auto done = reconfigure(std::get<config::bridge_config>(next));
  {
    std::lock_guard lk(p.reconfig_mutex);
    p.layers.remote_version = d.version;
    p.layers.remote_overlay = d.overlay;
    p.layers.remote_applied = true;
  }
  {
    std::lock_guard lk(p.view_mutex);
    p.view.remote_version = d.version;
  }
  spdlog::info("remote config: version {} applied", d.version);
  note_outcome("remote", done.needs_restart.empty() ? "applied" : "needs-restart", d.version, &done,
               {});
}

void app::note_outcome(const std::string& source, const std::string& outcome, int64_t version,
                       const reconfigure_outcome* done, const std::vector<std::string>& problems) {
  auto& p = *_parts;
  static const std::vector<std::string> none;
  const auto& applied = done ? done->applied : none;
  const auto& restart = done ? done->needs_restart : none;
  const auto& failed = done ? done->failed : none;
  auto time = now_ms();
  {
    std::lock_guard lk(p.view_mutex);
    auto& v = p.view;
    v.last_source = source;
    v.last_outcome = outcome;
    v.last_version = version;
    v.last_time_ms = time;
    v.applied = applied;
    v.needs_restart = restart;
    v.problems = problems;
    v.problems.insert(v.problems.end(), failed.begin(), failed.end());
    v.reloads++;
  }
  if (!p.link) return;
  status_detail::json_writer w;
  auto list = [&](const char* key, const std::vector<std::string>& items) {
    w.open_array(key);
    for (auto& k : items) w.str({}, k);
    w.close();
  };
  w.open().str("type", "config").str("site", p.cfg.site_id).str("source", source);
  if (version > 0) {
    w.num("version", version);
  } else {
    w.null("version");
  }
  w.str("outcome", outcome).num("time_ms", time);
  list("applied", applied);
  list("needs_restart", restart);
  list("failed", failed);
  list("problems", problems);
  w.close();
  p.link->publish(w.take());
}

}  // namespace eb::bridge

// edgebridge: a store-and-forward Kafka gateway for edge sites. This file reads the flags and the
// config and owns the signals; bridge::app is the process.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <optional>

#include "bridge/app.h"
#include "bridge/app/systemd.h"
#include "bridge/logging.h"
#include "bridge/security/users.h"
#include "bridge/status/client.h"
#include "config/config.h"

namespace {

// Configuration problems exit with 2, like a usage error.
constexpr int config_error_status = 2;

sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

// SIGHUP: the live keys of the config file again (app::reload_file). A file with problems is
// rejected whole, printed like --check-config prints it, and nothing changes.
void reload(eb::bridge::app& app) {
  eb::bridge::systemd::notify_reloading();
  spdlog::info("SIGHUP received: reloading the config file");
  auto outcome = app.reload_file();
  if (auto* problems = std::get_if<eb::config::problems>(&outcome)) {
    for (auto& p : *problems) {
      std::cerr << "edgebridge: config error: " << p << "\n";
      spdlog::error("reload rejected: {}", p);
    }
    spdlog::error("reload rejected: the running configuration is unchanged");
  } else {
    auto& done = std::get<eb::bridge::reconfigure_outcome>(outcome);
    spdlog::info("reload done: {} key(s) applied, {} need a restart, {} failed",
                 done.applied.size(), done.needs_restart.size(), done.failed.size());
  }
  eb::bridge::systemd::notify_ready();
}

// Runs the app until SIGINT/SIGTERM: graceful shutdown on the first, immediate exit on a second.
// SIGHUP reloads the config file's live keys. Returns 0 after a clean shutdown, 1 when a part
// fails to start (port taken, storage unusable).
int run(const eb::config::bridge_config& cfg, eb::bridge::config_layers layers) {
  // Blocked before any thread exists, so every thread inherits the mask and only sigwait below
  // sees the signals.
  const sigset_t signals = handled_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto app = eb::bridge::app::start(cfg, std::move(layers));
  if (!app) return 1;
  std::optional<eb::bridge::systemd::watchdog> watchdog;
  watchdog.emplace((*app)->io_executor());
  eb::bridge::systemd::notify_ready();

  int signal = 0;
  while (true) {
    sigwait(&signals, &signal);
    if (signal != SIGHUP) break;
    reload(**app);
  }
  spdlog::info("{} received: shutting down (a second signal exits at once)", strsignal(signal));
  eb::bridge::systemd::notify_stopping();
  watchdog.reset();
  // From here the default action applies again: a second Ctrl-C ends the process.
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGTERM, SIG_DFL);
  pthread_sigmask(SIG_UNBLOCK, &signals, nullptr);
  (*app)->stop();
  spdlog::info("edgebridge stopped cleanly");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"edgebridge: a store-and-forward Kafka gateway for edge sites"};
  std::string config_file, log_level, mirror_bootstrap, data_dir;
  // Lets scripts/run.sh (and its test) run the embedded default off port 9092 without a config
  // file, which would switch run.sh to "your config" mode.
  std::optional<uint16_t> port, http_port;
  bool check_only = false, print_default = false;
  cli.add_option("-c,--config", config_file, "YAML config file (default: the embedded default)");
  cli.add_option("--log-level", log_level, "trace, debug, info, warn or error (overrides config)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  cli.add_option("--mirror-bootstrap", mirror_bootstrap,
                 "cloud Kafka bootstrap (overrides config)");
  cli.add_option("--data-dir", data_dir, "storage directory (overrides config)");
  cli.add_option("--port", port, "listener port (overrides config; the first of `listeners`)")
      ->check(CLI::Range(1, 65535));
  cli.add_option("--http-port", http_port, "HTTP status port, 0 = any free one (overrides config)")
      ->check(CLI::Range(0, 65535));
  cli.add_flag("--check-config", check_only, "validate the config and exit");
  cli.add_flag("--print-default-config", print_default, "print the embedded default config");
  std::string status_url = "http://127.0.0.1:9644";
  auto* status_cmd = cli.add_subcommand("status", "print a running gateway's status (JSON)");
  status_cmd->add_option("--url", status_url, "the gateway's HTTP endpoint")->capture_default_str();
  // Offline user management on the data directory (the bridge stopped); a running bridge takes
  // kafka-configs.sh --alter --add-config 'SCRAM-SHA-512=[password=...]' instead.
  auto* users_cmd = cli.add_subcommand("users",
                                       "manage SASL/SCRAM users in the data directory "
                                       "(stop the bridge first)");
  users_cmd->require_subcommand(1);
  std::string user_name, password_file;
  std::vector<std::string> mechanisms = {"SCRAM-SHA-512", "SCRAM-SHA-256"};
  int32_t iterations = 8192;
  auto* users_add = users_cmd->add_subcommand("add", "add or change a user (password on stdin)");
  users_add->add_option("name", user_name, "user name")->required();
  users_add->add_option("--password-file", password_file,
                        "file whose first line is the password (not world-readable)");
  users_add->add_option("--mechanism", mechanisms, "SCRAM-SHA-256 and/or SCRAM-SHA-512")
      ->capture_default_str();
  users_add->add_option("--iterations", iterations, "PBKDF2 iterations")
      ->check(CLI::Range(4096, 16384))
      ->capture_default_str();
  auto* users_remove = users_cmd->add_subcommand("remove", "remove a user's credentials");
  users_remove->add_option("name", user_name, "user name")->required();
  users_cmd->add_subcommand("list", "list users and their mechanisms");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int status = cli.exit(e);
    return status == 0 ? 0 : config_error_status;
  }
  if (status_cmd->parsed()) return eb::bridge::print_status(status_url);
  if (print_default) {
    std::cout << eb::config::default_yaml();
    return 0;
  }

  auto loaded = config_file.empty() ? eb::config::parse(eb::config::default_yaml())
                                    : eb::config::load(config_file);
  if (auto* problems = std::get_if<eb::config::problems>(&loaded)) {
    for (auto& p : *problems) {
      std::cerr << "edgebridge: config error: " << p << "\n";
    }
    return config_error_status;
  }
  // The command line wins over every layer, at start and at each reload.
  auto command_line = [=](eb::config::bridge_config& c) {
    if (!mirror_bootstrap.empty()) c.mirror.bootstrap = mirror_bootstrap;
    if (!data_dir.empty()) c.storage.data_dir = data_dir;
    if (port) {
      // With several listeners, --port moves the first one.
      if (c.server.listeners.empty()) {
        c.server.port = *port;
      } else {
        c.server.listeners.front().port = *port;
      }
    }
    if (http_port) c.http.port = *http_port;
    if (!log_level.empty()) c.log_level = log_level;
  };
  auto cfg = std::get<eb::config::bridge_config>(std::move(loaded));
  command_line(cfg);
  if (auto problems = eb::config::validate(cfg); !problems.empty()) {
    for (auto& p : problems) std::cerr << "edgebridge: config error: " << p << "\n";
    return config_error_status;
  }
  if (users_cmd->parsed()) {
    spdlog::set_level(spdlog::level::warn);
    auto* sub = users_cmd->get_subcommands().front();
    return eb::bridge::security::users_command(cfg.storage, sub->get_name(), user_name,
                                               password_file, mechanisms, iterations);
  }
  if (check_only) {
    std::cout << "config ok\n";
    return 0;
  }

  // The remote document persisted in the data dir applies over the file (README, "Configuration
  // layers").
  eb::bridge::config_layers layers{.file = config_file, .command_line = command_line};
  if (config_file.empty()) layers.file_text = eb::config::default_yaml();
  auto layered = eb::bridge::load_layers(layers);
  if (auto* problems = std::get_if<eb::config::problems>(&layered)) {
    for (auto& p : *problems) std::cerr << "edgebridge: config error: " << p << "\n";
    return config_error_status;
  }
  cfg = std::get<eb::config::bridge_config>(std::move(layered));

  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  eb::bridge::set_log_format(cfg.log_format);
  return run(cfg, std::move(layers));
}

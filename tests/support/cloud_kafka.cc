#include "tests/support/cloud_kafka.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>

namespace eb::test {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string kafka_script() { return (source_dir() / "scripts/kafka/kafka.sh").string(); }

}  // namespace

std::filesystem::path source_dir() {
  if (const char* dir = std::getenv("EB_SOURCE_DIR")) return dir;
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
}

std::string run_command(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) throw std::runtime_error("popen failed: " + command);
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), pipe.get())) out.append(buf.data(), n);
  int status = pclose(pipe.release());
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("command failed (" + std::to_string(status) + "): " + command);
  }
  return out;
}

std::string cloud_bootstrap() {
  static const std::string bootstrap = [] {
    if (const char* b = std::getenv("EB_KAFKA_BOOTSTRAP")) return std::string(b);
    // The ctest fixture's broker, while it runs (kafka.sh removes its pid file on stop).
    std::filesystem::path dir = EB_TEST_CLOUD_DIR;
    if (const char* d = std::getenv("EB_CLOUD_DIR")) dir = d;
    if (std::filesystem::exists(dir / "pid")) {
      std::ifstream in(dir / "bootstrap");
      std::string b;
      if (in && std::getline(in, b) && !b.empty()) return trim(b);
    }
    dir = std::filesystem::temp_directory_path() / ("eb-cloud-" + std::to_string(getpid()));
    // Stopped and removed at exit: a broker started by a test binary run on its own must not
    // outlive it.
    static std::string stop_command;
    stop_command = kafka_script() + " stop " + dir.string() + " && rm -rf " + dir.string();
    std::atexit([] { (void)std::system(stop_command.c_str()); });
    return trim(run_command(kafka_script() + " start " + dir.string()));
  }();
  return bootstrap;
}

kafka_broker::kafka_broker(std::filesystem::path dir, std::string extra_args)
    : _dir(std::move(dir)), _extra_args(std::move(extra_args)) {
  start();
}

kafka_broker::~kafka_broker() { stop(); }

void kafka_broker::start() {
  std::string args = _extra_args;
  if (!_bootstrap.empty()) args += " --port=" + _bootstrap.substr(_bootstrap.rfind(':') + 1);
  _bootstrap = trim(run_command(kafka_script() + " start " + _dir.string() + " " + args));
}

void kafka_broker::stop() {
  (void)std::system((kafka_script() + " stop " + _dir.string()).c_str());  // best effort
}

}  // namespace eb::test

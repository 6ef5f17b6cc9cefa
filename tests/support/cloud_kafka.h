#pragma once
// The real Apache Kafka broker that tests use as the cloud. Under ctest it is the shared
// `cloud_kafka` fixture (EB_CLOUD_DIR); a test binary run by hand starts its own broker once per
// process through scripts/kafka/kafka.sh. The cloud is never mocked.
#include <filesystem>
#include <string>

namespace eb::test {

// "127.0.0.1:PORT" of the shared broker; starts one if none runs. Fails the test on error.
std::string cloud_bootstrap();

// A broker of the test's own (for tests that stop and restart the cloud). Stopped on destruction.
class kafka_broker {
 public:
  explicit kafka_broker(std::filesystem::path dir, std::string extra_args = "");
  ~kafka_broker();
  kafka_broker(const kafka_broker&) = delete;
  kafka_broker& operator=(const kafka_broker&) = delete;

  const std::string& bootstrap() const { return _bootstrap; }
  void stop();
  // Starts again on the same port with the same data.
  void start();

 private:
  std::filesystem::path _dir;
  std::string _extra_args;
  std::string _bootstrap;
};

std::filesystem::path source_dir();
// Runs a shell command, returns its stdout; fails the test when it exits non-zero.
std::string run_command(const std::string& command);

}  // namespace eb::test

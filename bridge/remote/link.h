#pragma once
// The cloud control channel of one site: a librdkafka consumer reads config documents from the
// config topic (partition 0, from the beginning at every start: versions decide what is new),
// and a librdkafka producer publishes to the status topic, keyed by site id, the outcome of each
// document (published by the handler through publish()) and a fleet record every
// status_interval. Both use the mirror's cloud connection (bootstrap, properties).
//
// Threads: `eb-remote-cfg` polls the consumer and runs the document handler, one document at a
// time in topic order; `eb-remote-fleet` builds and publishes the fleet record and serves the
// producer's delivery reports. publish() may be called from any thread.
//
// Bounds: the producer queue holds at most 1000 records / 16 MiB (a record that does not fit is
// dropped and counted); a document above max_document_bytes is handed to the handler as an
// error instead of its text; the consumer's prefetch is 1 MiB.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace eb::bridge {

struct remote_link_options {
  std::string bootstrap;
  // librdkafka properties for both clients (TLS, SASL): the mirror's.
  std::map<std::string, std::string> properties;
  std::string site_id;
  // Expanded topic names.
  std::string config_topic;
  std::string status_topic;
  std::chrono::milliseconds status_interval{60'000};
  size_t max_document_bytes = 1 << 20;
};

struct remote_link_counters {
  uint64_t documents = 0;         // read from the config topic
  uint64_t published = 0;         // status records confirmed by the cloud
  uint64_t publish_failures = 0;  // refused, timed out, or dropped at the queue bound
  std::string consumer_error;     // the latest, empty when fine
};

class remote_link {
 public:
  // On `eb-remote-cfg`: a document's text (or `error` when it could not be taken: too large),
  // with its offset. Blocking in it delays the next document only.
  using document_handler =
      std::function<void(const std::string& text, const std::string& error, int64_t offset)>;
  // On `eb-remote-fleet`: the fleet record's JSON.
  using fleet_source = std::function<std::string()>;

  remote_link(remote_link_options opts, document_handler on_document, fleet_source fleet);
  ~remote_link();  // stop()
  remote_link(const remote_link&) = delete;
  remote_link& operator=(const remote_link&) = delete;

  // Creates both clients and starts the threads. An unreachable cloud is not an error (the
  // clients retry); a configuration librdkafka refuses is (the message).
  std::string start();
  // Joins the threads; records still queued get up to `flush` to be delivered.
  void stop(std::chrono::milliseconds flush = std::chrono::milliseconds(2000));

  // Queues one record (key: site id) for the status topic. False when the queue is full.
  bool publish(const std::string& json);
  // Publishes a fleet record now (not waiting for the interval).
  void publish_fleet_now();

  remote_link_counters counters() const;

 private:
  struct clients;
  void consume_loop();
  void fleet_loop();

  remote_link_options _opts;
  document_handler _on_document;
  fleet_source _fleet;
  std::unique_ptr<clients> _clients;
  std::atomic<bool> _stopping{false};
  std::mutex _mutex;
  std::condition_variable _wake;
  bool _fleet_now = false;  // under _mutex
  mutable std::mutex _counters_mutex;
  remote_link_counters _counters;  // under _counters_mutex
  std::thread _consumer_thread;
  std::thread _fleet_thread;
};

}  // namespace eb::bridge

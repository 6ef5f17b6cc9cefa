#include "bridge/remote/link.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <vector>

namespace eb::bridge {
namespace {

struct conf_deleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using conf_ptr = std::unique_ptr<rd_kafka_conf_t, conf_deleter>;
struct rk_deleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using rk_ptr = std::unique_ptr<rd_kafka_t, rk_deleter>;
struct msg_deleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};

void on_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  if (level <= 4) {
    spdlog::warn("remote: {} {}: {}", rd_kafka_name(rk), fac, buf);
  } else {
    spdlog::debug("remote: {} {}: {}", rd_kafka_name(rk), fac, buf);
  }
}

// The common configuration, then `extra`; empty and an error message on a refused property.
conf_ptr make_conf(const remote_link_options& o,
                   const std::vector<std::pair<std::string, std::string>>& extra,
                   std::string& error) {
  conf_ptr conf(rd_kafka_conf_new());
  std::vector<std::pair<std::string, std::string>> props = {{"bootstrap.servers", o.bootstrap}};
  for (auto& kv : o.properties) props.push_back(kv);
  for (auto& kv : extra) props.push_back(kv);
  char err[512];
  for (auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf.get(), k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      error = k + ": " + err;
      return nullptr;
    }
  }
  rd_kafka_conf_set_log_cb(conf.get(), &on_log);
  return conf;
}

}  // namespace

struct remote_link::clients {
  rk_ptr producer;
  rk_ptr consumer;
};

remote_link::remote_link(remote_link_options opts, document_handler on_document, fleet_source fleet)
    : _opts(std::move(opts)), _on_document(std::move(on_document)), _fleet(std::move(fleet)) {}

remote_link::~remote_link() { stop(); }

std::string remote_link::start() {
  std::string error;
  auto pconf = make_conf(_opts,
                         {{"client.id", "edgebridge-status-" + _opts.site_id},
                          {"acks", "all"},
                          {"linger.ms", "50"},
                          {"message.timeout.ms", "120000"},
                          {"queue.buffering.max.messages", "1000"},
                          {"queue.buffering.max.kbytes", "16384"}},
                         error);
  if (!pconf) return "status producer: " + error;
  rd_kafka_conf_set_opaque(pconf.get(), this);
  rd_kafka_conf_set_dr_msg_cb(
      pconf.get(), [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
        auto* self = static_cast<remote_link*>(opaque);
        std::lock_guard lk(self->_counters_mutex);
        if (m->err) {
          self->_counters.publish_failures++;
          spdlog::warn("remote: a status record was not delivered: {}", rd_kafka_err2str(m->err));
        } else {
          self->_counters.published++;
        }
      });
  auto cconf = make_conf(_opts,
                         {{"client.id", "edgebridge-config-" + _opts.site_id},
                          {"group.id", "edgebridge-config-" + _opts.site_id},
                          {"enable.auto.commit", "false"},
                          {"enable.auto.offset.store", "false"},
                          {"queued.max.messages.kbytes", "1024"},
                          {"fetch.message.max.bytes", "1048576"},
                          {"topic.metadata.refresh.interval.ms", "5000"}},
                         error);
  if (!cconf) return "config consumer: " + error;
  auto c = std::make_unique<clients>();
  char err[512];
  c->producer.reset(rd_kafka_new(RD_KAFKA_PRODUCER, pconf.release(), err, sizeof err));
  if (!c->producer) return std::string("status producer: ") + err;
  c->consumer.reset(rd_kafka_new(RD_KAFKA_CONSUMER, cconf.release(), err, sizeof err));
  if (!c->consumer) return std::string("config consumer: ") + err;
  rd_kafka_poll_set_consumer(c->consumer.get());
  std::unique_ptr<rd_kafka_topic_partition_list_t, decltype(&rd_kafka_topic_partition_list_destroy)>
      parts(rd_kafka_topic_partition_list_new(1), &rd_kafka_topic_partition_list_destroy);
  rd_kafka_topic_partition_list_add(parts.get(), _opts.config_topic.c_str(), 0)->offset =
      RD_KAFKA_OFFSET_BEGINNING;
  if (auto e = rd_kafka_assign(c->consumer.get(), parts.get()); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return std::string("config consumer: ") + rd_kafka_err2str(e);
  }
  _clients = std::move(c);
  _consumer_thread = std::thread([this] {
    pthread_setname_np(pthread_self(), "eb-remote-cfg");
    consume_loop();
  });
  _fleet_thread = std::thread([this] {
    pthread_setname_np(pthread_self(), "eb-remote-fleet");
    fleet_loop();
  });
  spdlog::info("remote: config documents from {}, status records to {} every {} ms",
               _opts.config_topic, _opts.status_topic, _opts.status_interval.count());
  return {};
}

void remote_link::stop(std::chrono::milliseconds flush) {
  if (!_clients) return;
  {
    std::lock_guard lk(_mutex);
    _stopping = true;
  }
  _wake.notify_all();
  if (_consumer_thread.joinable()) _consumer_thread.join();
  if (_fleet_thread.joinable()) _fleet_thread.join();
  rd_kafka_flush(_clients->producer.get(), static_cast<int>(flush.count()));
  rd_kafka_assign(_clients->consumer.get(), nullptr);
  _clients.reset();
}

bool remote_link::publish(const std::string& json) {
  if (!_clients) return false;
  auto e = rd_kafka_producev(_clients->producer.get(), RD_KAFKA_V_TOPIC(_opts.status_topic.c_str()),
                             RD_KAFKA_V_KEY(_opts.site_id.data(), _opts.site_id.size()),
                             RD_KAFKA_V_VALUE(const_cast<char*>(json.data()), json.size()),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::lock_guard lk(_counters_mutex);
    _counters.publish_failures++;
    spdlog::warn("remote: status record dropped: {}", rd_kafka_err2str(e));
    return false;
  }
  return true;
}

void remote_link::publish_fleet_now() {
  {
    std::lock_guard lk(_mutex);
    _fleet_now = true;
  }
  _wake.notify_all();
}

remote_link_counters remote_link::counters() const {
  std::lock_guard lk(_counters_mutex);
  return _counters;
}

void remote_link::consume_loop() {
  auto* rk = _clients->consumer.get();
  while (!_stopping) {
    std::unique_ptr<rd_kafka_message_t, msg_deleter> m(rd_kafka_consumer_poll(rk, 200));
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
    if (m->err) {
      std::string why = rd_kafka_message_errstr(m.get());
      std::lock_guard lk(_counters_mutex);
      if (_counters.consumer_error != why) {
        spdlog::warn("remote: config topic {}: {}", _opts.config_topic, why);
      }
      _counters.consumer_error = why;
      continue;
    }
    {
      std::lock_guard lk(_counters_mutex);
      _counters.documents++;
      _counters.consumer_error.clear();
    }
    if (m->len > _opts.max_document_bytes) {
      _on_document({},
                   "document of " + std::to_string(m->len) + " bytes, above the limit of " +
                       std::to_string(_opts.max_document_bytes),
                   m->offset);
      continue;
    }
    std::string text(static_cast<const char*>(m->payload), m->len);
    _on_document(text, {}, m->offset);
  }
}

void remote_link::fleet_loop() {
  auto* rk = _clients->producer.get();
  auto next = std::chrono::steady_clock::now();
  while (!_stopping) {
    rd_kafka_poll(rk, 0);
    bool now = false;
    {
      std::unique_lock lk(_mutex);
      // Delivery reports are served at least every 200 ms.
      auto until =
          std::min(next, std::chrono::steady_clock::now() + std::chrono::milliseconds(200));
      _wake.wait_until(lk, until, [&] { return _stopping || _fleet_now; });
      now = _fleet_now;
      _fleet_now = false;
    }
    if (_stopping) break;
    if (now || std::chrono::steady_clock::now() >= next) {
      publish(_fleet());
      next = std::chrono::steady_clock::now() + _opts.status_interval;
    }
  }
  rd_kafka_poll(rk, 0);
}

}  // namespace eb::bridge

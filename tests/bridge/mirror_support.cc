#include "tests/bridge/mirror_support.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <fstream>
#include <future>
#include <map>
#include <random>
#include <thread>

#include "tests/support/bounded_wait.h"

namespace eb::test {
namespace {

struct rk_deleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using rk_ptr = std::unique_ptr<rd_kafka_t, rk_deleter>;

rk_ptr make_client(rd_kafka_type_t type,
                   const std::vector<std::pair<std::string, std::string>>& props) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::array<char, 512> err{};
  for (auto& [k, v] : props) {
    EXPECT_EQ(rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err.data(), err.size()),
              RD_KAFKA_CONF_OK)
        << k << ": " << err.data();
  }
  rd_kafka_t* rk = rd_kafka_new(type, conf, err.data(), err.size());
  EXPECT_NE(rk, nullptr) << err.data();
  return rk_ptr(rk);
}

std::optional<std::string> bytes_or_null(const void* p, size_t n) {
  if (!p) return std::nullopt;
  return std::string(static_cast<const char*>(p), n);
}

}  // namespace

temp_dir::temp_dir(const std::string& prefix) {
  _path = std::filesystem::temp_directory_path() / (prefix + "-" + unique_suffix());
  std::filesystem::create_directories(_path);
}
temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(_path, ec);
}

std::string unique_suffix() {
  static std::atomic<int> counter{0};
  return std::to_string(getpid()) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 100000000) +
         "-" + std::to_string(counter++);
}

std::unique_ptr<storage::log_store> open_store(const std::filesystem::path& dir,
                                               storage::options opts) {
  opts.data_dir = dir;
  auto r = storage::log_store::open(opts);
  if (!r) {
    ADD_FAILURE() << "open store " << dir << ": " << r.error().message();
    return nullptr;
  }
  return std::move(*r);
}

std::vector<net::record_input> make_records(int round, int first_index, int count,
                                            size_t value_bytes) {
  std::vector<net::record_input> out;
  for (int n = 0; n < count; ++n) {
    int i = first_index + n;
    net::record_input r;
    r.timestamp_delta = n * 3;
    std::string id = std::to_string(round) + "-" + std::to_string(i);
    if (i % 11 == 3) {
      r.key = std::nullopt;
    } else if (i % 11 == 5) {
      r.key = std::string();
    } else {
      r.key = "key-" + id;
    }
    if (i % 13 == 7) {
      r.value = std::nullopt;  // a tombstone
    } else if (i % 13 == 9) {
      r.value = std::string();
    } else {
      std::string v = "value-" + id + "-";
      // Some bytes that compress, some that do not.
      std::mt19937 rng(static_cast<uint32_t>(round * 1000003 + i));
      while (v.size() < value_bytes) {
        v += (v.size() % 2) ? static_cast<char>('a' + (v.size() % 7))
                            : static_cast<char>(rng() & 0xff);
      }
      r.value = std::move(v);
    }
    if (i % 4 == 1) r.headers.emplace_back("trace", "t-" + id);
    if (i % 6 == 2) r.headers.emplace_back("nullable", std::nullopt);
    if (i % 9 == 4) r.headers.emplace_back("empty", std::string());
    if (i % 10 == 0) r.headers.emplace_back("trace", "second-" + id);  // repeated name
    out.push_back(std::move(r));
  }
  return out;
}

int64_t append_batch(storage::log_store& store, const std::string& topic, int32_t partition,
                     net::compression codec, int64_t base_timestamp,
                     std::vector<net::record_input> records) {
  net::batch_builder_input in;
  in.codec = codec;
  in.base_timestamp = base_timestamp;
  in.records = std::move(records);
  int32_t count = static_cast<int32_t>(in.records.size());
  std::string batch = net::encode_batch(in);
  auto header =
      net::parse_batch_header({reinterpret_cast<const uint8_t*>(batch.data()), batch.size()});
  EXPECT_TRUE(header.has_value());
  return append_stored(store, {.topic = topic,
                               .partition = partition,
                               .batch = std::move(batch),
                               .record_count = count,
                               .max_timestamp = header ? header->max_timestamp : base_timestamp});
}

int64_t append_stored(storage::log_store& store, storage::append_request req) {
  const std::string where = req.topic + "[" + std::to_string(req.partition) + "]";
  std::promise<result<storage::append_ack>> done;
  auto f = done.get_future();
  std::vector<storage::append_request> reqs;
  reqs.push_back(std::move(req));
  store.append(std::move(reqs),
               [&done](std::vector<result<storage::append_ack>> r) { done.set_value(r.at(0)); });
  auto r = eb::test::get_within(std::move(f), "an append to " + where);
  if (!r) {
    ADD_FAILURE() << "append to " << where << ": " << r.error().message();
    return -1;
  }
  return r->base_offset;
}

std::vector<mirrored_record> stored_records(const storage::log_store& store,
                                            const std::string& topic, int32_t partition) {
  std::vector<mirrored_record> out;
  auto offsets = store.offsets(topic, partition);
  if (!offsets) {
    ADD_FAILURE() << "offsets: " << offsets.error().message();
    return out;
  }
  int64_t next = offsets->log_start;
  while (next < offsets->high_watermark) {
    auto batches = store.read(topic, partition, next, 1 << 20);
    if (!batches || batches->empty()) {
      ADD_FAILURE() << "read " << topic << "[" << partition << "] at " << next;
      return out;
    }
    for (auto& b : *batches) {
      auto d =
          net::decode_batch({reinterpret_cast<const uint8_t*>(b.bytes.data()), b.bytes.size()});
      if (!d) {
        ADD_FAILURE() << "decode at " << b.base_offset << ": " << d.error().message();
        return out;
      }
      for (auto& r : d->records) {
        mirrored_record m;
        m.offset = d->offset_of(r);
        if (m.offset < next) continue;
        m.timestamp = d->timestamp_of(r);
        if (r.key) m.key = std::string(*r.key);
        if (r.value) m.value = std::string(*r.value);
        for (auto& h : r.headers) {
          m.headers.emplace_back(
              std::string(h.key),
              h.value ? std::optional<std::string>(std::string(*h.value)) : std::nullopt);
        }
        out.push_back(std::move(m));
      }
      next = std::max(next, b.last_offset + 1);
    }
  }
  return out;
}

std::vector<mirrored_record> cloud_records(const std::string& bootstrap, const std::string& topic,
                                           int32_t partition, std::chrono::milliseconds timeout) {
  std::vector<mirrored_record> out;
  // The simple consumer: no group, so no coordinator (and no __consumer_offsets) is involved.
  auto rk = make_client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap},
                                            {"enable.partition.eof", "true"},
                                            {"isolation.level", "read_uncommitted"}});
  int64_t lo = 0, hi = 0;
  auto err = rd_kafka_query_watermark_offsets(rk.get(), topic.c_str(), partition, &lo, &hi, 10000);
  if (err) {
    ADD_FAILURE() << "watermarks of " << topic << ": " << rd_kafka_err2str(err);
    return out;
  }
  if (hi <= lo) return out;
  std::unique_ptr<rd_kafka_topic_t, void (*)(rd_kafka_topic_t*)> rkt(
      rd_kafka_topic_new(rk.get(), topic.c_str(), nullptr), rd_kafka_topic_destroy);
  EXPECT_EQ(rd_kafka_consume_start(rkt.get(), partition, lo), 0);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int64_t next = lo;
  while (next < hi && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consume(rkt.get(), partition, 200);
    if (!m) continue;
    std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> guard(
        m, rd_kafka_message_destroy);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
    if (m->err) {
      ADD_FAILURE() << "consume " << topic << ": " << rd_kafka_message_errstr(m);
      break;
    }
    mirrored_record r;
    r.offset = m->offset;
    rd_kafka_timestamp_type_t type;
    r.timestamp = rd_kafka_message_timestamp(m, &type);
    EXPECT_EQ(type, RD_KAFKA_TIMESTAMP_CREATE_TIME);
    r.key = bytes_or_null(m->key, m->key_len);
    r.value = bytes_or_null(m->payload, m->len);
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name;
      const void* value;
      size_t size;
      for (size_t i = 0;
           rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
           ++i) {
        r.headers.emplace_back(name, bytes_or_null(value, size));
      }
    }
    next = m->offset + 1;
    out.push_back(std::move(r));
  }
  rd_kafka_consume_stop(rkt.get(), partition);
  EXPECT_GE(next, hi) << "timed out reading " << topic << "[" << partition << "]";
  return out;
}

int32_t cloud_partitions(const std::string& bootstrap, const std::string& topic) {
  auto rk = make_client(RD_KAFKA_PRODUCER,
                        {{"bootstrap.servers", bootstrap}, {"allow.auto.create.topics", "false"}});
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk.get(), topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  int32_t n = -1;
  if (rd_kafka_metadata(rk.get(), 0, t, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      n = md->topics[0].partition_cnt;
    }
    rd_kafka_metadata_destroy(md);
  }
  rd_kafka_topic_destroy(t);
  return n;
}

void create_cloud_topic(const std::string& bootstrap, const std::string& topic, int partitions,
                        const std::map<std::string, std::string>& config) {
  auto rk = make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap}});
  std::array<char, 512> err{};
  rd_kafka_NewTopic_t* nt =
      rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, err.data(), err.size());
  ASSERT_NE(nt, nullptr) << err.data();
  for (auto& [k, v] : config) {
    ASSERT_EQ(rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str()), RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk.get());
  rd_kafka_CreateTopics(rk.get(), &nt, 1, nullptr, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000);
  ASSERT_NE(ev, nullptr);
  const auto* res = rd_kafka_event_CreateTopics_result(ev);
  size_t n = 0;
  const auto** topics = rd_kafka_CreateTopics_result_topics(res, &n);
  ASSERT_EQ(n, 1u);
  EXPECT_EQ(rd_kafka_topic_result_error(topics[0]), RD_KAFKA_RESP_ERR_NO_ERROR)
      << rd_kafka_err2str(rd_kafka_topic_result_error(topics[0]));
  rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_NewTopic_destroy(nt);
}

void alter_cloud_topic(const std::string& bootstrap, const std::string& topic,
                       const std::map<std::string, std::string>& config) {
  auto rk = make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap}});
  rd_kafka_ConfigResource_t* res =
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
  for (auto& [k, v] : config) {
    ASSERT_EQ(rd_kafka_ConfigResource_set_config(res, k.c_str(), v.c_str()),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk.get());
  rd_kafka_AlterConfigs(rk.get(), &res, 1, nullptr, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000);
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(rd_kafka_event_error(ev), RD_KAFKA_RESP_ERR_NO_ERROR)
      << rd_kafka_event_error_string(ev);
  const auto* result = rd_kafka_event_AlterConfigs_result(ev);
  size_t n = 0;
  const rd_kafka_ConfigResource_t** resources = rd_kafka_AlterConfigs_result_resources(result, &n);
  ASSERT_EQ(n, 1u);
  EXPECT_EQ(rd_kafka_ConfigResource_error(resources[0]), RD_KAFKA_RESP_ERR_NO_ERROR)
      << rd_kafka_ConfigResource_error_string(resources[0]);
  rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_ConfigResource_destroy(res);
}

std::optional<std::string> header(const mirrored_record& r, const std::string& name) {
  for (auto it = r.headers.rbegin(); it != r.headers.rend(); ++it) {
    if (it->first == name) return it->second;
  }
  return std::nullopt;
}

mirrored_record with_provenance(mirrored_record r, const std::string& site,
                                const std::string& topic, int32_t partition, uint32_t gen) {
  r.headers.emplace_back("eb.site", site);
  r.headers.emplace_back("eb.topic", topic);
  r.headers.emplace_back("eb.partition", std::to_string(partition));
  r.headers.emplace_back("eb.offset", std::to_string(r.offset));
  r.headers.emplace_back("eb.gen", std::to_string(gen));
  return r;
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

captured_log::captured_log() {
  _ring = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(4096);
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  logger = std::make_shared<spdlog::logger>("mirror", spdlog::sinks_init_list{_ring, console});
  logger->set_level(spdlog::level::info);
}

std::vector<std::string> captured_log::lines() const { return _ring->last_formatted(); }

bool captured_log::contains(const std::string& text) const {
  for (auto& l : lines()) {
    if (l.find(text) != std::string::npos) return true;
  }
  return false;
}

int64_t rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

bridge::mirror_options mirror_options_for(const std::string& bootstrap, const std::string& site) {
  bridge::mirror_options o;
  o.bootstrap = bootstrap;
  o.site_id = site;
  o.retry_backoff_min = std::chrono::milliseconds(50);
  o.retry_backoff_max = std::chrono::seconds(1);
  o.cursor_commit_interval = std::chrono::milliseconds(100);
  return o;
}

bool mirror_caught_up(const bridge::mirror& m, const storage::log_store& store) {
  auto s = m.status();
  if (s.partitions.empty()) return false;
  for (auto& p : s.partitions) {
    auto o = store.offsets(p.topic, p.partition);
    if (!o || p.confirmed_offset != o->high_watermark) return false;
  }
  return true;
}

}  // namespace eb::test

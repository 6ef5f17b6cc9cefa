// The downlink's thread: the consumer, the assignment from the rules and cloud metadata, local
// topic creation, appends with their source cursors, the quota pause, and the status.
#include "bridge/downlink/downlink.h"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "bridge/downlink/local_batch.h"
#include "bridge/downlink/topic_rules.h"

namespace eb::bridge {

using namespace downlink_detail;
using steady = std::chrono::steady_clock;

namespace {

struct rk_deleter {
  void operator()(rd_kafka_t* rk) const {
    // No group: nothing to leave or commit.
    rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  }
};
struct list_deleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using list_ptr = std::unique_ptr<rd_kafka_topic_partition_list_t, list_deleter>;

constexpr auto poll_wait = std::chrono::milliseconds(100);
constexpr auto metadata_timeout = std::chrono::milliseconds(3000);
constexpr auto disconnected_refresh = std::chrono::milliseconds(1000);
constexpr auto cursor_commit_interval = std::chrono::milliseconds(1000);

using key = std::pair<std::string, int32_t>;

}  // namespace

struct downlink::impl {
  struct part {
    std::string cloud;
    int32_t partition = 0;
    std::string local;
    int64_t next = -1;  // next cloud offset to copy, as stored; -1: none stored yet
    int64_t hw = -1;
    int64_t low = -1;
    bool blocked = false;
    bool halted = false;      // paused after a failed append, until retry_at
    bool from_start = false;  // with no cursor: the earliest offset, whatever start_at says
    steady::time_point retry_at{};
    std::string error;
    std::deque<pending_record> pending;
    uint64_t pending_bytes = 0;
    uint64_t records = 0;
  };

  impl(downlink_options o, storage::log_store& s, topic_config_fn cfg)
      : opts(std::move(o)), store(s), config_for(std::move(cfg)), rules(opts.topics, opts.site_id) {
    for (auto& [k, v] : store.source_cursors(owner_prefix())) {
      owned.insert(k.substr(owner_prefix().size()));
    }
    published.rules = opts.topics;
  }

  // Configuration.
  const downlink_options opts;
  storage::log_store& store;
  topic_config_fn config_for;

  // Shared with other threads.
  mutable std::mutex mu;
  std::set<std::string, std::less<>> owned;             // under mu
  std::optional<std::vector<downlink_rule>> new_rules;  // under mu
  downlink_status published;                            // under mu
  std::atomic<bool> stopping{false};
  std::thread thread;

  // The downlink thread's own.
  std::unique_ptr<rd_kafka_t, rk_deleter> rk;
  topic_rules rules;
  std::vector<downlink_rule> rule_list;
  std::map<key, std::unique_ptr<part>> parts;
  steady::time_point next_refresh{};
  steady::time_point next_cursor_commit{};
  std::map<key, int64_t> committed_local;  // local partition -> mirror cursor written
  bool connected = false;
  bool all_down = false;
  bool quota_paused = false;
  bool need_reassign = false;
  uint64_t quota_pauses = 0;
  uint64_t records = 0;
  uint64_t errors = 0;
  std::string last_error;

  static void on_error(rd_kafka_t*, int err, const char* reason, void* opaque);
  result<void> create_consumer();
  void run();
  void take_rules();
  void refresh();
  std::string ensure_local(const std::string& local, const std::string& cloud, int32_t count,
                           int32_t& local_partitions);
  void reassign();
  void check_quota();
  void retry_halted();
  void poll_batch();
  void handle(const rd_kafka_message_t& m);
  void flush();
  void halt(part& p, const std::string& why);
  void seek_and_resume(const std::vector<part*>& ps);
  void commit_local_cursors();
  void publish();
  void note_error(const std::string& e) {
    ++errors;
    if (e != last_error) spdlog::warn("downlink: {}", e);
    last_error = e;
  }
  list_ptr list_of(const std::vector<part*>& ps, bool with_offsets) const;
  uint64_t pending_total() const {
    uint64_t n = 0;
    for (auto& [k, p] : parts) n += p->pending_bytes;
    return n;
  }
};

void downlink::impl::on_error(rd_kafka_t*, int err, const char* reason, void* opaque) {
  auto* self = static_cast<downlink::impl*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    self->all_down = true;
    self->connected = false;
  }
  self->note_error(std::string("cloud: ") +
                   rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)) + ": " + reason);
}

result<void> downlink::impl::create_consumer() {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::vector<std::pair<std::string, std::string>> props(opts.properties.begin(),
                                                         opts.properties.end());
  const std::vector<std::pair<std::string, std::string>> own = {
      {"bootstrap.servers", opts.bootstrap},
      {"client.id", "edgebridge-downlink-" + opts.site_id},
      // librdkafka 2.0.2's assign() needs a group id; the downlink never subscribes (no join, no
      // rebalance) and never commits: its offsets live in local storage.
      {"group.id", "edgebridge-downlink-" + opts.site_id},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "false"},
      // A stored cursor the cloud no longer has (topic recreated, cloud retention) is reported
      // (handle()) and the partition restarts at the earliest offset the cloud still has.
      {"auto.offset.reset", "error"},
      {"queued.max.messages.kbytes",
       std::to_string(std::max<uint64_t>(1, opts.max_queued_bytes >> 10))},
      {"fetch.max.bytes", std::to_string(opts.fetch_max_bytes)},
      {"max.partition.fetch.bytes", std::to_string(opts.partition_fetch_max_bytes)},
      {"fetch.wait.max.ms", "100"},
      {"reconnect.backoff.ms", "100"},
      {"reconnect.backoff.max.ms", "1000"},
  };
  props.insert(props.end(), own.begin(), own.end());
  for (auto& [k, v] : props) {
    std::array<char, 512> err{};
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err.data(), err.size()) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      spdlog::error("downlink: {}: {}", k, err.data());
      return make_error_code(std::errc::invalid_argument);
    }
  }
  rd_kafka_conf_set_error_cb(conf, on_error);
  rd_kafka_conf_set_opaque(conf, this);
  std::array<char, 512> err{};
  rk.reset(rd_kafka_new(RD_KAFKA_CONSUMER, conf, err.data(), err.size()));
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    spdlog::error("downlink: cannot create the consumer: {}", err.data());
    return make_error_code(std::errc::invalid_argument);
  }
  rd_kafka_poll_set_consumer(rk.get());
  return {};
}

void downlink::impl::run() {
  rule_list = opts.topics;
  while (!stopping.load()) {
    take_rules();
    if (steady::now() >= next_refresh) refresh();
    check_quota();
    retry_halted();
    poll_batch();
    flush();
    if (need_reassign) {
      need_reassign = false;
      rd_kafka_assign(rk.get(), nullptr);  // a full restart of every partition's fetch
      reassign();
    }
    if (steady::now() >= next_cursor_commit) commit_local_cursors();
    publish();
  }
  flush();
  publish();
  std::lock_guard lk(mu);
  published.state = "stopped";
}

void downlink::impl::take_rules() {
  std::optional<std::vector<downlink_rule>> r;
  {
    std::lock_guard lk(mu);
    r.swap(new_rules);
  }
  if (!r) return;
  rule_list = std::move(*r);
  rules = topic_rules(rule_list, opts.site_id);
  next_refresh = steady::now();
  spdlog::info("downlink: {} topic rule(s) now", rule_list.size());
}

std::string downlink::impl::ensure_local(const std::string& local, const std::string& cloud,
                                         int32_t count, int32_t& local_partitions) {
  auto info = store.find_topic(local);
  if (!info) {
    bool marked = false;
    {
      std::lock_guard lk(mu);
      marked = owned.count(local) > 0;
      // Owned before it exists: the mirror never sees it as a topic to send up.
      owned.insert(local);
    }
    if (!marked) {
      if (auto r = store.put_source_cursors({{owner_key(local), cloud}}); !r) {
        return "marking local topic " + local + ": " + r.error().message();
      }
    }
    auto cfg = config_for ? config_for(local) : storage::topic_config{};
    cfg.partitions = count;
    auto created = store.create_topic(local, cfg);
    if (!created && created.error() != storage::errc::topic_exists) {
      return "creating local topic " + local + ": " + created.error().message();
    }
    info = store.find_topic(local);
    if (!info) return "local topic " + local + " missing after creation";
    spdlog::info("downlink: created local topic {} ({} partitions) for cloud topic {}", local,
                 info->config.partitions, cloud);
  } else {
    std::lock_guard lk(mu);
    if (!owned.count(local)) {
      return "local topic " + local +
             " exists and was not created by the downlink: not written (its records would mix "
             "with device data and go up the mirror)";
    }
  }
  local_partitions = info->config.partitions;
  return {};
}

void downlink::impl::refresh() {
  const rd_kafka_metadata_t* md = nullptr;
  auto err =
      rd_kafka_metadata(rk.get(), 1, nullptr, &md, static_cast<int>(metadata_timeout.count()));
  if (err) {
    connected = false;
    note_error(std::string("cloud metadata: ") + rd_kafka_err2str(err));
    next_refresh = steady::now() + disconnected_refresh;
    return;
  }
  connected = true;
  all_down = false;
  next_refresh = steady::now() + opts.metadata_refresh;
  std::map<key, std::pair<std::string, std::string>> desired;  // -> local, blocking error
  std::map<std::string, std::string> feeders;                  // local -> cloud
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    if (t.err || t.partition_cnt <= 0) continue;
    const std::string name = t.topic;
    auto local = rules.local_for(name);
    if (!local) continue;
    std::string why;
    if (auto f = feeders.find(*local); f != feeders.end()) {
      why = "local topic " + *local + " is already fed by cloud topic " + f->second;
    } else {
      feeders[*local] = name;
    }
    int32_t local_partitions = 0;
    if (why.empty()) why = ensure_local(*local, name, t.partition_cnt, local_partitions);
    for (int32_t p = 0; p < t.partition_cnt; ++p) {
      std::string e = why;
      if (e.empty() && p >= local_partitions) {
        e = "local topic " + *local + " has " + std::to_string(local_partitions) +
            " partitions, cloud topic " + name + " has " + std::to_string(t.partition_cnt);
      }
      desired[{name, p}] = {*local, e};
    }
  }
  rd_kafka_metadata_destroy(md);

  bool changed = false;
  for (auto it = parts.begin(); it != parts.end();) {
    auto d = desired.find(it->first);
    if (d == desired.end() || d->second.first != it->second->local) {
      changed = true;
      it = parts.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [k, d] : desired) {
    auto& slot = parts[k];
    if (!slot) {
      changed = true;
      slot = std::make_unique<part>();
      slot->cloud = k.first;
      slot->partition = k.second;
      slot->local = d.first;
      auto stored = store.source_cursors(cursor_key(d.first, k.second));
      if (auto c = stored.find(cursor_key(d.first, k.second)); c != stored.end()) {
        slot->next = parse_cursor(c->second, k.first);
      }
    }
    const bool blocked = !d.second.empty();
    if (blocked != slot->blocked) {
      changed = true;
      if (!blocked) slot->error.clear();
    }
    if (blocked && slot->error != d.second) {
      spdlog::error("downlink: {}", d.second);
      slot->error = d.second;
    }
    slot->blocked = blocked;
  }
  if (changed) reassign();
}

list_ptr downlink::impl::list_of(const std::vector<part*>& ps, bool with_offsets) const {
  list_ptr l(rd_kafka_topic_partition_list_new(static_cast<int>(ps.size())));
  for (auto* p : ps) {
    auto* e = rd_kafka_topic_partition_list_add(l.get(), p->cloud.c_str(), p->partition);
    if (with_offsets) {
      e->offset = p->next >= 0 ? p->next
                  : p->from_start || opts.start_at == downlink_start::earliest
                      ? RD_KAFKA_OFFSET_BEGINNING
                      : RD_KAFKA_OFFSET_END;
    }
  }
  return l;
}

// Every unblocked partition from its stored cursor; paused again where it must wait.
void downlink::impl::reassign() {
  std::vector<part*> active, paused;
  for (auto& [k, p] : parts) {
    if (p->blocked) continue;
    p->pending.clear();
    p->pending_bytes = 0;
    active.push_back(p.get());
    if (quota_paused || p->halted) paused.push_back(p.get());
  }
  auto list = list_of(active, true);
  if (auto e = rd_kafka_assign(rk.get(), list.get())) {
    note_error(std::string("assign: ") + rd_kafka_err2str(e));
    next_refresh = steady::now() + disconnected_refresh;
    return;
  }
  if (!paused.empty()) rd_kafka_pause_partitions(rk.get(), list_of(paused, false).get());
  spdlog::info("downlink: copying {} cloud partition(s)", active.size());
}

void downlink::impl::check_quota() {
  if (opts.disk_quota_bytes == 0) return;
  const uint64_t used = store.current_usage().log_bytes;
  const auto pause_at = opts.disk_quota_bytes / 100 * uint64_t(opts.quota_pause_percent);
  const auto resume_below = opts.disk_quota_bytes / 100 * uint64_t(opts.quota_resume_percent);
  // One more local batch must still fit below the pause mark: the append after this check.
  if (!quota_paused && used + opts.max_batch_bytes >= pause_at) {
    quota_paused = true;
    ++quota_pauses;
    std::vector<part*> ps;
    for (auto& [k, p] : parts) {
      if (!p->blocked) ps.push_back(p.get());
    }
    if (!ps.empty()) rd_kafka_pause_partitions(rk.get(), list_of(ps, false).get());
    spdlog::warn("downlink: paused: local storage at {} of {} bytes (pauses at {}%)", used,
                 opts.disk_quota_bytes, opts.quota_pause_percent);
  } else if (quota_paused && used < resume_below) {
    quota_paused = false;
    std::vector<part*> ps;
    for (auto& [k, p] : parts) {
      if (!p->blocked && !p->halted) ps.push_back(p.get());
    }
    seek_and_resume(ps);
    spdlog::info("downlink: resumed: local storage at {} bytes", used);
  }
}

void downlink::impl::seek_and_resume(const std::vector<part*>& ps) {
  if (ps.empty()) return;
  // Records fetched before the pause were dropped: read again from the stored cursor.
  auto list = list_of(ps, true);
  if (auto* e = rd_kafka_seek_partitions(rk.get(), list.get(), 0)) {
    note_error(std::string("seek: ") + rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
  }
  rd_kafka_resume_partitions(rk.get(), list_of(ps, false).get());
}

void downlink::impl::retry_halted() {
  if (quota_paused) return;
  std::vector<part*> ps;
  const auto now = steady::now();
  for (auto& [k, p] : parts) {
    if (p->halted && !p->blocked && now >= p->retry_at) {
      p->halted = false;
      p->error.clear();
      ps.push_back(p.get());
    }
  }
  seek_and_resume(ps);
}

void downlink::impl::halt(part& p, const std::string& why) {
  p.halted = true;
  p.retry_at = steady::now() + opts.retry_backoff;
  p.error = why;
  p.pending.clear();
  p.pending_bytes = 0;
  rd_kafka_pause_partitions(rk.get(), list_of({&p}, false).get());
}

void downlink::impl::poll_batch() {
  bool first = true;
  while (pending_total() < opts.max_batch_bytes && !stopping.load()) {
    auto* m = rd_kafka_consumer_poll(rk.get(), first ? static_cast<int>(poll_wait.count()) : 0);
    first = false;
    if (!m) break;
    handle(*m);
    rd_kafka_message_destroy(m);
  }
}

void downlink::impl::handle(const rd_kafka_message_t& m) {
  if (m.err) {
    if (m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
    if (m.err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET && m.rkt) {
      // The stored cursor is not in the cloud (topic recreated, cloud retention): go on from the
      // earliest offset the cloud has, whatever it is.
      if (auto it = parts.find({rd_kafka_topic_name(m.rkt), m.partition}); it != parts.end()) {
        auto& p = *it->second;
        note_error("cloud offset " + std::to_string(p.next) + " of " + p.cloud + "[" +
                   std::to_string(p.partition) + "] is gone; going on from the earliest offset");
        p.next = -1;
        p.from_start = true;
        // librdkafka leaves the partition stopped after the reset error: assigned again (after
        // this round's flush) from the cloud's earliest offset.
        need_reassign = true;
      }
      return;
    }
    note_error(std::string("consume: ") + rd_kafka_message_errstr(&m));
    return;
  }
  if (!m.rkt) return;
  connected = true;
  all_down = false;
  auto it = parts.find({rd_kafka_topic_name(m.rkt), m.partition});
  if (it == parts.end()) return;
  part& p = *it->second;
  // Paused partitions drop what was already fetched: they are read again from their cursor.
  if (p.blocked || p.halted || quota_paused) return;
  if (p.next >= 0 && m.offset < p.next) return;  // stored already
  auto r = copy_message(m);
  p.pending_bytes += r.bytes;
  p.pending.push_back(std::move(r));
}

void downlink::impl::flush() {
  while (pending_total() > 0) {
    std::vector<storage::append_request> reqs;
    std::vector<std::tuple<part*, int64_t, uint64_t>> owners;  // part, last offset, bytes
    for (auto& [k, p] : parts) {
      if (p->pending.empty()) continue;
      int64_t last = -1;
      uint64_t b = 0;
      const size_t before = p->pending.size();
      reqs.push_back(
          take_batch(p->pending, p->local, p->partition, p->cloud, opts.max_batch_bytes, last, b));
      p->pending_bytes -= std::min(p->pending_bytes, b);
      if (p->pending.empty()) p->pending_bytes = 0;
      owners.emplace_back(p.get(), last, before - p->pending.size());
    }
    auto promise = std::make_shared<std::promise<std::vector<result<storage::append_ack>>>>();
    auto done = promise->get_future();
    store.append(std::move(reqs), [promise](std::vector<result<storage::append_ack>> r) {
      promise->set_value(std::move(r));
    });
    auto results = done.get();
    for (size_t i = 0; i < owners.size(); ++i) {
      auto [p, last, n] = owners[i];
      if (i < results.size() && results[i]) {
        p->next = last + 1;
        p->records += n;
        records += n;
        continue;
      }
      const auto ec =
          i < results.size() ? results[i].error() : make_error_code(std::errc::io_error);
      note_error("appending to " + p->local + "[" + std::to_string(p->partition) +
                 "]: " + ec.message() + "; retried from cloud offset " + std::to_string(p->next));
      halt(*p, "local append failed: " + ec.message());
    }
  }
}

void downlink::impl::commit_local_cursors() {
  next_cursor_commit = steady::now() + cursor_commit_interval;
  // The downlink's local data is never mirrored: its mirror cursor follows the high watermark, so
  // retention treats it as mirrored (and never reports it as a gap).
  std::map<std::pair<std::string, int32_t>, int64_t> cursors;
  for (auto& [k, p] : parts) {
    if (p->blocked) continue;
    auto o = store.offsets(p->local, p->partition);
    if (!o) continue;
    auto& c = committed_local[{p->local, p->partition}];
    if (o->high_watermark > c) cursors[{p->local, p->partition}] = o->high_watermark;
  }
  if (cursors.empty()) return;
  if (auto r = store.commit_mirror_cursors(cursors); !r) {
    note_error("storage: commit_mirror_cursors: " + r.error().message());
    return;
  }
  for (auto& [k, v] : cursors) committed_local[k] = v;
}

void downlink::impl::publish() {
  downlink_status s;
  s.state = quota_paused ? "paused"
            : connected  ? "connected"
            : all_down   ? "disconnected"
                         : "connecting";
  s.last_error = last_error;
  s.quota_paused = quota_paused;
  s.quota_pauses = quota_pauses;
  s.records = records;
  s.errors = errors;
  s.rules = rule_list;
  for (auto& [k, p] : parts) {
    int64_t lo = -1, hi = -1;
    if (!p->blocked &&
        rd_kafka_get_watermark_offsets(rk.get(), p->cloud.c_str(), p->partition, &lo, &hi) ==
            RD_KAFKA_RESP_ERR_NO_ERROR &&
        hi >= 0) {
      p->hw = hi;
      p->low = lo;
    }
    downlink_partition_status ps;
    ps.cloud_topic = p->cloud;
    ps.partition = p->partition;
    ps.local_topic = p->local;
    ps.cursor = p->next;
    ps.high_watermark = p->hw;
    if (p->hw >= 0)
      ps.lag =
          std::max<int64_t>(0, p->hw - (p->next >= 0 ? p->next : std::max<int64_t>(0, p->low)));
    ps.error = p->error;
    ps.state = p->blocked     ? "blocked"
               : p->halted    ? "retrying"
               : quota_paused ? "paused"
               : ps.lag == 0  ? "caught-up"
                              : "copying";
    ps.records = p->records;
    s.partitions.push_back(std::move(ps));
  }
  std::lock_guard lk(mu);
  published = std::move(s);
}

std::set<std::string> downlink_owned_topics(const storage::log_store& store) {
  std::set<std::string> out;
  for (auto& [k, v] : store.source_cursors(owner_prefix())) {
    out.insert(k.substr(owner_prefix().size()));
  }
  return out;
}

downlink::downlink(downlink_options opts, storage::log_store& store, topic_config_fn config_for)
    : _impl(std::make_unique<impl>(std::move(opts), store, std::move(config_for))) {}

downlink::~downlink() { stop(); }

result<void> downlink::start() {
  if (auto r = _impl->create_consumer(); !r) return r;
  {
    std::lock_guard lk(_impl->mu);
    _impl->published.state = "connecting";
  }
  _impl->thread = std::thread([this] {
    pthread_setname_np(pthread_self(), "eb-downlink");
    _impl->run();
  });
  return {};
}

void downlink::stop() {
  if (!_impl->thread.joinable()) return;
  _impl->stopping = true;
  _impl->thread.join();
  _impl->rk.reset();
}

bool downlink::owns(const std::string& local_topic) const {
  std::lock_guard lk(_impl->mu);
  return _impl->owned.count(local_topic) > 0;
}

std::vector<std::string> downlink::set_topics(std::vector<downlink_rule> rules) {
  auto problems = validate_rules(rules, _impl->opts.site_id);
  if (!problems.empty()) return problems;
  std::lock_guard lk(_impl->mu);
  _impl->new_rules = std::move(rules);
  return {};
}

downlink_status downlink::status() const {
  std::lock_guard lk(_impl->mu);
  return _impl->published;
}

}  // namespace eb::bridge

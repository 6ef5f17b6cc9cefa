// The small opaque records the bridge keeps beside the logs (log_store::records): a write through
// the writer's queue like every other meta op, and an in-memory copy for the readers.
#include <memory>
#include <mutex>
#include <shared_mutex>

#include "storage/keys.h"
#include "storage/store_impl.h"

namespace eb::storage {

void store_impl::update_records(const std::string& kind, std::vector<record_change> changes,
                                write_callback<void> done) {
  auto invalid = [&] {
    if (kind.empty() || kind.size() > max_record_kind_bytes) return true;
    for (const auto& c : changes) {
      if (c.key.empty() || c.key.size() > max_record_key_bytes) return true;
      if (c.value && c.value->size() > max_record_value_bytes) return true;
    }
    return false;
  };
  if (invalid()) {
    done(std::make_error_code(std::errc::invalid_argument));
    return;
  }
  if (changes.empty()) {
    done(result<void>());
    return;
  }
  auto items = std::make_shared<std::vector<record_change>>(std::move(changes));
  auto prepare = [this, kind, items](group_ctx& ctx) -> std::error_code {
    {
      std::shared_lock lk(_records_mu);
      size_t count = 0;
      if (auto it = _records.find(kind); it != _records.end()) count = it->second.size();
      for (const auto& c : *items) {
        if (c.value) ++count;
      }
      if (count > max_records_per_kind) return std::make_error_code(std::errc::value_too_large);
    }
    for (const auto& c : *items) {
      if (c.value) {
        ctx.batch.Put(_meta_cf, keys::record_key(kind, c.key), *c.value);
      } else {
        ctx.batch.Delete(_meta_cf, keys::record_key(kind, c.key));
      }
    }
    ctx.force_sync = true;
    ctx.commits.push_back([this, kind, items] {
      std::unique_lock lk(_records_mu);
      auto& m = _records[kind];
      for (auto& c : *items) {
        if (c.value) {
          m[c.key] = std::move(*c.value);
        } else {
          m.erase(c.key);
        }
      }
    });
    return {};
  };
  submit_op(std::move(prepare), [done = std::move(done)](std::error_code ec) {
    if (ec) {
      done(ec);
    } else {
      done(result<void>());
    }
  });
}

std::map<std::string, std::string> store_impl::records(const std::string& kind) const {
  std::shared_lock lk(_records_mu);
  auto it = _records.find(kind);
  if (it == _records.end()) return {};
  return it->second;
}

std::optional<std::string> store_impl::record(const std::string& kind,
                                              const std::string& key) const {
  std::shared_lock lk(_records_mu);
  auto it = _records.find(kind);
  if (it == _records.end()) return std::nullopt;
  auto r = it->second.find(key);
  if (r == it->second.end()) return std::nullopt;
  return r->second;
}

}  // namespace eb::storage

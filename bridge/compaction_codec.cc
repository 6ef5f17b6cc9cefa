#include "bridge/compaction_codec.h"

#include <spdlog/spdlog.h>

#include "net/compaction.h"

namespace eb::bridge {

std::shared_ptr<const storage::record_codec> make_compaction_codec() {
  auto c = std::make_shared<storage::record_codec>();
  c->list = [](std::string_view batch, std::vector<storage::compaction_record>& out) {
    auto keys = net::batch_keys(batch);
    if (!keys) {
      spdlog::warn("compaction: a stored batch does not decode ({}): kept whole",
                   keys.error().message());
      return false;
    }
    out.clear();
    out.reserve(keys->size());
    for (auto& k : *keys) out.push_back({k.offset, std::move(k.key), k.tombstone});
    return true;
  };
  c->filter = [](std::string_view batch,
                 const std::vector<int64_t>& keep) -> std::optional<std::string> {
    auto b = net::filter_batch(batch, keep);
    if (!b) {
      spdlog::warn("compaction: rewriting a batch failed ({}): kept whole", b.error().message());
      return std::nullopt;
    }
    return std::move(*b);
  };
  return c;
}

}  // namespace eb::bridge

#include "bridge/mirror/link_meter.h"

#include <algorithm>
#include <charconv>

namespace eb::bridge::mirror_detail {

uint64_t link_meter::charge(uint64_t wire) const {
  return std::max<uint64_t>(1, static_cast<uint64_t>(static_cast<double>(wire) * _ratio + 0.5));
}

void link_meter::observe(uint64_t tx_bytes) {
  // Cumulative over the producer's life: tx_bytes also holds the requests in flight, not yet
  // delivered, so the ratio errs high (the cap undershoots) by their share, which shrinks as the
  // drain goes on. Bounded, so that a stray number cannot stop the uplink or lift the cap.
  if (_delivered_wire < min_sample || tx_bytes == 0) return;
  double r = static_cast<double>(tx_bytes) / static_cast<double>(_delivered_wire);
  _ratio = std::clamp(r, 0.01, 4.0);
}

void link_meter::restart() { _delivered_wire = 0; }

std::optional<uint64_t> link_meter::parse_tx_bytes(std::string_view json) {
  // The top-level key comes before the "brokers" object (whose entries say "txbytes"): the
  // first occurrence at nesting depth 1 is the one.
  constexpr std::string_view key = "\"tx_bytes\":";
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '{' || c == '[') {
      depth++;
    } else if (c == '}' || c == ']') {
      depth--;
    } else if (c == '"') {
      if (depth == 1 && json.substr(i, key.size()) == key) {
        size_t at = i + key.size();
        while (at < json.size() && json[at] == ' ') at++;
        uint64_t v = 0;
        auto [end, ec] = std::from_chars(json.data() + at, json.data() + json.size(), v);
        if (ec != std::errc() || end == json.data() + at) return std::nullopt;
        return v;
      }
      in_string = true;
    }
  }
  return std::nullopt;
}

}  // namespace eb::bridge::mirror_detail

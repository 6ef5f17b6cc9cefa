#pragma once
// What the bandwidth cap (mirror.bandwidth_bytes_per_sec) counts: the bytes that cross the link.
// A record is charged when it is handed to librdkafka, before librdkafka has framed and
// compressed it, so the charge is an estimate: its wire size before compression (record framing
// and the provenance headers included, see forwarder::wire_bytes) times the ratio of what the
// producer actually sent (librdkafka's statistics: `tx_bytes`, every request with its framing,
// after compression) to the wire size of the records delivered so far. The ratio starts at 1
// (no compression assumed) and follows the data. Plain arithmetic: tested alone.
#include <cstdint>
#include <optional>
#include <string_view>

namespace eb::bridge::mirror_detail {

class link_meter {
 public:
  // Bytes to charge for a record of `wire` bytes before compression.
  uint64_t charge(uint64_t wire) const;

  // A record of `wire` bytes was confirmed by the cloud.
  void delivered(uint64_t wire) { _delivered_wire += wire; }

  // librdkafka's statistics of the current producer: the total bytes it has sent. Updates the
  // ratio once enough has been delivered to tell.
  void observe(uint64_t tx_bytes);

  // A new producer (resync): its statistics start at 0. The ratio learnt so far is kept.
  void restart();

  double ratio() const { return _ratio; }

  // The top-level "tx_bytes" of a librdkafka statistics JSON document.
  static std::optional<uint64_t> parse_tx_bytes(std::string_view json);

  // Delivered wire bytes before the ratio is updated (smaller amounts are mostly request
  // framing of a few records).
  static constexpr uint64_t min_sample = 256 << 10;

 private:
  double _ratio = 1.0;
  uint64_t _delivered_wire = 0;
};

}  // namespace eb::bridge::mirror_detail

// edgebridge-dump: prints the records stored in an edgebridge data dir as JSON lines, one per
// record: {"topic","partition","offset","timestamp","key","value","headers":[[k,v],...]}.
// With --batches, one line per stored batch instead:
// {"topic","partition","base_offset","count","producer_id","codec"}.
// For tests and for operators inspecting a box; the bridge must not be running on the dir.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>

#include "common/json.h"
#include "net/record_batch.h"
#include "storage/storage.h"

namespace {

// A JSON string, or null for a null key/value/header.
void write_json_string(std::string& out, std::optional<std::string_view> s) {
  if (s) {
    eb::append_json_string(out, *s);
  } else {
    out += "null";
  }
}

const char* codec_name(eb::net::compression c) {
  switch (c) {
    case eb::net::compression::none:
      return "none";
    case eb::net::compression::gzip:
      return "gzip";
    case eb::net::compression::snappy:
      return "snappy";
    case eb::net::compression::lz4:
      return "lz4";
    case eb::net::compression::zstd:
      return "zstd";
  }
  return "unknown";
}

void print_batch(const std::string& topic, int32_t partition, const eb::net::batch_header& h) {
  std::string line = "{\"topic\":";
  write_json_string(line, topic);
  line += ",\"partition\":" + std::to_string(partition);
  line += ",\"base_offset\":" + std::to_string(h.base_offset);
  line += ",\"count\":" + std::to_string(h.record_count);
  line += ",\"producer_id\":" + std::to_string(h.producer_id);
  line += ",\"codec\":\"" + std::string(codec_name(h.codec())) + "\"}\n";
  std::fwrite(line.data(), 1, line.size(), stdout);
}

int dump_partition(eb::storage::log_store& store, const std::string& topic, int32_t partition,
                   bool batches_only) {
  auto offsets = store.offsets(topic, partition);
  if (!offsets) {
    std::cerr << "edgebridge-dump: " << topic << "-" << partition << ": "
              << offsets.error().message() << "\n";
    return 1;
  }
  int64_t next = offsets->log_start;
  std::string line;
  while (next < offsets->high_watermark) {
    auto batches = store.read(topic, partition, next, 4 << 20);
    if (!batches || batches->empty()) {
      std::cerr << "edgebridge-dump: read " << topic << "-" << partition << "@" << next << ": "
                << (batches ? "no data below the high watermark" : batches.error().message())
                << "\n";
      return 1;
    }
    for (auto& b : *batches) {
      auto bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(b.bytes.data()),
                                            b.bytes.size());
      if (batches_only) {
        // decode_compacted_batch reads produced batches and compacted ones alike.
        auto header = eb::net::decode_compacted_batch(bytes);
        if (!header) {
          std::cerr << "edgebridge-dump: batch at " << topic << "-" << partition << "@"
                    << b.base_offset << ": " << header.error().message() << "\n";
          return 1;
        }
        print_batch(topic, partition, header->header);
        next = b.last_offset + 1;
        continue;
      }
      auto decoded = eb::net::decode_compacted_batch(bytes);
      if (!decoded) {
        std::cerr << "edgebridge-dump: batch at " << topic << "-" << partition << "@"
                  << b.base_offset << ": " << decoded.error().message() << "\n";
        return 1;
      }
      for (auto& r : decoded->records) {
        int64_t offset = decoded->offset_of(r);
        if (offset < next) continue;
        line.clear();
        line += "{\"topic\":";
        write_json_string(line, topic);
        line += ",\"partition\":" + std::to_string(partition);
        line += ",\"offset\":" + std::to_string(offset);
        line += ",\"timestamp\":" + std::to_string(decoded->timestamp_of(r));
        line += ",\"key\":";
        write_json_string(line, r.key);
        line += ",\"value\":";
        write_json_string(line, r.value);
        line += ",\"headers\":[";
        for (size_t i = 0; i < r.headers.size(); ++i) {
          if (i) line += ',';
          line += '[';
          write_json_string(line, r.headers[i].key);
          line += ',';
          write_json_string(line, r.headers[i].value);
          line += ']';
        }
        line += "]}\n";
        std::fwrite(line.data(), 1, line.size(), stdout);
      }
      next = b.last_offset + 1;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"edgebridge-dump: print stored records as JSON lines"};
  std::string data_dir, topic;
  cli.add_option("--data-dir", data_dir, "edgebridge data dir")->required();
  bool batches_only = false;
  cli.add_option("--topic", topic, "only this topic (default: all)");
  cli.add_flag("--batches", batches_only, "one line per stored batch instead of per record");
  CLI11_PARSE(cli, argc, argv);

  eb::storage::options opts;
  opts.data_dir = data_dir;
  auto store = eb::storage::log_store::open(opts);
  if (!store) {
    std::cerr << "edgebridge-dump: cannot open " << data_dir << ": " << store.error().message()
              << "\n";
    return 1;
  }
  int status = 0;
  for (auto& t : (*store)->topics()) {
    if (!topic.empty() && t.name != topic) continue;
    for (int32_t p = 0; p < t.config.partitions; ++p) {
      status |= dump_partition(**store, t.name, p, batches_only);
    }
  }
  (*store)->close();
  return status;
}

// RocksDB's info log, routed to spdlog instead of a LOG file in the data dir. The data dir is the
// disk that fills up: RocksDB's own file logger asserts (aborting the process, in builds with
// assertions like Debian's) on its next line after a line failed with ENOSPC, and a full disk
// is a state the bridge must live through.
#include <rocksdb/env.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <cstdio>

#include "storage/store_impl.h"

namespace eb::storage {
namespace {

class spdlog_info_log final : public rocksdb::Logger {
 public:
  spdlog_info_log() : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL) {}

  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }

  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    const auto to = level_of(level);
    if (!spdlog::should_log(to)) return;  // RocksDB is chatty at INFO: format only what is kept
    char buf[1024];
    va_list copy;
    va_copy(copy, ap);
    const int n = std::vsnprintf(buf, sizeof buf, format, copy);
    va_end(copy);
    if (n < 0) return;
    spdlog::log(to, "rocksdb: {}", std::string_view(buf, std::min<size_t>(n, sizeof buf - 1)));
  }

 private:
  // RocksDB's INFO is its routine flush and compaction diary: our debug.
  static spdlog::level::level_enum level_of(rocksdb::InfoLogLevel level) {
    switch (level) {
      case rocksdb::InfoLogLevel::DEBUG_LEVEL:
        return spdlog::level::trace;
      case rocksdb::InfoLogLevel::INFO_LEVEL:
      case rocksdb::InfoLogLevel::HEADER_LEVEL:
        return spdlog::level::debug;
      case rocksdb::InfoLogLevel::WARN_LEVEL:
        return spdlog::level::warn;
      case rocksdb::InfoLogLevel::ERROR_LEVEL:
        return spdlog::level::err;
      default:
        return spdlog::level::critical;
    }
  }
};

}  // namespace

std::shared_ptr<rocksdb::Logger> make_info_log() { return std::make_shared<spdlog_info_log>(); }

}  // namespace eb::storage

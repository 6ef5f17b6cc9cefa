#pragma once
// The remote configuration layer on disk: `<data_dir>/remote-config/document.yaml` (the last
// applied document, as received, version included) and `<data_dir>/remote-config/seen_version`
// (the highest version read, applied or rejected). Each is replaced atomically (write, fsync,
// rename, fsync the directory), so a crash leaves the old or the new file. RocksDB, which owns
// the data dir, ignores the subdirectory.
#include <cstdint>
#include <filesystem>
#include <string>

namespace eb::bridge {

class remote_store {
 public:
  explicit remote_store(std::filesystem::path data_dir)
      : _dir(std::move(data_dir) / "remote-config") {}

  // The stored document, empty when none.
  std::string document() const;
  // The highest version read (0 when none).
  int64_t seen_version() const;
  // Empty on success, else why.
  std::string save_document(const std::string& text) const;
  std::string save_seen_version(int64_t version) const;

 private:
  std::string replace(const std::string& name, const std::string& content) const;
  std::filesystem::path _dir;
};

}  // namespace eb::bridge

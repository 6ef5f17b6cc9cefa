#include "bridge/app/remote_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

namespace eb::bridge {
namespace {

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p);
  if (!in) return {};
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string fsync_path(const std::filesystem::path& p, int flags) {
  int fd = ::open(p.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return p.string() + ": " + std::strerror(errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  return rc == 0 ? std::string() : p.string() + ": fsync: " + std::strerror(err);
}

}  // namespace

std::string remote_store::document() const { return read_all(_dir / "document.yaml"); }

int64_t remote_store::seen_version() const {
  auto text = read_all(_dir / "seen_version");
  try {
    return text.empty() ? 0 : std::stoll(text);
  } catch (const std::exception&) {
    return 0;
  }
}

std::string remote_store::save_document(const std::string& text) const {
  return replace("document.yaml", text);
}

std::string remote_store::save_seen_version(int64_t version) const {
  return replace("seen_version", std::to_string(version) + "\n");
}

std::string remote_store::replace(const std::string& name, const std::string& content) const {
  std::error_code ec;
  std::filesystem::create_directories(_dir, ec);
  if (ec) return _dir.string() + ": " + ec.message();
  auto tmp = _dir / (name + ".tmp");
  {
    std::ofstream out(tmp, std::ios::trunc | std::ios::binary);
    out << content;
    out.flush();
    if (!out) return tmp.string() + ": cannot write";
  }
  if (auto e = fsync_path(tmp, O_RDONLY); !e.empty()) return e;
  std::filesystem::rename(tmp, _dir / name, ec);
  if (ec) return (_dir / name).string() + ": " + ec.message();
  return fsync_path(_dir, O_RDONLY | O_DIRECTORY);
}

}  // namespace eb::bridge

#pragma once
// User credentials management shared by `edgebridge users` (offline, on the data directory), the
// bootstrap users of the config (at start) and tests. Blocking storage calls: never on an io
// thread.
#include <filesystem>
#include <string>
#include <vector>

#include "bridge/security/options.h"
#include "common/result.h"
#include "storage/storage.h"

namespace eb::bridge::security {

// The first line of a password file. Errors (with a message for the operator): unreadable,
// readable by others (mode & 0004), empty.
result<std::string> read_password_file(const std::filesystem::path& file, std::string& why);

// Sets the user's credential for each mechanism (SCRAM-SHA-256/512) from the password.
result<void> set_user(storage::log_store& store, const std::string& user,
                      const std::string& password, const std::vector<std::string>& mechanisms,
                      int32_t iterations);
// Removes every credential of the user; errc::no_such_file_or_directory when there was none.
result<void> remove_user(storage::log_store& store, const std::string& user);
// "alice  SCRAM-SHA-256(iterations=4096) SCRAM-SHA-512(iterations=4096)" per user.
std::vector<std::string> list_users(const storage::log_store& store);

// Creates or updates the configured users (password files read now). Logs what it changed
// (names only).
result<void> ensure_users(storage::log_store& store, const std::vector<bootstrap_user>& users);

// `edgebridge users add|remove|list`: opens the data directory (the bridge must be stopped:
// RocksDB's lock refuses a second opener), runs the command, prints to stdout/stderr. Returns
// the exit status.
int users_command(const storage::options& storage_opts, const std::string& command,
                  const std::string& user, const std::string& password_file,
                  const std::vector<std::string>& mechanisms, int32_t iterations);

}  // namespace eb::bridge::security

#include "bridge/security/users.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <fstream>
#include <iostream>

#include "bridge/security/credentials.h"

namespace eb::bridge::security {

std::vector<std::string> validate(const security_options& o) {
  std::vector<std::string> p;
  for (auto& s : validate(o.sasl)) p.push_back(s);
  for (const auto& u : o.users) {
    const std::string key = "users." + u.name;
    if (u.name.empty() || u.name.size() > max_user_bytes) p.push_back(key + ": bad user name");
    if (u.iterations < min_iterations || u.iterations > max_iterations) {
      p.push_back(key + ".iterations: must be between 4096 and 16384");
    }
    for (auto& m : u.mechanisms) {
      if (!parse_scram_mechanism(m)) p.push_back(key + ".mechanisms: unknown mechanism " + m);
    }
    std::string why;
    if (u.password_file.empty()) {
      p.push_back(key + ".password_file: required");
    } else if (!read_password_file(u.password_file, why)) {
      p.push_back(key + ".password_file: " + why);
    }
  }
  for (const auto& s : o.authorization.super_users) {
    if (s.find(':') == std::string::npos) {
      p.push_back("authorization.super_users: " + s + " is not a principal (User:name)");
    }
  }
  return p;
}

result<std::string> read_password_file(const std::filesystem::path& file, std::string& why) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    why = file.string() + " cannot be read";
    return std::make_error_code(std::errc::no_such_file_or_directory);
  }
  if (st.st_mode & S_IROTH) {
    why = file.string() + " is readable by others (chmod o-r, e.g. 0600)";
    return std::make_error_code(std::errc::permission_denied);
  }
  std::ifstream in(file);
  std::string line;
  if (!in || !std::getline(in, line)) {
    why = file.string() + " cannot be read";
    return std::make_error_code(std::errc::io_error);
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) {
    why = file.string() + ": the first line (the password) is empty";
    return std::make_error_code(std::errc::invalid_argument);
  }
  return line;
}

result<void> set_user(storage::log_store& store, const std::string& user,
                      const std::string& password, const std::vector<std::string>& mechanisms,
                      int32_t iterations) {
  if (user.empty() || user.size() > max_user_bytes || password.empty()) {
    return std::make_error_code(std::errc::invalid_argument);
  }
  std::vector<storage::record_change> changes;
  for (const auto& name : mechanisms) {
    auto m = parse_scram_mechanism(name);
    if (!m) return std::make_error_code(std::errc::invalid_argument);
    auto c = make_credential(*m, password, iterations);
    if (!c) return c.error();
    changes.push_back(upsert_credential(user, *c));
  }
  return store.update_records(credential_record_kind, std::move(changes));
}

result<void> remove_user(storage::log_store& store, const std::string& user) {
  std::vector<storage::record_change> changes;
  for (auto m : {scram_mechanism::sha256, scram_mechanism::sha512}) {
    if (find_credential(store, user, m)) changes.push_back(delete_credential(user, m));
  }
  if (changes.empty()) return std::make_error_code(std::errc::no_such_file_or_directory);
  return store.update_records(credential_record_kind, std::move(changes));
}

std::vector<std::string> list_users(const storage::log_store& store) {
  std::vector<std::string> out;
  for (const auto& [user, creds] : all_credentials(store)) {
    std::string line = user;
    for (const auto& c : creds) {
      line += "  " + std::string(name_of(c.mechanism)) +
              "(iterations=" + std::to_string(c.iterations) + ")";
    }
    out.push_back(line);
  }
  return out;
}

result<void> ensure_users(storage::log_store& store, const std::vector<bootstrap_user>& users) {
  for (const auto& u : users) {
    std::string why;
    auto password = read_password_file(u.password_file, why);
    if (!password) {
      spdlog::critical("users.{}: {}", u.name, why);
      return password.error();
    }
    std::vector<std::string> stale;
    for (const auto& name : u.mechanisms) {
      auto m = parse_scram_mechanism(name);
      if (!m) return std::make_error_code(std::errc::invalid_argument);
      auto have = find_credential(store, u.name, *m);
      if (!have || have->iterations != u.iterations || !verify_password(*have, *password)) {
        stale.push_back(name);
      }
    }
    if (stale.empty()) continue;
    if (auto set = set_user(store, u.name, *password, stale, u.iterations); !set) return set;
    spdlog::info("users: credentials of {} set from its password file", u.name);
  }
  return {};
}

int users_command(const storage::options& storage_opts, const std::string& command,
                  const std::string& user, const std::string& password_file,
                  const std::vector<std::string>& mechanisms, int32_t iterations) {
  std::string password;
  if (command == "add") {
    if (!password_file.empty()) {
      std::string why;
      auto p = read_password_file(password_file, why);
      if (!p) {
        std::cerr << "edgebridge users: " << why << "\n";
        return 2;
      }
      password = *p;
    } else if (!std::getline(std::cin, password) || password.empty()) {
      std::cerr << "edgebridge users add: give the password on stdin or with --password-file\n";
      return 2;
    }
  }
  auto store = storage::log_store::open(storage_opts);
  if (!store) {
    std::cerr << "edgebridge users: cannot open " << storage_opts.data_dir.string() << ": "
              << store.error().message()
              << " (stop the bridge first, or use kafka-configs.sh against the running bridge)\n";
    return 1;
  }
  int status = 0;
  if (command == "add") {
    if (auto r = set_user(**store, user, password, mechanisms, iterations); !r) {
      std::cerr << "edgebridge users add: " << r.error().message() << "\n";
      status = 1;
    } else {
      std::cout << "user " << user << " set\n";
    }
  } else if (command == "remove") {
    if (auto r = remove_user(**store, user); !r) {
      std::cerr << "edgebridge users remove: " << user << ": " << r.error().message() << "\n";
      status = 1;
    } else {
      std::cout << "user " << user << " removed\n";
    }
  } else {
    for (auto& line : list_users(**store)) std::cout << line << "\n";
  }
  (*store)->close();
  return status;
}

}  // namespace eb::bridge::security

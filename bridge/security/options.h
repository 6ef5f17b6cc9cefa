#pragma once
// The security options bridge/ owns: SASL (mechanisms, session lifetime), the authorizer, and the
// users created at start from password files. Mapped from YAML `sasl`, `authorization` and
// `users` by config/; listeners and TLS are net::server_options'.
#include <filesystem>
#include <string>
#include <vector>

#include "bridge/security/authorizer.h"
#include "bridge/security/sasl.h"

namespace eb::bridge::security {

// A user ensured at start: its SCRAM credentials derive from the first line of password_file
// (which must not be readable by others). Existing credentials with another password are
// replaced; users not listed here are left alone (the CLI and AlterUserScramCredentials manage
// them).
struct bootstrap_user {
  std::string name;
  std::filesystem::path password_file;
  std::vector<std::string> mechanisms = {"SCRAM-SHA-512", "SCRAM-SHA-256"};
  int32_t iterations = 8192;
};

struct security_options {
  sasl_options sasl;
  authorizer_options authorization;
  std::vector<bootstrap_user> users;
};
// Every problem, each naming its key (password files: present, not world-readable).
std::vector<std::string> validate(const security_options&);

}  // namespace eb::bridge::security

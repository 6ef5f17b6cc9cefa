#pragma once
// `edgebridge status`: the shell's view of a running gateway's /v1/status.
#include <string>

namespace eb::bridge {

// GETs <url>/v1/status and prints the JSON to stdout. Returns the exit status: 0, or 1 when the
// gateway cannot be reached (10 s bound) or answers with an error (the reason on stderr).
int print_status(const std::string& url);

}  // namespace eb::bridge

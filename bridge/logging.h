#pragma once
// The process's log line format, set once at start by main.cc before any thread logs.
//   text: 2026-12-01T21:00:00.123+0000 info message
//   json: {"time":"2026-12-01T21:00:00.123+0000","level":"info","thread":123,"message":"..."}
// one object per line, the message escaped (quotes, backslashes, control bytes), for shippers
// that parse lines (Loki, Fluent Bit, journald's JSON tooling).
#include <string_view>

namespace eb::bridge {

// "text" or "json" (config log_format); anything else keeps text.
void set_log_format(std::string_view format);

}  // namespace eb::bridge

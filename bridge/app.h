#pragma once
// The edgebridge process: storage, the Kafka listener, the mirror; graceful shutdown on the
// first SIGINT/SIGTERM, immediate exit on the second.
#include "config/config.h"

namespace eb::bridge {

// Runs until a signal. Returns the process exit status: 0 after a clean shutdown, 1 when a part
// fails to start (port taken, storage unusable).
int run(const config::bridge_config& cfg);

}  // namespace eb::bridge

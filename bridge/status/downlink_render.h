#pragma once
// The downlink's part of /metrics and /v1/status (downlink_render.cc).
#include "bridge/status/snapshot.h"
#include "bridge/status/writers.h"

namespace eb::bridge::status_detail {

void downlink_metrics(prom_writer& m, const status_snapshot& s);
void downlink_json(json_writer& w, const status_snapshot& s);

}  // namespace eb::bridge::status_detail

#include "bridge/handlers/describe_log_dirs.h"

#include <sys/statvfs.h>

#include <algorithm>

namespace eb::bridge {

awaitable<handler_result<net::msg::describe_log_dirs_response>> describe_log_dirs_handler::handle(
    request_ctx& ctx, net::msg::describe_log_dirs_request req) {
  handler_result<net::msg::describe_log_dirs_response> reply;
  auto& dir = reply.body.results.emplace_back();
  dir.log_dir = ctx.svc.data_dir;
  // statvfs reads the file system's superblock figures from the kernel's cache: no disk wait.
  struct statvfs fs {};
  if (::statvfs(ctx.svc.data_dir.c_str(), &fs) == 0) {
    dir.total_bytes = static_cast<int64_t>(fs.f_blocks * fs.f_frsize);
    dir.usable_bytes = static_cast<int64_t>(fs.f_bavail * fs.f_frsize);
  }
  auto add_topic = [&](const storage::topic_info& info, const std::vector<int32_t>* only) {
    auto& t = dir.topics.emplace_back();
    t.name = info.name;
    for (int32_t p = 0; p < info.config.partitions; ++p) {
      if (only && std::find(only->begin(), only->end(), p) == only->end()) continue;
      auto off = ctx.svc.store.offsets(info.name, p);
      if (!off) continue;
      auto& part = t.partitions.emplace_back();
      part.partition_index = p;
      part.partition_size = static_cast<int64_t>(off->bytes);
      part.offset_lag = 0;
      part.is_future_key = false;
    }
  };
  if (!req.topics) {
    for (auto& info : ctx.svc.topics.all()) add_topic(info, nullptr);
  } else {
    for (auto& wanted : *req.topics) {
      if (auto info = ctx.svc.topics.find(wanted.topic)) add_topic(*info, &wanted.partitions);
    }
  }
  co_return reply;
}

}  // namespace eb::bridge

// The blocking forms of the writes, for threads that may wait (the mirror thread, tools, tests):
// each calls the callback form and waits for its completion. One implementation for all.
#include <future>
#include <memory>

#include "storage/storage.h"

namespace eb::storage {

template <class T, class Start>
result<T> log_store::wait_for(Start&& start) {
  // The completion runs on the writer thread: waiting there would never return.
  if (on_writer_thread()) return make_error_code(std::errc::resource_deadlock_would_occur);
  auto promise = std::make_shared<std::promise<result<T>>>();
  auto done = promise->get_future();
  start(write_callback<T>([promise](result<T> r) { promise->set_value(std::move(r)); }));
  return done.get();
}

result<topic_info> log_store::create_topic(const std::string& name, const topic_config& cfg) {
  return wait_for<topic_info>([&](auto done) { create_topic(name, cfg, std::move(done)); });
}

result<topic_info> log_store::alter_topic(const std::string& name, const topic_config& cfg) {
  return wait_for<topic_info>([&](auto done) { alter_topic(name, cfg, std::move(done)); });
}

result<topic_info> log_store::add_partitions(const std::string& name, int32_t partitions) {
  return wait_for<topic_info>(
      [&](auto done) { add_partitions(name, partitions, std::move(done)); });
}

result<topic_info> log_store::delete_topic(const std::string& name) {
  return wait_for<topic_info>([&](auto done) { delete_topic(name, std::move(done)); });
}

result<int64_t> log_store::allocate_producer_id() {
  return wait_for<int64_t>([&](auto done) { allocate_producer_id(std::move(done)); });
}

result<void> log_store::commit_mirror_cursors(
    const std::map<std::pair<std::string, int32_t>, int64_t>& next_offsets) {
  return wait_for<void>([&](auto done) { commit_mirror_cursors(next_offsets, std::move(done)); });
}

result<void> log_store::commit_group_offsets(
    const std::string& group,
    const std::map<std::pair<std::string, int32_t>, committed_offset>& offsets) {
  return wait_for<void>([&](auto done) { commit_group_offsets(group, offsets, std::move(done)); });
}

result<int64_t> log_store::delete_records(const std::string& topic, int32_t partition,
                                          int64_t offset) {
  return wait_for<int64_t>(
      [&](auto done) { delete_records(topic, partition, offset, std::move(done)); });
}

result<void> log_store::delete_group_offsets(const std::string& group) {
  return wait_for<void>([&](auto done) { delete_group_offsets(group, std::move(done)); });
}

result<void> log_store::mark_gaps_reported(uint64_t up_to_id) {
  return wait_for<void>([&](auto done) { mark_gaps_reported(up_to_id, std::move(done)); });
}

result<uint64_t> log_store::add_gap(gap g) {
  return wait_for<uint64_t>([&](auto done) { add_gap(std::move(g), std::move(done)); });
}

result<void> log_store::update_records(const std::string& kind,
                                       std::vector<record_change> changes) {
  return wait_for<void>(
      [&](auto done) { update_records(kind, std::move(changes), std::move(done)); });
}

result<void> log_store::put_source_cursors(const std::map<std::string, std::string>& entries) {
  return wait_for<void>([&](auto done) { put_source_cursors(entries, std::move(done)); });
}

}  // namespace eb::storage

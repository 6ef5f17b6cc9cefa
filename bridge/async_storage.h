#pragma once
// Awaitable adapters over storage. Writes complete on storage's writer thread and reads that may
// touch the disk run on the reader pool; every adapter hops back to the awaiting coroutine's
// executor, so handlers never run on either and no io thread ever waits for storage.
//
//   auto acks = co_await async_append(ctx.svc.store, std::move(requests));
//   auto batches = co_await async_read(ctx.svc.readers, [&] { return store.read(...); });
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "storage/storage.h"

namespace eb::bridge {

// The one adapter: `start(done)` begins an operation that calls `done(T)` exactly once, on any
// thread; the completion handler then runs on its associated executor (for a coroutine, the one
// it awaits on).
template <class T, class Start, class CompletionToken>
auto async_storage_op(Start start, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void(T)>(
      [](auto handler, Start start) {
        // std::function needs a copyable target; the completion handler is move-only.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        // The completing thread must hold nothing of the io side once the post is made: the
        // completion may run, and the server and its io_context go away, before this lambda
        // returns. So the handler and its executor are moved into the post, not copied.
        start([shared = std::move(shared)](T r) mutable {
          auto ex = boost::asio::get_associated_executor(*shared);
          boost::asio::post(std::move(ex),
                            [shared = std::move(shared), r = std::move(r)]() mutable {
                              (*shared)(std::move(r));
                            });
        });
      },
      token, std::move(start));
}

using default_token = boost::asio::use_awaitable_t<>;

// Writes: the arguments are copied into the operation (it may start after the caller's
// temporaries are gone).
template <class CompletionToken = default_token>
auto async_append(storage::log_store& store, std::vector<storage::append_request> requests,
                  CompletionToken&& token = {}) {
  using results = std::vector<result<storage::append_ack>>;
  return async_storage_op<results>(
      [&store, requests = std::move(requests)](auto done) mutable {
        store.append(std::move(requests), std::move(done));
      },
      std::forward<CompletionToken>(token));
}

template <class CompletionToken = default_token>
auto async_create_topic(storage::log_store& store, std::string name, storage::topic_config cfg,
                        CompletionToken&& token = {}) {
  return async_storage_op<result<storage::topic_info>>(
      [&store, name = std::move(name), cfg](auto done) {
        store.create_topic(name, cfg, std::move(done));
      },
      std::forward<CompletionToken>(token));
}

template <class CompletionToken = default_token>
auto async_alter_topic(storage::log_store& store, std::string name, storage::topic_config cfg,
                       CompletionToken&& token = {}) {
  return async_storage_op<result<storage::topic_info>>(
      [&store, name = std::move(name), cfg](auto done) {
        store.alter_topic(name, cfg, std::move(done));
      },
      std::forward<CompletionToken>(token));
}

template <class CompletionToken = default_token>
auto async_update_records(storage::log_store& store, std::string kind,
                          std::vector<storage::record_change> changes,
                          CompletionToken&& token = {}) {
  return async_storage_op<result<void>>(
      [&store, kind = std::move(kind), changes = std::move(changes)](auto done) mutable {
        store.update_records(kind, std::move(changes), std::move(done));
      },
      std::forward<CompletionToken>(token));
}

template <class CompletionToken = default_token>
auto async_add_partitions(storage::log_store& store, std::string name, int32_t partitions,
                          CompletionToken&& token = {}) {
  return async_storage_op<result<storage::topic_info>>(
      [&store, name = std::move(name), partitions](auto done) {
        store.add_partitions(name, partitions, std::move(done));
      },
      std::forward<CompletionToken>(token));
}

template <class CompletionToken = default_token>
auto async_delete_topic(storage::log_store& store, std::string name, CompletionToken&& token = {}) {
  return async_storage_op<result<storage::topic_info>>(
      [&store, name = std::move(name)](auto done) { store.delete_topic(name, std::move(done)); },
      std::forward<CompletionToken>(token));
}

template <class CompletionToken = default_token>
auto async_delete_records(storage::log_store& store, std::string topic, int32_t partition,
                          int64_t offset, CompletionToken&& token = {}) {
  return async_storage_op<result<int64_t>>(
      [&store, topic = std::move(topic), partition, offset](auto done) {
        store.delete_records(topic, partition, offset, std::move(done));
      },
      std::forward<CompletionToken>(token));
}

template <class CompletionToken = default_token>
auto async_delete_group_offsets(storage::log_store& store, std::string group,
                                CompletionToken&& token = {}) {
  return async_storage_op<result<void>>(
      [&store, group = std::move(group)](auto done) {
        store.delete_group_offsets(group, std::move(done));
      },
      std::forward<CompletionToken>(token));
}

template <class CompletionToken = default_token>
auto async_allocate_producer_id(storage::log_store& store, CompletionToken&& token = {}) {
  return async_storage_op<result<int64_t>>(
      [&store](auto done) { store.allocate_producer_id(std::move(done)); },
      std::forward<CompletionToken>(token));
}

template <class CompletionToken = default_token>
auto async_commit_group_offsets(
    storage::log_store& store, std::string group,
    std::map<std::pair<std::string, int32_t>, storage::committed_offset> offsets,
    CompletionToken&& token = {}) {
  return async_storage_op<result<void>>(
      [&store, group = std::move(group), offsets = std::move(offsets)](auto done) {
        store.commit_group_offsets(group, offsets, std::move(done));
      },
      std::forward<CompletionToken>(token));
}

// Reads: runs `read()` (a storage read that may touch the disk) on the reader pool and resumes
// on the caller's executor with its value. `read` may capture the caller's locals by reference:
// the caller is suspended until it has run.
template <class Read, class CompletionToken = default_token>
auto async_read(boost::asio::thread_pool& readers, Read read, CompletionToken&& token = {}) {
  using value = std::invoke_result_t<Read&>;
  return async_storage_op<value>(
      [&readers, read = std::move(read)](auto done) mutable {
        boost::asio::post(
            readers, [read = std::move(read), done = std::move(done)]() mutable { done(read()); });
      },
      std::forward<CompletionToken>(token));
}

}  // namespace eb::bridge

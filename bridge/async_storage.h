#pragma once
// Awaitable adapters over storage's callback API. Storage completes on its writer thread; these
// hop back to the awaiting coroutine's executor so handlers never run on the writer.
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <memory>
#include <vector>

#include "storage/storage.h"

namespace eb::bridge {

template <class CompletionToken>
auto async_append(storage::log_store& store, std::vector<storage::append_request> requests,
                  CompletionToken&& token) {
  using results = std::vector<result<storage::append_ack>>;
  return boost::asio::async_initiate<CompletionToken, void(results)>(
      [&store](auto handler, std::vector<storage::append_request> requests) {
        // std::function needs a copyable target; the completion handler is move-only.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        store.append(std::move(requests), [shared](results r) {
          auto ex = boost::asio::get_associated_executor(*shared);
          boost::asio::post(ex, [shared, r = std::move(r)]() mutable { (*shared)(std::move(r)); });
        });
      },
      token, std::move(requests));
}

}  // namespace eb::bridge

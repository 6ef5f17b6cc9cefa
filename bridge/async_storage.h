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
        // The writer thread must hold nothing of the io side once the post is made: the
        // completion may run, and the server and its io_context go away, before this lambda
        // returns. So the handler and its executor are moved into the post, not copied.
        store.append(std::move(requests), [shared = std::move(shared)](results r) mutable {
          auto ex = boost::asio::get_associated_executor(*shared);
          boost::asio::post(std::move(ex),
                            [shared = std::move(shared), r = std::move(r)]() mutable {
                              (*shared)(std::move(r));
                            });
        });
      },
      token, std::move(requests));
}

}  // namespace eb::bridge

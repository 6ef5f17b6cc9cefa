#pragma once
// DeleteTopics: the local topic, its data, configs, mirror cursors and committed group offsets go
// in one durable storage write; the cloud topic stays. The downlink's topics are refused.
#include "bridge/handlers/handler.h"
#include "net/messages/messages.h"

namespace eb::bridge {

struct delete_topics_handler {
  using request_type = net::msg::delete_topics_request;
  static constexpr int16_t key = 20;
  static constexpr int16_t min_version = 0, max_version = 6;
  static awaitable<handler_result<net::msg::delete_topics_response>> handle(request_ctx&,
                                                                            request_type);
};

}  // namespace eb::bridge

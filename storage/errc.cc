#include <string>

#include "storage/storage.h"

namespace eb::storage {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "storage"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::disk_full:
        return "disk quota reached or disk full";
      case errc::io_error:
        return "storage I/O error";
      case errc::shutting_down:
        return "storage is shutting down";
      case errc::queue_full:
        return "append queue full";
      case errc::unknown_topic:
        return "unknown topic";
      case errc::unknown_partition:
        return "unknown partition";
      case errc::topic_exists:
        return "topic already exists";
      case errc::invalid_topic_config:
        return "invalid topic configuration";
      case errc::offset_out_of_range:
        return "offset out of range";
      case errc::out_of_order_sequence:
        return "out of order sequence number";
      case errc::invalid_producer_epoch:
        return "invalid producer epoch";
      case errc::unknown_producer_id:
        return "unknown producer id";
      case errc::held_for_mirror:
        return "the records are not mirrored yet: the mirror still needs them";
    }
    return "unknown storage error " + std::to_string(ev);
  }
};

}  // namespace

const std::error_category& storage_category() noexcept {
  // A function-local constant, not mutable state: categories compare by address.
  static const category instance;
  return instance;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), storage_category()};
}

}  // namespace eb::storage

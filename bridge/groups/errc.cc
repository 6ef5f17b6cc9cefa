#include "bridge/groups/errc.h"

#include <string>

namespace eb::bridge::groups {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "groups"; }
  std::string message(int e) const override {
    switch (static_cast<errc>(e)) {
      case errc::unknown_member_id:
        return "unknown member id";
      case errc::illegal_generation:
        return "illegal generation";
      case errc::rebalance_in_progress:
        return "rebalance in progress";
      case errc::inconsistent_group_protocol:
        return "inconsistent group protocol";
      case errc::invalid_group_id:
        return "invalid group id";
      case errc::invalid_session_timeout:
        return "invalid session timeout";
      case errc::member_id_required:
        return "member id required";
      case errc::coordinator_not_available:
        return "coordinator not available";
      case errc::group_max_size_reached:
        return "group max size reached";
      case errc::non_empty_group:
        return "the group has members";
      case errc::fenced_member_epoch:
        return "fenced member epoch";
      case errc::stale_member_epoch:
        return "stale member epoch";
      case errc::unreleased_instance_id:
        return "the instance id is in use by another member";
      case errc::group_id_not_found:
        return "group id not found";
      case errc::invalid_request:
        return "invalid request";
      case errc::unsupported_assignor:
        return "unsupported assignor";
      case errc::invalid_regular_expression:
        return "invalid regular expression";
    }
    return "unknown groups error";
  }
};

}  // namespace

const std::error_category& groups_category() noexcept {
  static const category c;
  return c;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), groups_category()};
}

}  // namespace eb::bridge::groups

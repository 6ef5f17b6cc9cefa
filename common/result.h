#pragma once
// The one result type every module returns: a value or a std::error_code from the module's errc.
//
// Must-check: the class is [[nodiscard]], so ignoring a returned result fails the -Werror build.
// A deliberate ignore reads `(void)r; // why`. Everything else is boost::system::result
// (value(), error(), has_value(), operator bool, operator*, operator->).
#include <boost/system/result.hpp>
#include <system_error>
#include <utility>

namespace eb {

template <class T>
class [[nodiscard]] result : public boost::system::result<T, std::error_code> {
  using base = boost::system::result<T, std::error_code>;

 public:
  using base::base;
  result(base b) : base(std::move(b)) {}  // NOLINT: implicit, like the base's own converting ctors
};

}  // namespace eb

#pragma once
// The one result type every module returns: a value or a std::error_code from the module's errc.
#include <boost/system/result.hpp>
#include <system_error>

namespace eb {

template <class T>
using result = boost::system::result<T, std::error_code>;

}  // namespace eb

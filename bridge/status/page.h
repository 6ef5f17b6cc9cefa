#pragma once
// The status page served at /: one self-contained HTML document (CSS and JS inline, no CDN) that
// polls /v1/status every 2 s, so it works on a floor without internet.
#include <string_view>

namespace eb::bridge {

std::string_view status_page_html();

}  // namespace eb::bridge

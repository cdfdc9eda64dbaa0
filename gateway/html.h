// The few pieces the auditors' web page needs to write HTML safely. Every
// value that comes from the store (file names are client-supplied!) or the
// request goes through escape() before it reaches a page; the page shell
// carries no script and one fixed stylesheet, whose hash the
// Content-Security-Policy names.
#pragma once

#include <string>
#include <string_view>

namespace kp::gateway::html {

// Escapes & < > " ' for use in element text and quoted attribute values;
// control characters other than tab and newline become U+FFFD.
std::string escape(std::string_view s);

// Percent-encodes a query-string value (everything but A-Z a-z 0-9 - _ . ~).
std::string url_encode(std::string_view s);

// A whole page: doctype, <title>, the stylesheet, `body` (already escaped).
std::string page(std::string_view title, std::string_view body);

// The Content-Security-Policy for page(): nothing from anywhere, except the
// page's own stylesheet (by hash), forms to itself, and no framing.
const std::string& content_security_policy();

}  // namespace kp::gateway::html

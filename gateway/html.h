// The few pieces the auditors' web page needs to write HTML safely. Every
// value that comes from the store (file names are client-supplied!) or the
// request goes through escape() before it reaches a page; the page shell
// carries no script and links one stylesheet, served by the gateway itself
// (kStylesheetPath, from gateway/web_style.css); the Content-Security-Policy
// allows styles from 'self' only, no inline style, no script at all.
#pragma once

#include <string>
#include <string_view>

namespace kp::gateway::html {

// Escapes & < > " ' for use in element text and quoted attribute values;
// control characters other than tab and newline become U+FFFD.
std::string escape(std::string_view s);

// Percent-encodes a query-string value (everything but A-Z a-z 0-9 - _ . ~).
std::string url_encode(std::string_view s);

// Where every page finds its stylesheet (served by AuditorWeb).
inline constexpr const char* kStylesheetPath = "/auditor/style.css";

// The stylesheet's text (gateway/web_style.css, compiled in).
std::string_view stylesheet();

// A whole page: doctype, <html lang>, <title>, the stylesheet link, `body`
// (already escaped).
std::string page(std::string_view title, std::string_view body, std::string_view lang = "en");

// The Content-Security-Policy for page(): nothing from anywhere, except
// stylesheets from this server, forms to itself, and no framing.
const std::string& content_security_policy();

}  // namespace kp::gateway::html

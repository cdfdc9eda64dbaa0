// HTML escaping and the page shell; see html.h.
#include "gateway/html.h"

#include "common/base64.h"
#include "common/digest.h"

namespace kp::gateway::html {

namespace {

constexpr std::string_view kStyle =
    "body{font-family:sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;font-size:0.85em}"
    "th,td{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}"
    "th{background:#eee}td.hash{font-family:monospace}"
    "pre{background:#f6f6f6;padding:0.5em;overflow-x:auto}"
    "form.inline{display:inline}nav{margin-bottom:1em}"
    ".ok{color:#060;font-weight:bold}.failed{color:#b00;font-weight:bold}"
    ".error{color:#b00}fieldset{margin-bottom:1em}";

}  // namespace

std::string escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
          out += "\xEF\xBF\xBD";
        else
          out.push_back(c);
    }
  }
  return out;
}

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' ||
        u == '_' || u == '.' || u == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(hex[u >> 4]);
      out.push_back(hex[u & 15]);
    }
  }
  return out;
}

std::string page(std::string_view title, std::string_view body) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>";
  out += escape(title);
  out += "</title><style>";
  out += kStyle;
  out += "</style></head><body>\n";
  out += body;
  out += "\n</body></html>\n";
  return out;
}

const std::string& content_security_policy() {
  static const std::string csp = [] {
    Sha256Digest h = sha256(kStyle);
    return "default-src 'none'; style-src 'sha256-" + base64_encode(h.data(), h.size()) +
           "'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
  }();
  return csp;
}

}  // namespace kp::gateway::html

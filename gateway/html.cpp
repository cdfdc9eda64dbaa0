// HTML escaping and the page shell; see html.h.
#include "gateway/html.h"

namespace kp::gateway::html {

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

std::string page(std::string_view title, std::string_view body, std::string_view lang) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"";
  out += escape(lang);
  out +=
      "\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
      "content=\"width=device-width, initial-scale=1\"><title>";
  out += escape(title);
  out += "</title><link rel=\"stylesheet\" href=\"";
  out += kStylesheetPath;
  out += "\"></head><body>\n";
  out += body;
  out += "\n</body></html>\n";
  return out;
}

const std::string& content_security_policy() {
  static const std::string csp =
      "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; "
      "base-uri 'none'";
  return csp;
}

}  // namespace kp::gateway::html

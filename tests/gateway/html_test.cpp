// Unit tests for gateway/html.h: escaping of hostile values, URL encoding,
// the page shell linking the stylesheet, and the Content-Security-Policy.
#include "gateway/html.h"

#include <doctest/doctest.h>

using namespace kp::gateway;

TEST_CASE("html: escape") {
  CHECK(html::escape("<script>alert('x')</script>") ==
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
  CHECK(html::escape("a\" onmouseover=\"x") == "a&quot; onmouseover=&quot;x");
  CHECK(html::escape("&amp;") == "&amp;amp;");
  CHECK(html::escape("plain name-1.age") == "plain name-1.age");
  CHECK(html::escape(std::string("a\0b\x1b[31m\x7f", 9)) ==
        "a\xEF\xBF\xBD"
        "b\xEF\xBF\xBD[31m\xEF\xBF\xBD");
  CHECK(html::escape("tab\tnew\nline") == "tab\tnew\nline");
  CHECK(html::escape("caf\xc3\xa9") == "caf\xc3\xa9");  // UTF-8 passes unchanged
}

TEST_CASE("html: url_encode") {
  CHECK(html::url_encode("GM0363") == "GM0363");
  CHECK(html::url_encode("a b&c=d/<>") == "a%20b%26c%3Dd%2F%3C%3E");
  CHECK(html::url_encode("sftp.upload-x_y~") == "sftp.upload-x_y~");
}

TEST_CASE("html: page and CSP") {
  std::string p = html::page("<t>", "<p>body</p>", "nl");
  CHECK(p.find("<html lang=\"nl\">") != std::string::npos);
  CHECK(p.find("<title>&lt;t&gt;</title>") != std::string::npos);
  CHECK(p.find("<p>body</p>") != std::string::npos);
  CHECK(p.find("<script") == std::string::npos);
  CHECK(p.find("<style") == std::string::npos);
  CHECK(p.find("<link rel=\"stylesheet\" href=\"/auditor/style.css\">") != std::string::npos);
  const std::string& csp = html::content_security_policy();
  CHECK(csp.rfind("default-src 'none';", 0) == 0);
  CHECK(csp.find("style-src 'self'") != std::string::npos);
  CHECK(csp.find("frame-ancestors 'none'") != std::string::npos);
  CHECK(csp.find("unsafe") == std::string::npos);
  CHECK(csp.find("script-src") == std::string::npos);
  // The stylesheet is compiled in, from gateway/web_style.css.
  CHECK(html::stylesheet().find("table.records") != std::string_view::npos);
}

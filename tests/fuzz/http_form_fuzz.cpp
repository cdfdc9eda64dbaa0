// libFuzzer target for the auditors' web page's request parsing
// (gateway/auditor_web.cpp): a request head as Poco's server reads it, its
// query as the dashboard's filter form, its cookies (the session cookie),
// and a url-encoded POST body as the login form, with the page's limit of
// 16 fields (the way read_post_form reads it). It found that
// HTMLForm::load counts the limit separately for the URI's query and the
// body, so a POST form held up to 32 fields and a query field shadowed the
// body's: read_post_form now reads the body alone. Poco refuses bad input with a Poco::Exception, which the
// server answers with an error; anything else (another exception, a crash,
// a field limit not kept) is a finding.
#include <Poco/Exception.h>
#include <Poco/Net/HTMLForm.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/NameValueCollection.h>

#include <sstream>
#include <string>

#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view s = kp::fuzz::text(data, size);
  std::size_t head_end = s.find("\r\n\r\n");
  std::string head(s.substr(0, head_end == std::string_view::npos ? s.size() : head_end + 4));
  std::string body(head_end == std::string_view::npos ? std::string_view() : s.substr(head_end + 4));
  try {
    Poco::Net::HTTPRequest req;
    std::istringstream head_in(head);
    req.read(head_in);
    Poco::Net::NameValueCollection cookies;
    req.getCookies(cookies);
    (void)cookies.get("kp_session", "");
    Poco::Net::HTMLForm query(req);
    (void)query.get("municipality", "");
    // As read_post_form does: the body alone, at most 16 fields.
    Poco::Net::HTMLForm form;
    form.setFieldLimit(16);
    std::istringstream body_in(body);
    form.read(body_in);
    FUZZ_ASSERT(form.size() <= 16);
    (void)form.get("auditor", "");
    (void)form.get("token", "");
  } catch (const Poco::Exception&) {
  }
  return 0;
}

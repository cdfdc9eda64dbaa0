// The HTML of the auditors' web page: login, the dashboard (filters,
// chart, records table with pages, current checkpoint, Verify and the
// outcome of the last Verify) and notices (refusals). Pure functions of
// what the handlers (auditor_web.cpp) read from the store; every value is
// escaped here (html.h), every text comes from auditor_texts.h in the
// page's language, and the markup carries no style attribute and no
// script: the look is web_style.css's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gateway/auditor_texts.h"
#include "gateway/web_sessions.h"
#include "store/audit_events.h"
#include "store/registry.h"

namespace kp::gateway {

// The filter values as the auditor typed them (empty = not set).
struct FilterForm {
  std::string municipality, event, outcome, since, until;
};

struct DashboardView {
  Lang lang = Lang::nl;
  std::string auditor, csrf;
  FilterForm form;
  std::vector<store::Municipality> municipalities;  // the filter's choices, names for codes
  std::vector<std::string> errors;                  // filters that were ignored, and why
  std::vector<store::AuditEvent> records;           // this page
  int64_t total = 0, page = 1, pages = 1;
  std::string chart_html;                 // already safe (transfer_chart.h)
  std::optional<std::string> checkpoint;  // the latest signed note
  std::optional<VerifyNote> verified;     // shown: the page the Verify POST redirected to
};

// `message` (escaped) is shown above the form when not empty.
std::string login_page(Lang lang, const std::string& message);
std::string dashboard_page(const DashboardView& v);
// A refusal or error, with a link back to the log.
std::string notice_page(Lang lang, const std::string& message);

// The query string (without '?') that reproduces `f` at page `page` in
// `lang` (Dutch, the default, adds nothing).
std::string filter_query(const FilterForm& f, int64_t page, Lang lang = Lang::nl);

}  // namespace kp::gateway

// The HTML of the auditors' web page: login, the dashboard (filters, chart,
// transfer table with pages, current checkpoint, verify button) and the
// verify outcome. Pure functions of what the handlers (auditor_web.cpp)
// read from the store; every value is escaped here (html.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/audit_events.h"

namespace kp::gateway {

// The filter values as the auditor typed them (empty = not set).
struct FilterForm {
  std::string municipality, event, outcome, since, until;
};

struct DashboardView {
  std::string auditor, csrf;
  FilterForm form;
  std::vector<std::string> municipalities;  // codes for the filter's choices
  std::vector<std::string> errors;          // filters that were ignored, and why
  std::vector<store::AuditEvent> records;   // this page
  int64_t total = 0, page = 1, pages = 1;
  std::string chart_svg;                  // already safe (transfer_chart.h)
  std::optional<std::string> checkpoint;  // the latest signed note
};

// `message` (escaped) is shown above the form when not empty.
std::string login_page(const std::string& message);
std::string dashboard_page(const DashboardView& v);
// The verify outcome: "ok" with the counts, or "failed" with the reason.
std::string verify_page(const std::string& auditor, const std::string& csrf, bool ok,
                        const std::string& detail);

// The query string (without '?') that reproduces `f` at page `page`.
std::string filter_query(const FilterForm& f, int64_t page);

}  // namespace kp::gateway

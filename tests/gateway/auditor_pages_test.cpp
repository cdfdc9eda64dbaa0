// Unit tests for gateway/auditor_pages.h and transfer_chart.h: every
// stored value is escaped (client-supplied file names!), forms carry the
// CSRF token, and the chart draws what it is given.
#include "gateway/auditor_pages.h"

#include <doctest/doctest.h>

#include "gateway/transfer_chart.h"

using namespace kp;

TEST_CASE("auditor pages: hostile values are escaped") {
  gateway::DashboardView v;
  v.auditor = "a.audit";
  v.csrf = "c5rf";
  v.form.event = "\"><script>alert(1)</script>";
  store::AuditEvent e;
  e.id = 1;
  e.event = "sftp.upload";
  e.outcome = "success";
  e.object = "upload/7 <script>alert('x')</script>.age";
  e.reason = "<img src=x onerror=alert(1)>";
  v.records.push_back(e);
  v.checkpoint = "origin\n1\n<b>";
  std::string page = gateway::dashboard_page(v);
  CHECK(page.find("<script") == std::string::npos);
  CHECK(page.find("<img") == std::string::npos);
  CHECK(page.find("<b>") == std::string::npos);
  CHECK(page.find("upload/7 &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;.age") !=
        std::string::npos);
  CHECK(page.find("value=\"&quot;&gt;&lt;script&gt;") != std::string::npos);
  // Both state-changing forms carry the CSRF token.
  std::size_t n = 0;
  for (auto p = page.find("name=\"csrf\" value=\"c5rf\""); p != std::string::npos;
       p = page.find("name=\"csrf\" value=\"c5rf\"", p + 1))
    ++n;
  CHECK(n == 2);
  CHECK(gateway::login_page("<x>").find("&lt;x&gt;") != std::string::npos);
  CHECK(gateway::verify_page("a", "c", false, "<bad>").find("&lt;bad&gt;") != std::string::npos);
  CHECK(gateway::verify_page("a", "c", true, "").find("id=\"verify-outcome\" class=\"ok\">ok<") !=
        std::string::npos);
}

TEST_CASE("auditor pages: paging links keep the filters, encoded") {
  gateway::FilterForm f;
  f.municipality = "GM0363";
  f.event = "a&b";
  CHECK(gateway::filter_query(f, 1) == "municipality=GM0363&event=a%26b");
  CHECK(gateway::filter_query(f, 3) == "municipality=GM0363&event=a%26b&page=3");
  CHECK(gateway::filter_query({}, 1).empty());
}

TEST_CASE("transfer chart") {
  CHECK(gateway::transfer_chart_svg({}).find("<svg") == std::string::npos);
  const int64_t d0 = 1763769600000;
  std::vector<store::DayCount> counts = {
      {d0, "GM0363", 2}, {d0, "GM0599", 1}, {d0 + 2 * 86400000, "GM0363", 4}};
  std::string svg = gateway::transfer_chart_svg(counts);
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(svg.find("data-day=\"2025-11-22\" data-municipality=\"GM0363\" data-count=\"2\"") !=
        std::string::npos);
  CHECK(svg.find("data-day=\"2025-11-24\" data-municipality=\"GM0363\" data-count=\"4\"") !=
        std::string::npos);
  CHECK(svg.find("<title>2025-11-22 GM0599: 1</title>") != std::string::npos);
  // Many days: only the most recent kChartMaxDays are drawn.
  std::vector<store::DayCount> many;
  for (int64_t i = 0; i < 200; ++i) many.push_back({d0 + i * 86400000, "GM0363", 1});
  std::string big = gateway::transfer_chart_svg(many);
  std::size_t bars = 0;
  for (auto p = big.find("class=\"bar\""); p != std::string::npos;
       p = big.find("class=\"bar\"", p + 1))
    ++bars;
  CHECK(bars == static_cast<std::size_t>(gateway::kChartMaxDays));
}

// Unit tests for gateway/auditor_pages.h, auditor_texts.h and
// transfer_chart.h: every stored value is escaped (client-supplied file
// names!), forms carry the CSRF token and the language, every text exists
// in both languages, and the chart draws what it is given with real day
// labels, names and codes.
#include "gateway/auditor_pages.h"

#include <doctest/doctest.h>

#include "gateway/auditor_texts.h"
#include "gateway/transfer_chart.h"

using namespace kp;
using gateway::Lang;

namespace {

std::size_t occurrences(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

const int64_t kD0 = 1763769600000;  // 2025-11-22
const int64_t kDay = 86400000;

}  // namespace

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
  e.municipality = "GM0363";
  v.municipalities.push_back({"GM0363", "<b>Amsterdam</b>", {}});
  v.records.push_back(e);
  v.checkpoint = "origin\n1\n<b>";
  std::string page = gateway::dashboard_page(v);
  CHECK(page.find("<script") == std::string::npos);
  CHECK(page.find("<img") == std::string::npos);
  CHECK(page.find("<b>") == std::string::npos);
  CHECK(page.find("style=") == std::string::npos);  // the CSP allows no inline style
  CHECK(page.find("upload/7 &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;.age") !=
        std::string::npos);
  CHECK(page.find("value=\"&quot;&gt;&lt;script&gt;") != std::string::npos);
  // Both state-changing forms carry the CSRF token.
  CHECK(occurrences(page, "name=\"csrf\" value=\"c5rf\"") == 2);
  CHECK(gateway::login_page(Lang::nl, "<x>").find("&lt;x&gt;") != std::string::npos);
  CHECK(gateway::notice_page(Lang::en, "<bad>").find("&lt;bad&gt;") != std::string::npos);
}

TEST_CASE("auditor pages: Dutch by default, English on request, kept in every form and link") {
  gateway::DashboardView v;
  v.auditor = "a.audit";
  v.csrf = "c";
  v.total = 120;
  v.pages = 3;
  v.page = 2;
  v.form.municipality = "GM0363";
  std::string nl = gateway::dashboard_page(v);
  CHECK(nl.find("<html lang=\"nl\">") != std::string::npos);
  CHECK(nl.find(">Overdrachtslogboek<") != std::string::npos);
  CHECK(nl.find("name=\"lang\"") == std::string::npos);  // Dutch needs no parameter
  CHECK(nl.find("id=\"next\" href=\"/auditor/?municipality=GM0363&amp;page=3\"") !=
        std::string::npos);
  CHECK(
      nl.find("id=\"lang-switch\" href=\"/auditor/?municipality=GM0363&amp;page=2&amp;lang=en\"") !=
      std::string::npos);
  v.lang = Lang::en;
  std::string en = gateway::dashboard_page(v);
  CHECK(en.find("<html lang=\"en\">") != std::string::npos);
  CHECK(en.find(">Transfer log<") != std::string::npos);
  // The filter form, Verify and Log out all keep the language.
  CHECK(occurrences(en, "<input type=\"hidden\" name=\"lang\" value=\"en\">") == 3);
  CHECK(en.find("id=\"prev\" href=\"/auditor/?municipality=GM0363&amp;lang=en\"") !=
        std::string::npos);
  CHECK(gateway::login_page(Lang::en, "").find(">Log in<") != std::string::npos);
  CHECK(gateway::login_page(Lang::nl, "").find(">Inloggen<") != std::string::npos);
  CHECK(gateway::parse_lang("en") == Lang::en);
  CHECK(gateway::parse_lang("EN") == Lang::nl);
  CHECK(gateway::parse_lang("") == Lang::nl);
}

TEST_CASE("auditor pages: the last Verify's outcome, when the page names it") {
  gateway::DashboardView v;
  v.lang = Lang::en;
  CHECK(gateway::dashboard_page(v).find("verify-outcome") == std::string::npos);
  gateway::VerifyNote n;
  n.seq = 2;
  n.ok = true;
  n.records = 1234;
  n.checkpoints = 5;
  v.verified = n;
  std::string ok = gateway::dashboard_page(v);
  CHECK(ok.find("id=\"verify-outcome\" class=\"ok\">ok<") != std::string::npos);
  CHECK(ok.find("Transfer log verified: 1,234 records, 5 signed checkpoints.") !=
        std::string::npos);
  v.lang = Lang::nl;
  n.ok = false;
  n.error = "audit-record-altered: record 3 <x>";
  v.verified = n;
  std::string failed = gateway::dashboard_page(v);
  CHECK(failed.find("id=\"verify-outcome\" class=\"failed\">mislukt<") != std::string::npos);
  CHECK(failed.find("audit-record-altered: record 3 &lt;x&gt;") != std::string::npos);
  CHECK(failed.find("verify=2") != std::string::npos);  // the language switch keeps the outcome
}

TEST_CASE("auditor pages: paging links keep the filters, encoded") {
  gateway::FilterForm f;
  f.municipality = "GM0363";
  f.event = "a&b";
  CHECK(gateway::filter_query(f, 1) == "municipality=GM0363&event=a%26b");
  CHECK(gateway::filter_query(f, 3) == "municipality=GM0363&event=a%26b&page=3");
  CHECK(gateway::filter_query(f, 3, Lang::en) == "municipality=GM0363&event=a%26b&page=3&lang=en");
  CHECK(gateway::filter_query({}, 1).empty());
}

TEST_CASE("auditor texts: every text in both languages, placeholders filled") {
  for (int i = 0; i < static_cast<int>(gateway::Txt::count_); ++i) {
    auto t = static_cast<gateway::Txt>(i);
    CHECK_FALSE(gateway::text(Lang::nl, t).empty());
    CHECK_FALSE(gateway::text(Lang::en, t).empty());
  }
  CHECK(gateway::format_text(Lang::en, gateway::Txt::count_line, {"7", "1", "2"}) ==
        "7 records, page 1 of 2");
  CHECK(gateway::format_text(Lang::nl, gateway::Txt::count_line, {"7", "1", "2"}) ==
        "7 regels, pagina 1 van 2");
}

TEST_CASE("transfer chart: period follows the filters") {
  std::vector<store::DayCount> counts = {{kD0, "GM0363", 1}};
  // No filter: from the first transfer (at least a week) to today.
  auto p = gateway::chart_period(std::nullopt, std::nullopt, counts, kD0 + 2 * kDay + 5000);
  CHECK(p.first_ms == kD0 - 4 * kDay);
  CHECK(p.last_ms == kD0 + 2 * kDay);
  // From/until: exactly that period.
  p = gateway::chart_period(kD0 - kDay, kD0 + kDay, counts, kD0 + 40 * kDay);
  CHECK(p.first_ms == kD0 - kDay);
  CHECK(p.last_ms == kD0 + kDay);
  CHECK_FALSE(p.truncated);
  // A year: the last kChartMaxDays days.
  p = gateway::chart_period(kD0, kD0 + 364 * kDay, counts, kD0);
  CHECK(p.truncated);
  CHECK((p.last_ms - p.first_ms) / kDay + 1 == gateway::kChartMaxDays);
}

TEST_CASE("transfer chart: labels, names, codes, colours, totals") {
  gateway::ChartSpec s;
  s.lang = Lang::nl;
  s.period = {kD0, kD0 + 2 * kDay, false};
  s.municipalities = {
      {"GM0363", "Amsterdam", {}}, {"GM0518", "'s-Gravenhage", {}}, {"GM0599", "Rotterdam", {}}};
  CHECK(gateway::transfer_chart(s).find("id=\"chart-empty\"") != std::string::npos);
  s.counts = {{kD0, "GM0363", 2}, {kD0, "GM0599", 1}, {kD0 + 2 * kDay, "GM0363", 4}};
  s.what = "geslaagde uploads en downloads";
  std::string html = gateway::transfer_chart(s);
  CHECK(html.find("style=") == std::string::npos);
  CHECK(html.find("data-day=\"2025-11-22\" data-municipality=\"GM0363\" data-count=\"2\"") !=
        std::string::npos);
  CHECK(html.find("data-day=\"2025-11-24\" data-municipality=\"GM0363\" data-count=\"4\"") !=
        std::string::npos);
  CHECK(html.find("<title>2025-11-22 \xC2\xB7 Rotterdam (GM0599): 1</title>") != std::string::npos);
  // Real day labels on the axis, in the page's language.
  CHECK(html.find(">22 nov</text>") != std::string::npos);
  CHECK(html.find(">23 nov</text>") != std::string::npos);
  CHECK(gateway::chart_day_label(Lang::en, kD0 + 15 * kDay) == "7 Dec");
  CHECK(gateway::chart_day_label(Lang::nl, kD0 + 127 * kDay) == "29 mrt");
  // The legend: colour by place among all municipalities (GM0599 is the
  // third: s2, whether or not GM0518 has transfers), name, code, total.
  CHECK(html.find("<span class=\"swatch s2\"></span><span class=\"name\">Rotterdam</span> <span "
                  "class=\"code\">GM0599</span> <span class=\"count\">1</span>") !=
        std::string::npos);
  CHECK(html.find("<span class=\"name\">Amsterdam</span> <span class=\"code\">GM0363</span> <span "
                  "class=\"count\">6</span>") != std::string::npos);
  CHECK(html.find("'s-Gravenhage") == std::string::npos);  // no transfers: not in the legend
  CHECK(html.find("<strong>7</strong> overdrachten") != std::string::npos);
  CHECK(html.find("7 geslaagde uploads en downloads van 22 nov 2025 tot en met 24 nov 2025") !=
        std::string::npos);
  // Day totals above the bars.
  CHECK(html.find("class=\"total\"") != std::string::npos);
}

TEST_CASE("transfer chart: many days, labels thinned, every bar drawn") {
  gateway::ChartSpec s;
  s.lang = Lang::en;
  s.period = {kD0, kD0 + (gateway::kChartMaxDays - 1) * kDay, true};
  for (int64_t i = 0; i < 200; ++i) s.counts.push_back({kD0 + i * kDay, "GM0363", 1});
  std::string html = gateway::transfer_chart(s);
  auto wide = html.substr(0, html.find("id=\"chart-narrow\""));
  CHECK(occurrences(wide, "class=\"bar s0\"") == static_cast<std::size_t>(gateway::kChartMaxDays));
  std::size_t labels = occurrences(wide, "<text class=\"day\"");
  CHECK(labels >= 10);
  CHECK(labels < static_cast<std::size_t>(gateway::kChartMaxDays) / 2);
  CHECK(html.find("(the last 92 days of the period)") != std::string::npos);
  CHECK(html.find("GM0363") != std::string::npos);  // unregistered: its code is its name
}

// Auditor page HTML; see auditor_pages.h.
#include "gateway/auditor_pages.h"

#include "common/log.h"
#include "gateway/html.h"

namespace kp::gateway {

namespace {

using html::escape;

std::string nav(const std::string& auditor, const std::string& csrf) {
  return "<nav>Auditor <strong id=\"who\">" + escape(auditor) +
         "</strong> &middot; <a href=\"/auditor/\">transfers</a> &middot; "
         "<form class=\"inline\" method=\"post\" action=\"/auditor/logout\">"
         "<input type=\"hidden\" name=\"csrf\" value=\"" +
         escape(csrf) + "\"><button id=\"logout\" type=\"submit\">Log out</button></form></nav>\n";
}

std::string opt(const std::optional<std::string>& v) {
  return v ? escape(*v) : std::string();
}

std::string text_input(const char* name, const char* label, const std::string& value,
                       const char* type = "text") {
  return std::string("<label>") + label + " <input id=\"" + name + "\" name=\"" + name +
         "\" type=\"" + type + "\" value=\"" + escape(value) + "\"></label> ";
}

std::string select(const char* name, const char* label, const std::vector<std::string>& choices,
                   const std::string& chosen) {
  std::string out = std::string("<label>") + label + " <select id=\"" + name + "\" name=\"" + name +
                    "\"><option value=\"\">all</option>";
  for (const auto& c : choices)
    out += "<option value=\"" + escape(c) + "\"" + (c == chosen ? " selected" : "") + ">" +
           escape(c) + "</option>";
  return out + "</select></label> ";
}

}  // namespace

std::string filter_query(const FilterForm& f, int64_t page) {
  std::string q;
  auto add = [&](const char* k, const std::string& v) {
    if (v.empty()) return;
    q += (q.empty() ? "" : "&") + std::string(k) + "=" + html::url_encode(v);
  };
  add("municipality", f.municipality);
  add("event", f.event);
  add("outcome", f.outcome);
  add("since", f.since);
  add("until", f.until);
  if (page > 1) add("page", std::to_string(page));
  return q;
}

std::string login_page(const std::string& message) {
  std::string body = "<h1>knooppunt &mdash; auditors</h1>\n";
  if (!message.empty()) body += "<p id=\"message\" class=\"error\">" + escape(message) + "</p>\n";
  body +=
      "<form method=\"post\" action=\"/auditor/login\">"
      "<p><label>Auditor id <input id=\"auditor\" name=\"auditor\" autocomplete=\"username\" "
      "required></label></p>"
      "<p><label>Token <input id=\"token\" name=\"token\" type=\"password\" "
      "autocomplete=\"current-password\" "
      "required></label></p>"
      "<p><button id=\"login\" type=\"submit\">Log in</button></p></form>";
  return html::page("knooppunt auditors: log in", body);
}

std::string dashboard_page(const DashboardView& v) {
  std::string b = nav(v.auditor, v.csrf) + "<h1>Transfer log</h1>\n";
  for (const auto& e : v.errors) b += "<p class=\"error filter-error\">" + escape(e) + "</p>\n";
  b += "<form id=\"filters\" method=\"get\" action=\"/auditor/\"><fieldset><legend>Filter</legend>";
  b += select("municipality", "Municipality", v.municipalities, v.form.municipality);
  b += text_input("event", "Event", v.form.event);
  b += select("outcome", "Outcome", {"success", "refused", "failed"}, v.form.outcome);
  b += text_input("since", "From", v.form.since, "date");
  b += text_input("until", "Until", v.form.until, "date");
  b += "<button id=\"apply\" type=\"submit\">Apply</button></fieldset></form>\n";
  b += "<h2>Transfers per day</h2>\n" + v.chart_svg + "\n";
  b += "<h2>Records</h2>\n<p id=\"count\">" + std::to_string(v.total) + " records, page " +
       std::to_string(v.page) + " of " + std::to_string(v.pages) + "</p>\n";
  b += "<table id=\"transfers\"><thead><tr><th>index</th><th>time "
       "(UTC)</th><th>event</th><th>outcome</th>"
       "<th>actor</th><th>role</th><th>municipality</th><th>object</th><th>size</th><th>sha256</th>"
       "<th>source</th><th>channel</th><th>reason</th></tr></thead><tbody>\n";
  for (const auto& e : v.records) {
    b += "<tr class=\"record\"><td>" + std::to_string(e.id - 1) + "</td><td>" +
         escape(log::format_iso8601(e.ts_ms)) + "</td><td>" + escape(e.event) + "</td><td>" +
         escape(e.outcome) + "</td><td>" + opt(e.actor) + "</td><td>" + opt(e.role) + "</td><td>" +
         opt(e.municipality) + "</td><td class=\"object\">" + opt(e.object) + "</td><td>" +
         (e.size ? std::to_string(*e.size) : "") + "</td><td class=\"hash\">" + opt(e.sha256) +
         "</td><td>" + opt(e.source) + "</td><td>" + opt(e.channel) + "</td><td>" + opt(e.reason) +
         "</td></tr>\n";
  }
  b += "</tbody></table>\n<p>";
  if (v.page > 1)
    b += "<a id=\"prev\" href=\"/auditor/?" + escape(filter_query(v.form, v.page - 1)) +
         "\">&larr; newer</a> ";
  if (v.page < v.pages)
    b += "<a id=\"next\" href=\"/auditor/?" + escape(filter_query(v.form, v.page + 1)) +
         "\">older &rarr;</a>";
  b += "</p>\n<h2>Current signed checkpoint</h2>\n";
  b += v.checkpoint ? "<pre id=\"checkpoint\">" + escape(*v.checkpoint) + "</pre>\n"
                    : std::string("<p id=\"checkpoint\">No checkpoint has been signed yet.</p>\n");
  b += "<h2>Verify the log</h2>\n<p>Recomputes every record's leaf and every checkpoint, as "
       "<code>knooppunt audit verify</code> does.</p>"
       "<form method=\"post\" action=\"/auditor/verify\"><input type=\"hidden\" name=\"csrf\" "
       "value=\"" +
       escape(v.csrf) + "\"><button id=\"verify\" type=\"submit\">Verify</button></form>\n";
  return html::page("knooppunt auditors: transfer log", b);
}

std::string verify_page(const std::string& auditor, const std::string& csrf, bool ok,
                        const std::string& detail) {
  std::string b =
      nav(auditor, csrf) +
      "<h1>Verify the transfer log</h1>\n<p>Outcome: <span id=\"verify-outcome\" class=\"" +
      std::string(ok ? "ok" : "failed") + "\">" + (ok ? "ok" : "failed") + "</span></p>\n" +
      "<p id=\"verify-detail\">" + escape(detail) + "</p>\n<p><a href=\"/auditor/\">back</a></p>";
  return html::page("knooppunt auditors: verify", b);
}

}  // namespace kp::gateway

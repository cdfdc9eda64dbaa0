// Auditor page HTML; see auditor_pages.h.
#include "gateway/auditor_pages.h"

#include <map>

#include "common/dates.h"
#include "gateway/html.h"

namespace kp::gateway {

namespace {

using html::escape;

std::string t(Lang l, Txt key) {
  return escape(text(l, key));
}

std::string with_query(const std::string& path, const std::string& query) {
  return query.empty() ? path : path + "?" + query;
}

std::string hidden(const char* name, const std::string& value) {
  return std::string("<input type=\"hidden\" name=\"") + name + "\" value=\"" + escape(value) +
         "\">";
}

std::string lang_field(Lang l) {
  return l == Lang::en ? hidden("lang", "en") : std::string();
}

// The top bar: brand, who is logged in, the language switch, Log out.
// `switch_href` is the same page in the other language.
std::string top_bar(Lang l, const std::string& switch_href, const std::string& auditor = {},
                    const std::string& csrf = {}) {
  const Lang other = l == Lang::en ? Lang::nl : Lang::en;
  std::string out = "<header class=\"top\"><a class=\"brand\" href=\"" +
                    escape(with_query("/auditor/", lang_query(l))) + "\">" + t(l, Txt::brand) +
                    " <span>&middot; " + t(l, Txt::auditors) + "</span></a>";
  if (!auditor.empty())
    out += "<span class=\"who\">" + t(l, Txt::logged_in_as) + " <strong id=\"who\">" +
           escape(auditor) + "</strong></span>";
  out += "<a id=\"lang-switch\" href=\"" + escape(switch_href) + "\" hreflang=\"" +
         lang_code(other) + "\" lang=\"" + lang_code(other) + "\">" + t(l, Txt::switch_to) + "</a>";
  if (!auditor.empty())
    out += "<form class=\"inline\" method=\"post\" action=\"/auditor/logout\">" +
           hidden("csrf", csrf) + lang_field(l) +
           "<button id=\"logout\" class=\"quiet\" type=\"submit\">" + t(l, Txt::log_out) +
           "</button></form>";
  return out + "</header>\n";
}

std::string title(Lang l, Txt key) {
  return std::string(text(l, Txt::brand)) + " \xE2\x80\x94 " + std::string(text(l, key));
}

std::string text_input(const char* name, const std::string& label, const std::string& value,
                       const char* type, const std::string& placeholder = {}) {
  return std::string("<label>") + label + "<input id=\"" + name + "\" name=\"" + name +
         "\" type=\"" + type + "\" value=\"" + escape(value) + "\"" +
         (placeholder.empty() ? "" : " placeholder=\"" + escape(placeholder) + "\"") + "></label>";
}

std::string option(const std::string& value, const std::string& label, bool chosen) {
  return "<option value=\"" + escape(value) + "\"" + (chosen ? " selected" : "") + ">" +
         escape(label) + "</option>";
}

std::string outcome_text(Lang l, const std::string& outcome) {
  if (outcome == "success") return std::string(text(l, Txt::success));
  if (outcome == "refused") return std::string(text(l, Txt::refused));
  if (outcome == "failed") return std::string(text(l, Txt::failed));
  return outcome;
}

std::string role_text(Lang l, const std::string& role) {
  if (role == "person") return std::string(text(l, Txt::role_person));
  if (role == "staff") return std::string(text(l, Txt::role_staff));
  if (role == "auditor") return std::string(text(l, Txt::role_auditor));
  if (role == "system") return std::string(text(l, Txt::role_system));
  return role;
}

// 1234567 as "1.234.567" (Dutch) or "1,234,567" (English).
std::string grouped(Lang l, int64_t v) {
  std::string digits = std::to_string(v < 0 ? -v : v), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(l == Lang::en ? ',' : '.');
    out.push_back(digits[i]);
  }
  return (v < 0 ? "-" : "") + out;
}

std::string filters_form(const DashboardView& v) {
  const Lang l = v.lang;
  std::string b =
      "<section class=\"card\"><form id=\"filters\" class=\"filters\" method=\"get\" "
      "action=\"/auditor/\"><h2>" +
      t(l, Txt::filters) + "</h2>" + lang_field(l) + "<div class=\"grid\">";
  b += "<label>" + t(l, Txt::municipality) + "<select id=\"municipality\" name=\"municipality\">" +
       option("", std::string(text(l, Txt::all)), v.form.municipality.empty());
  for (const auto& m : v.municipalities)
    b += option(m.code, (m.name.empty() ? m.code : m.name + " (" + m.code + ")"),
                m.code == v.form.municipality);
  b += "</select></label>";
  b += text_input("event", t(l, Txt::event), v.form.event, "text",
                  std::string(text(l, Txt::event_placeholder)));
  b += "<label>" + t(l, Txt::outcome) + "<select id=\"outcome\" name=\"outcome\">" +
       option("", std::string(text(l, Txt::all)), v.form.outcome.empty());
  for (const char* o : {"success", "refused", "failed"})
    b += option(o, outcome_text(l, o), v.form.outcome == o);
  b += "</select></label>";
  b += text_input("since", t(l, Txt::from), v.form.since, "date");
  b += text_input("until", t(l, Txt::until), v.form.until, "date");
  b += "<div class=\"actions\"><button id=\"apply\" type=\"submit\">" + t(l, Txt::apply) +
       "</button><a id=\"reset\" href=\"" + escape(with_query("/auditor/", lang_query(l))) + "\">" +
       t(l, Txt::reset) + "</a></div></div></form></section>\n";
  return b;
}

std::string record_row(Lang l, const store::AuditEvent& e,
                       const std::map<std::string, std::string>& names) {
  auto cell = [](const char* cls, const std::string& label, const std::string& inner) {
    return std::string("<td class=\"") + cls + "\" data-label=\"" + label + "\"><div>" + inner +
           "</div></td>";
  };
  auto sub = [](const std::string& s) {
    return s.empty() ? std::string() : "<span class=\"sub\">" + s + "</span>";
  };
  std::string outcome_class =
      e.outcome == "success" || e.outcome == "refused" || e.outcome == "failed"
          ? e.outcome
          : std::string("other");
  std::string r = "<tr class=\"record\">";
  r += cell("index", t(l, Txt::col_index), std::to_string(e.id - 1));
  r += cell("time", t(l, Txt::col_time),
            escape(format_utc(e.ts_ms, "%Y-%m-%d")) + sub(escape(format_utc(e.ts_ms, "%H:%M:%S"))));
  r += cell("event", t(l, Txt::col_event), escape(e.event));
  r += cell("outcome", t(l, Txt::col_outcome),
            "<span class=\"badge " + outcome_class + "\">" + escape(outcome_text(l, e.outcome)) +
                "</span>" +
                (e.reason ? "<span class=\"reason\">" + escape(*e.reason) + "</span>" : ""));
  r += cell("actor", t(l, Txt::col_actor),
            (e.actor ? escape(*e.actor) : "") + sub(e.role ? escape(role_text(l, *e.role)) : ""));
  std::string muni;
  if (e.municipality) {
    auto it = names.find(*e.municipality);
    muni = escape(*e.municipality) + sub(it != names.end() ? escape(it->second) : "");
  }
  r += cell("municipality", t(l, Txt::col_municipality), muni);
  r += cell("object", t(l, Txt::col_object), e.object ? escape(*e.object) : "");
  std::string content;
  if (e.size) content += escape(grouped(l, *e.size)) + " " + t(l, Txt::bytes);
  if (e.sha256 && !e.sha256->empty()) {
    const std::string& h = *e.sha256;
    content += "<details><summary title=\"" + t(l, Txt::show_hash) + "\"><abbr>" +
               escape(h.substr(0, 12)) + (h.size() > 12 ? "&hellip;" : "") +
               "</abbr></summary><code>" + escape(h) + "</code></details>";
  }
  r += cell("hash", t(l, Txt::col_content), content);
  r += cell("source", t(l, Txt::col_source),
            (e.source ? escape(*e.source) : "") + sub(e.channel ? escape(*e.channel) : ""));
  return r + "</tr>\n";
}

std::string records_table(const DashboardView& v) {
  const Lang l = v.lang;
  std::map<std::string, std::string> names;
  for (const auto& m : v.municipalities) names[m.code] = m.name;
  std::string b =
      "<section class=\"card\"><div class=\"table-head\"><h2>" + t(l, Txt::records_heading) +
      "</h2><p id=\"count\" data-total=\"" + std::to_string(v.total) + "\">" +
      escape(format_text(l, Txt::count_line,
                         {grouped(l, v.total), std::to_string(v.page), std::to_string(v.pages)})) +
      "</p></div>\n";
  b += "<table id=\"transfers\" class=\"records\"><colgroup><col class=\"c-index\"><col "
       "class=\"c-time\"><col class=\"c-event\"><col class=\"c-outcome\"><col "
       "class=\"c-actor\"><col "
       "class=\"c-muni\"><col class=\"c-object\"><col class=\"c-content\"><col "
       "class=\"c-source\"></colgroup><thead><tr>";
  for (Txt c : {Txt::col_index, Txt::col_time, Txt::col_event, Txt::col_outcome, Txt::col_actor,
                Txt::col_municipality, Txt::col_object, Txt::col_content, Txt::col_source})
    b += "<th scope=\"col\">" + t(l, c) + "</th>";
  b += "</tr></thead><tbody>\n";
  for (const auto& e : v.records) b += record_row(l, e, names);
  b += "</tbody></table>\n";
  if (v.records.empty())
    b += "<p id=\"no-records\" class=\"lead\">" + t(l, Txt::no_records) + "</p>\n";
  b += "<nav class=\"pages\"><span>";
  if (v.page > 1)
    b += "<a id=\"prev\" href=\"" +
         escape(with_query("/auditor/", filter_query(v.form, v.page - 1, l))) + "\">&larr; " +
         t(l, Txt::newer) + "</a>";
  b += "</span><span>";
  if (v.page < v.pages)
    b += "<a id=\"next\" href=\"" +
         escape(with_query("/auditor/", filter_query(v.form, v.page + 1, l))) + "\">" +
         t(l, Txt::older) + " &rarr;</a>";
  return b + "</span></nav></section>\n";
}

std::string verify_section(const DashboardView& v) {
  const Lang l = v.lang;
  std::string b =
      "<section class=\"card\" id=\"verify-section\"><h2>" + t(l, Txt::verify_heading) + "</h2>\n";
  if (v.verified) {
    const VerifyNote& n = *v.verified;
    const std::string detail = n.ok
                                   ? format_text(l, Txt::verify_ok_detail,
                                                 {grouped(l, n.records), grouped(l, n.checkpoints)})
                                   : format_text(l, Txt::verify_failed_detail, {n.error});
    b += "<div id=\"verify-result\" class=\"verify-result " +
         std::string(n.ok ? "ok-box" : "failed-box") + "\"><p>" + t(l, Txt::outcome) +
         ": <span id=\"verify-outcome\" class=\"" + (n.ok ? "ok" : "failed") + "\">" +
         t(l, n.ok ? Txt::verify_ok_title : Txt::verify_failed_title) +
         "</span> <span class=\"sub\" id=\"verify-time\">" +
         escape(format_text(l, Txt::verified_at, {format_utc(n.at_ms, "%Y-%m-%d %H:%M:%S")})) +
         "</span></p><p id=\"verify-detail\">" + escape(detail) + "</p></div>\n";
  }
  b += "<p class=\"lead\">" + t(l, Txt::verify_intro) + "</p>";
  b += "<form method=\"post\" action=\"/auditor/verify\">" + hidden("csrf", v.csrf) + lang_field(l);
  const std::pair<const char*, const std::string*> kept[] = {{"municipality", &v.form.municipality},
                                                             {"event", &v.form.event},
                                                             {"outcome", &v.form.outcome},
                                                             {"since", &v.form.since},
                                                             {"until", &v.form.until}};
  for (const auto& [name, value] : kept)
    if (!value->empty()) b += hidden(name, *value);
  b += "<button id=\"verify\" type=\"submit\">" + t(l, Txt::verify_button) +
       "</button></form></section>\n";
  return b;
}

}  // namespace

std::string filter_query(const FilterForm& f, int64_t page, Lang lang) {
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
  if (lang == Lang::en) add("lang", "en");
  return q;
}

std::string login_page(Lang l, const std::string& message) {
  const Lang other = l == Lang::en ? Lang::nl : Lang::en;
  std::string body = top_bar(l, with_query("/auditor/login", lang_query(other)));
  body += "<main><section class=\"card login\"><h1>" + t(l, Txt::login_heading) +
          "</h1>\n<p class=\"lead\">" + t(l, Txt::login_intro) + "</p>\n";
  if (!message.empty()) body += "<p id=\"message\" class=\"error\">" + escape(message) + "</p>\n";
  body += "<form method=\"post\" action=\"/auditor/login\">" + lang_field(l) + "<p><label>" +
          t(l, Txt::auditor_id) +
          "<input id=\"auditor\" name=\"auditor\" autocomplete=\"username\" required></label></p>"
          "<p><label>" +
          t(l, Txt::token) +
          "<input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" "
          "required></label></p><p><button id=\"login\" type=\"submit\">" +
          t(l, Txt::log_in) + "</button></p></form></section></main>";
  return html::page(title(l, Txt::title_login), body, lang_code(l));
}

std::string dashboard_page(const DashboardView& v) {
  const Lang l = v.lang;
  const Lang other = l == Lang::en ? Lang::nl : Lang::en;
  std::string switch_query = filter_query(v.form, v.page, other);
  if (v.verified)
    switch_query += (switch_query.empty() ? "" : "&") + std::string("verify=") +
                    std::to_string(v.verified->seq);
  std::string b = top_bar(l, with_query("/auditor/", switch_query), v.auditor, v.csrf);
  b += "<main><h1>" + t(l, Txt::title_log) + "</h1>\n";
  for (const auto& e : v.errors) b += "<p class=\"error filter-error\">" + escape(e) + "</p>\n";
  b += filters_form(v);
  b += "<section class=\"card\" id=\"chart-section\"><div class=\"chart-head\"><h2>" +
       t(l, Txt::chart_heading) + "</h2></div>\n" + v.chart_html + "\n</section>\n";
  b += records_table(v);
  b += "<section class=\"card\"><h2>" + t(l, Txt::checkpoint_heading) + "</h2>\n";
  b += v.checkpoint ? "<pre id=\"checkpoint\">" + escape(*v.checkpoint) + "</pre>\n"
                    : "<p id=\"checkpoint\" class=\"lead\">" + t(l, Txt::no_checkpoint) + "</p>\n";
  b += "</section>\n" + verify_section(v) + "</main>";
  return html::page(title(l, Txt::title_log), b, lang_code(l));
}

std::string notice_page(Lang l, const std::string& message) {
  const Lang other = l == Lang::en ? Lang::nl : Lang::en;
  std::string b = top_bar(l, with_query("/auditor/", lang_query(other)));
  b += "<main><h1>" + t(l, Txt::title_error) + "</h1><p id=\"message\" class=\"error\">" +
       escape(message) + "</p><p><a href=\"" + escape(with_query("/auditor/", lang_query(l))) +
       "\">" + t(l, Txt::back) + "</a></p></main>";
  return html::page(title(l, Txt::title_error), b, lang_code(l));
}

}  // namespace kp::gateway

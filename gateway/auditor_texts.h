// Every text the auditors' web page shows, in Dutch and English, from one
// table (auditor_texts.cpp). Dutch is the default; `?lang=en` (a GET
// query parameter, or the `lang` field of a POST form) switches to
// English, and every link, form and redirect of the page keeps it. The
// browser's Accept-Language is not consulted: the same URL shows the same
// page to every auditor, and a link shared between auditors keeps its
// language.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace kp::gateway {

enum class Lang { nl, en };

// "en" is English; anything else (absent, empty, "nl", garbage) is Dutch.
Lang parse_lang(std::string_view value);
// "nl" or "en", for <html lang> and for the `lang` parameter.
const char* lang_code(Lang l);
// "" for Dutch (the default, left out of URLs) or "lang=en".
std::string lang_query(Lang l);

// Grouped by page part, several to a line:
// clang-format off
enum class Txt {
  // page frame
  brand, auditors, logged_in_as, log_out, switch_to, switch_to_code, title_login, title_log,
  title_error, back,
  // login
  login_heading, login_intro, auditor_id, token, log_in, login_refused, login_banned,
  // filters
  filters, municipality, event, outcome, from, until, apply, reset, all, event_placeholder,
  err_municipality, err_event, err_outcome, err_from, err_until,
  // outcomes and roles as stored
  success, refused, failed, role_person, role_staff, role_auditor, role_system,
  // chart
  chart_heading, chart_empty, chart_aria, chart_caption, chart_truncated, kind_both,
  kind_uploads, kind_downloads, adj_success, adj_refused, adj_failed, transfers_total,
  municipalities_count, days_count,
  // records table
  records_heading, count_line, col_index, col_time, col_event, col_outcome, col_actor,
  col_municipality, col_object, col_content, col_source, newer, older, no_records, bytes,
  show_hash,
  // checkpoint and verify
  checkpoint_heading, no_checkpoint, verify_heading, verify_intro, verify_button,
  verify_ok_title, verify_ok_detail, verify_failed_title, verify_failed_detail, verified_at,
  // refusals
  not_found, method_not_allowed, bad_form, store_unavailable, not_logged_in, csrf_refused,
  verify_could_not_run, bad_request,
  // months, abbreviated (day labels on the chart)
  jan, feb, mar, apr, may, jun, jul, aug, sep, oct, nov, dec,
  count_  // the number of texts; keep last
};
// clang-format on

// The text of `t` in `l`, unescaped (callers escape it like any value).
std::string_view text(Lang l, Txt t);

// text(l, t) with "{1}", "{2}", ... replaced by `args` in order.
std::string format_text(Lang l, Txt t, std::initializer_list<std::string_view> args);

}  // namespace kp::gateway

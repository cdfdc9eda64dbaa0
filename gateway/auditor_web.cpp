// The auditors' web page: routes and handlers; see auditor_web.h. The HTML
// is in auditor_pages.cpp, the SQL in store/.
#include "gateway/auditor_web.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTMLForm.h>
#include <Poco/Net/NameValueCollection.h>
#include <Poco/URI.h>

#include <algorithm>
#include <sstream>

#include "audit/log.h"
#include "common/dates.h"
#include "common/log.h"
#include "gateway/auditor_pages.h"
#include "gateway/auditor_texts.h"
#include "gateway/html.h"
#include "gateway/http_guard.h"
#include "gateway/transfer_chart.h"
#include "gateway/web_reply.h"
#include "gateway/web_token.h"
#include "policy/identifiers.h"
#include "store/audit_queries.h"
#include "store/auditor_tokens.h"
#include "store/db.h"
#include "store/registry.h"
#include "store/transfer_log.h"

namespace kp::gateway {

namespace {

using Poco::Net::HTTPResponse;

constexpr std::size_t kMaxBody = 8192;
constexpr int64_t kPageSize = 50;
constexpr const char* kCookie = "kp_session";

Reply refused(HTTPResponse::HTTPStatus status, Lang lang, Txt why) {
  return Reply{status, notice_page(lang, std::string(text(lang, why))), {}, {}};
}

std::string with_lang(const std::string& path, Lang lang) {
  const std::string q = lang_query(lang);
  return q.empty() ? path : path + "?" + q;
}

// The language a request asks for: `lang` in the URL's query (a GET) or
// in the form (a POST); Dutch when absent (auditor_texts.h).
Lang request_lang(Poco::Net::HTTPServerRequest& req) {
  for (const auto& [k, v] : Poco::URI(req.getURI()).getQueryParameters())
    if (k == "lang") return parse_lang(v);
  return Lang::nl;
}

std::string session_cookie(const std::string& id, int64_t max_age_s) {
  // Path=/: the session also reads the log's tiles under /log/.
  return std::string(kCookie) + "=" + id + "; Path=/; Max-Age=" + std::to_string(max_age_s) +
         "; HttpOnly; SameSite=Strict";
}

// Reads a url-encoded POST body of at most kMaxBody bytes into `form`.
bool read_post_form(Poco::Net::HTTPServerRequest& req, Poco::Net::HTMLForm& form) {
  if (req.getContentType().rfind("application/x-www-form-urlencoded", 0) != 0) return false;
  std::string body(kMaxBody + 1, '\0');
  req.stream().read(body.data(), static_cast<std::streamsize>(body.size()));
  body.resize(static_cast<std::size_t>(req.stream().gcount()));
  HttpGuard::body_read();
  if (body.size() > kMaxBody) return false;
  form.setFieldLimit(16);
  std::istringstream in(body);
  // The body alone: HTMLForm::load would also read the URI's query, with a
  // field count of its own (2 x 16 fields), and a query field would shadow
  // the body's field of the same name (found by tests/fuzz/http_form_fuzz).
  form.read(in);
  return true;
}

// Parses the dashboard's filters; a bad value is dropped with a note.
store::AuditFilter parse_filters(const Poco::Net::HTMLForm& q, Lang lang, FilterForm& form,
                                 std::vector<std::string>& errors, int64_t& page) {
  auto note = [&](Txt why) { errors.emplace_back(text(lang, why)); };
  store::AuditFilter f;
  form.municipality = q.get("municipality", "");
  form.event = q.get("event", "");
  form.outcome = q.get("outcome", "");
  form.since = q.get("since", "");
  form.until = q.get("until", "");
  if (!form.municipality.empty()) {
    if (policy::valid_municipality_code(form.municipality))
      f.municipality = form.municipality;
    else
      note(Txt::err_municipality);
  }
  if (!form.event.empty()) {
    bool ok = form.event.size() <= 64 &&
              form.event.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789._-") ==
                  std::string::npos;
    if (ok)
      f.event = form.event;
    else
      note(Txt::err_event);
  }
  if (!form.outcome.empty()) {
    if (form.outcome == "success" || form.outcome == "refused" || form.outcome == "failed")
      f.outcome = form.outcome;
    else
      note(Txt::err_outcome);
  }
  if (!form.since.empty()) {
    auto ms = parse_date_ms(form.since);
    if (ms.ok())
      f.since_ms = *ms;
    else
      note(Txt::err_from);
  }
  if (!form.until.empty()) {
    auto ms = parse_date_ms(form.until);
    if (ms.ok())
      f.until_ms = *ms + kDayMs;  // the whole last day
    else
      note(Txt::err_until);
  }
  std::string p = q.get("page", "1");
  page = 1;
  if (!p.empty() && p.size() <= 6 && p.find_first_not_of("0123456789") == std::string::npos)
    page = std::stoll(p);
  if (page < 1) page = 1;
  return f;
}

// What the chart counts, in words: "geslaagde uploads en downloads".
std::string chart_what(Lang lang, const store::AuditFilter& f) {
  Txt adj = f.outcome == "refused"  ? Txt::adj_refused
            : f.outcome == "failed" ? Txt::adj_failed
                                    : Txt::adj_success;
  Txt kind = f.event == "sftp.upload"     ? Txt::kind_uploads
             : f.event == "sftp.download" ? Txt::kind_downloads
                                          : Txt::kind_both;
  return std::string(text(lang, adj)) + " " + std::string(text(lang, kind));
}

Result<Reply> dashboard(store::Db& db, const WebSession& s, Poco::Net::HTTPServerRequest& req,
                        Lang lang) {
  Poco::Net::HTMLForm query(req);
  DashboardView v;
  v.lang = lang;
  v.auditor = s.auditor;
  v.csrf = s.csrf;
  store::AuditFilter f = parse_filters(query, lang, v.form, v.errors, v.page);
  KP_TRY(v.municipalities, store::list_municipalities(db));
  KP_TRY(v.total, store::count_audit(db, f));
  v.pages = std::max<int64_t>(1, (v.total + kPageSize - 1) / kPageSize);
  v.page = std::min(v.page, v.pages);
  KP_TRY(v.records, store::list_audit_filtered(db, f, (v.page - 1) * kPageSize, kPageSize, true));
  ChartSpec chart;
  chart.lang = lang;
  KP_TRY(chart.counts, store::transfers_per_day(db, f));
  std::optional<int64_t> until_day;
  if (f.until_ms) until_day = *f.until_ms - kDayMs;
  chart.period = chart_period(f.since_ms, until_day, chart.counts, log::now_ms());
  chart.municipalities = v.municipalities;
  chart.what = chart_what(lang, f);
  v.chart_html = transfer_chart(chart);
  KP_TRY(auto cp, store::latest_checkpoint(db));
  if (cp) v.checkpoint = cp->note;
  // The outcome of a Verify, on the page its POST redirected to.
  if (s.verified && query.get("verify", "") == std::to_string(s.verified->seq))
    v.verified = s.verified;
  return Reply{HTTPResponse::HTTP_OK, dashboard_page(v), {}, {}};
}

// Verifies the log, has the monitor record it and keeps the outcome in the
// session; answers with a redirect to the page showing it (POST, redirect,
// GET: a reload shows the outcome again and verifies nothing).
Result<Reply> verify(const LogKey& log_key, HttpMonitorClient& monitor, store::Db& db,
                     WebSessions& sessions, const WebSession& s, const std::string& source,
                     const Poco::Net::HTMLForm& form, Lang lang) {
  auto report = log_key.history.empty() ? audit::verify_log(db, log_key.key, log_key.origin, std::nullopt)
                                         : audit::verify_log(db, log_key.history, log_key.origin, std::nullopt);
  VerifyNote note;
  note.at_ms = log::now_ms();
  note.ok = report.ok();
  if (report.ok()) {
    note.records = report->records;
    note.checkpoints = report->checkpoints;
  } else {
    note.error = report.error().message();
  }
  KP_TRY(MonitorReply recorded,
         monitor.claim(MonitorOp::verify_done, s.grant, source,
                       report.ok() ? std::string() : verify_result_code(report.error().code)));
  KP_ENSURE(recorded.accepted, "audit-failed", "the monitor refused the record: " + recorded.reason);
  log::event("web.verify",
             {{"auditor", s.auditor}, {"outcome", report.ok() ? "ok" : report.error().code}});
  const int64_t seq = sessions.note_verify(s.id, note);
  // Back to the page the auditor was on: its filters, its language.
  FilterForm back{form.get("municipality", ""), form.get("event", ""), form.get("outcome", ""),
                  form.get("since", ""), form.get("until", "")};
  std::string query = filter_query(back, 1, lang);
  query += (query.empty() ? "" : "&") + std::string("verify=") + std::to_string(seq);
  return redirect("/auditor/?" + query + "#verify-section");
}

}  // namespace

std::optional<std::string> AuditorWeb::log_reader(Poco::Net::HTTPServerRequest& req, const std::string& source) {
  const int64_t now = log::now_ms();
  std::lock_guard<std::mutex> lock(store_.mu);
  const std::string auth = req.get("Authorization", "");
  if (auth.rfind("Bearer ", 0) == 0) {
    const std::string cred = auth.substr(7);
    const std::size_t colon = cred.find(':');
    const std::string id = cred.substr(0, colon);
    const std::string token = colon == std::string::npos ? std::string() : cred.substr(colon + 1);
    auto stored = store::auditor_token(store_.db, id);
    if (stored.ok() && *stored && token_matches(token, **stored)) return id;
    // The monitor records the refusal (and counts it towards the ban).
    if (policy::valid_account_id(id) && token.size() <= kMaxTokenChars) (void)monitor_.login(source, id, token);
    log::event("web.log_refused", {{"source", source}, {"reason", "token-wrong"}});
    return std::nullopt;
  }
  Poco::Net::NameValueCollection cookies;
  req.getCookies(cookies);
  auto session = sessions_.find(cookies.get(kCookie, ""), now);
  if (!session) return std::nullopt;
  auto stored = store::auditor_token(store_.db, session->auditor);
  if (!stored.ok() || !*stored || **stored != session->token_hash) return std::nullopt;
  return session->auditor;
}

bool AuditorWeb::owns(const std::string& uri) {
  std::string path = uri.substr(0, uri.find_first_of("?#"));
  return path == "/" || path == "/auditor" || path.rfind("/auditor/", 0) == 0;
}

void AuditorWeb::handle(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) {
  try {
    const std::string path = Poco::URI(req.getURI()).getPath();
    const std::string& method = req.getMethod();
    const std::string source = req.clientAddress().host().toString();
    const int64_t now = log::now_ms();
    if (path == "/" || path == "/auditor") return send(resp, redirect("/auditor/"));
    bool post = method == Poco::Net::HTTPRequest::HTTP_POST;
    bool get = method == Poco::Net::HTTPRequest::HTTP_GET;
    Lang lang = request_lang(req);
    if (path == html::kStylesheetPath && get)
      return send(resp, Reply{HTTPResponse::HTTP_OK,
                              std::string(html::stylesheet()),
                              {},
                              {},
                              "text/css; charset=utf-8",
                              "public, max-age=3600"});
    if (path == "/auditor/login" && get)
      return send(resp, Reply{HTTPResponse::HTTP_OK, login_page(lang, ""), {}, {}});
    bool known = path == "/auditor/" || path == "/auditor/login" || path == "/auditor/logout" ||
                 path == "/auditor/verify";
    if (!known) return send(resp, refused(HTTPResponse::HTTP_NOT_FOUND, lang, Txt::not_found));
    if ((path == "/auditor/" && !get) || (path != "/auditor/" && !post))
      return send(resp,
                  refused(HTTPResponse::HTTP_METHOD_NOT_ALLOWED, lang, Txt::method_not_allowed));

    // The body first, without the store: a slow sender must not hold it.
    Poco::Net::HTMLForm form;
    if (post && !read_post_form(req, form))
      return send(resp, refused(HTTPResponse::HTTP_BAD_REQUEST, lang, Txt::bad_form));
    if (post) lang = parse_lang(form.get("lang", ""));
    std::lock_guard<std::mutex> lock(store_.mu);
    store::Db* db = &store_.db;

    if (path == "/auditor/login") {
      // The monitor decides and records the login (http_monitor.h).
      auto reply = monitor_.login(source, form.get("auditor", ""), form.get("token", ""));
      if (!reply.ok() || (!reply->accepted && reply->reason == "store-failed"))
        return send(resp,
                    refused(HTTPResponse::HTTP_SERVICE_UNAVAILABLE, lang, Txt::store_unavailable));
      if (reply->reason == "source-banned")
        return send(resp, Reply{HTTPResponse::HTTP_FORBIDDEN,
                                login_page(lang, std::string(text(lang, Txt::login_banned))),
                                {},
                                {}});
      if (!reply->accepted)
        return send(resp, Reply{HTTPResponse::HTTP_FORBIDDEN,
                                login_page(lang, std::string(text(lang, Txt::login_refused))),
                                {},
                                {}});
      WebSession s = sessions_.create(form.get("auditor", ""), reply->token_hash, now, reply->grant);
      return send(resp,
                  redirect(with_lang("/auditor/", lang), session_cookie(s.id, kSessionMs / 1000)));
    }

    Poco::Net::NameValueCollection cookies;
    req.getCookies(cookies);
    auto session = sessions_.find(cookies.get(kCookie, ""), now);
    if (session) {
      // Only while the token it logged in with is still the auditor's:
      // replacing a leaked token ends the sessions opened with it.
      auto stored = store::auditor_token(*db, session->auditor);
      if (!stored.ok())
        return send(resp,
                    refused(HTTPResponse::HTTP_SERVICE_UNAVAILABLE, lang, Txt::store_unavailable));
      if (!*stored || **stored != session->token_hash) {
        const std::string reason = *stored ? "token-replaced" : "account-disabled";
        sessions_.drop(session->id);
        (void)monitor_.claim(MonitorOp::session_ended, session->grant, source, reason);
        log::event("web.session_ended",
                   {{"auditor", session->auditor}, {"source", source}, {"reason", reason}});
        session.reset();
      }
    }
    if (!session) {
      if (get) return send(resp, redirect(with_lang("/auditor/login", lang)));
      return send(resp, refused(HTTPResponse::HTTP_FORBIDDEN, lang, Txt::not_logged_in));
    }
    if (get) {
      auto r = dashboard(*db, *session, req, lang);
      if (!r.ok()) log::event("web.failed", {{"error", r.error().message()}});
      return send(resp, r.ok() ? *r
                               : refused(HTTPResponse::HTTP_SERVICE_UNAVAILABLE, lang,
                                         Txt::store_unavailable));
    }
    if (!csrf_matches(*session, form.get("csrf", ""))) {
      log::event("web.csrf_refused",
                 {{"auditor", session->auditor}, {"source", source}, {"path", path}});
      return send(resp, refused(HTTPResponse::HTTP_FORBIDDEN, lang, Txt::csrf_refused));
    }
    if (path == "/auditor/logout") {
      sessions_.drop(session->id);
      (void)monitor_.claim(MonitorOp::logout, session->grant, source);
      return send(resp, redirect(with_lang("/auditor/login", lang), session_cookie("", 0)));
    }
    auto r = verify(log_key_, monitor_, *db, sessions_, *session, source, form, lang);
    if (!r.ok()) log::event("web.failed", {{"error", r.error().message()}});
    return send(resp, r.ok() ? *r
                             : refused(HTTPResponse::HTTP_SERVICE_UNAVAILABLE, lang,
                                       Txt::verify_could_not_run));
  } catch (const Poco::Exception& e) {
    log::event("http.error", {{"error", e.displayText()}});
  } catch (const std::exception& e) {
    log::event("http.error", {{"error", e.what()}});
  }
  // A malformed request (URI, form) threw before any answer: say so.
  try {
    if (!resp.sent())
      send(resp, refused(HTTPResponse::HTTP_BAD_REQUEST, Lang::nl, Txt::bad_request));
  } catch (const Poco::Exception&) {
  }
}

}  // namespace kp::gateway

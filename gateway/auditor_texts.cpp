// The auditors' page texts; see auditor_texts.h. One row per text: its
// key, Dutch, English. The rows follow the order of Txt (checked at
// compile time), so a text missing in either language does not build.
#include "gateway/auditor_texts.h"

#include <array>
#include <cstddef>

namespace kp::gateway {

namespace {

struct Row {
  Txt key;
  std::string_view nl, en;
};

constexpr Row kTexts[] = {
    {Txt::brand, "Knooppunt Zorgfraude", "Knooppunt Zorgfraude"},
    {Txt::auditors, "auditors", "auditors"},
    {Txt::logged_in_as, "Ingelogd als", "Logged in as"},
    {Txt::log_out, "Uitloggen", "Log out"},
    {Txt::switch_to, "English", "Nederlands"},
    {Txt::switch_to_code, "en", "nl"},
    {Txt::title_login, "Inloggen", "Log in"},
    {Txt::title_log, "Overdrachtslogboek", "Transfer log"},
    {Txt::title_error, "Melding", "Notice"},
    {Txt::back, "Terug naar het logboek", "Back to the log"},

    {Txt::login_heading, "Inloggen voor auditors", "Log in for auditors"},
    {Txt::login_intro,
     "Log in met uw auditor-id en het token dat de beheerder voor u heeft ingesteld.",
     "Log in with your auditor id and the token the operator set for you."},
    {Txt::auditor_id, "Auditor-id", "Auditor id"},
    {Txt::token, "Token", "Token"},
    {Txt::log_in, "Inloggen", "Log in"},
    {Txt::login_refused, "Inloggen geweigerd: controleer het auditor-id en het token.",
     "Login refused: check the auditor id and token."},
    {Txt::login_banned, "Te veel mislukte inlogpogingen vanaf uw adres; probeer het later opnieuw.",
     "Too many failed logins from your address; try again later."},

    {Txt::filters, "Filters", "Filters"},
    {Txt::municipality, "Gemeente", "Municipality"},
    {Txt::event, "Gebeurtenis", "Event"},
    {Txt::outcome, "Uitkomst", "Outcome"},
    {Txt::from, "Van", "From"},
    {Txt::until, "Tot en met", "Until"},
    {Txt::apply, "Toepassen", "Apply"},
    {Txt::reset, "Filters wissen", "Clear filters"},
    {Txt::all, "alle", "all"},
    {Txt::event_placeholder, "bijv. sftp.upload", "e.g. sftp.upload"},
    {Txt::err_municipality, "Gemeente: geen CBS-code (GM en 4 cijfers); genegeerd.",
     "Municipality: not a CBS code (GM and 4 digits); ignored."},
    {Txt::err_event, "Gebeurtenis: alleen a-z 0-9 . _ - (hoogstens 64); genegeerd.",
     "Event: only a-z 0-9 . _ - (at most 64); ignored."},
    {Txt::err_outcome, "Uitkomst: geslaagd, geweigerd of mislukt; genegeerd.",
     "Outcome: success, refused or failed; ignored."},
    {Txt::err_from, "Van: geen datum (JJJJ-MM-DD); genegeerd.",
     "From: not a date (YYYY-MM-DD); ignored."},
    {Txt::err_until, "Tot en met: geen datum (JJJJ-MM-DD); genegeerd.",
     "Until: not a date (YYYY-MM-DD); ignored."},

    {Txt::success, "geslaagd", "success"},
    {Txt::refused, "geweigerd", "refused"},
    {Txt::failed, "mislukt", "failed"},
    {Txt::role_person, "persoon", "person"},
    {Txt::role_staff, "medewerker", "staff"},
    {Txt::role_auditor, "auditor", "auditor"},
    {Txt::role_system, "systeem", "system"},

    {Txt::chart_heading, "Overdrachten per dag", "Transfers per day"},
    {Txt::chart_empty, "Geen overdrachten in deze selectie.", "No transfers in this selection."},
    {Txt::chart_aria, "Overdrachten per dag per gemeente", "Transfers per day per municipality"},
    {Txt::chart_caption, "{1} {2} van {3} tot en met {4}", "{1} {2} from {3} to {4}"},
    {Txt::chart_truncated, "(de laatste {1} dagen van de periode)",
     "(the last {1} days of the period)"},
    {Txt::kind_both, "uploads en downloads", "uploads and downloads"},
    {Txt::kind_uploads, "uploads", "uploads"},
    {Txt::kind_downloads, "downloads", "downloads"},
    {Txt::adj_success, "geslaagde", "successful"},
    {Txt::adj_refused, "geweigerde", "refused"},
    {Txt::adj_failed, "mislukte", "failed"},
    {Txt::transfers_total, "overdrachten", "transfers"},
    {Txt::municipalities_count, "gemeenten", "municipalities"},
    {Txt::days_count, "dagen", "days"},

    {Txt::records_heading, "Logregels", "Records"},
    {Txt::count_line, "{1} regels, pagina {2} van {3}", "{1} records, page {2} of {3}"},
    {Txt::col_index, "#", "#"},
    {Txt::col_time, "Tijd (UTC)", "Time (UTC)"},
    {Txt::col_event, "Gebeurtenis", "Event"},
    {Txt::col_outcome, "Uitkomst", "Outcome"},
    {Txt::col_actor, "Wie", "Actor"},
    {Txt::col_municipality, "Gemeente", "Municipality"},
    {Txt::col_object, "Object", "Object"},
    {Txt::col_content, "Inhoud", "Content"},
    {Txt::col_source, "Bron", "Source"},
    {Txt::newer, "nieuwer", "newer"},
    {Txt::older, "ouder", "older"},
    {Txt::no_records, "Geen logregels in deze selectie.", "No records in this selection."},
    {Txt::bytes, "bytes", "bytes"},
    {Txt::show_hash, "volledige SHA-256 tonen", "show the full SHA-256"},

    {Txt::checkpoint_heading, "Huidig ondertekend checkpoint", "Current signed checkpoint"},
    {Txt::no_checkpoint, "Er is nog geen checkpoint ondertekend.",
     "No checkpoint has been signed yet."},
    {Txt::verify_heading, "Het logboek controleren", "Verify the log"},
    {Txt::verify_intro,
     "Berekent de hash van elke logregel en controleert elk checkpoint opnieuw, zoals "
     "knooppunt audit verify doet.",
     "Recomputes every record's leaf and checks every checkpoint again, as knooppunt audit "
     "verify does."},
    {Txt::verify_button, "Controleren", "Verify"},
    {Txt::verify_ok_title, "in orde", "ok"},
    {Txt::verify_ok_detail, "Het logboek klopt: {1} regels, {2} ondertekende checkpoints.",
     "Transfer log verified: {1} records, {2} signed checkpoints."},
    {Txt::verify_failed_title, "mislukt", "failed"},
    {Txt::verify_failed_detail, "Het logboek klopt niet: {1}", "The log does not verify: {1}"},
    {Txt::verified_at, "Gecontroleerd om {1} UTC", "Verified at {1} UTC"},

    {Txt::not_found, "Niet gevonden.", "Not found."},
    {Txt::method_not_allowed, "Methode niet toegestaan.", "Method not allowed."},
    {Txt::bad_form, "Ongeldig formulier (url-encoded, hoogstens 8 KiB).",
     "Bad form (url-encoded, at most 8 KiB)."},
    {Txt::store_unavailable, "De opslag is niet beschikbaar.", "The store is unavailable."},
    {Txt::not_logged_in, "Niet ingelogd (of de sessie is verlopen).",
     "Not logged in (or the session expired)."},
    {Txt::csrf_refused, "Geweigerd: het CSRF-token van het formulier ontbreekt of klopt niet.",
     "Refused: the form's CSRF token is missing or wrong."},
    {Txt::verify_could_not_run, "De controle kon niet worden uitgevoerd.", "Verify could not run."},
    {Txt::bad_request, "Ongeldig verzoek.", "Bad request."},

    {Txt::jan, "jan", "Jan"},
    {Txt::feb, "feb", "Feb"},
    {Txt::mar, "mrt", "Mar"},
    {Txt::apr, "apr", "Apr"},
    {Txt::may, "mei", "May"},
    {Txt::jun, "jun", "Jun"},
    {Txt::jul, "jul", "Jul"},
    {Txt::aug, "aug", "Aug"},
    {Txt::sep, "sep", "Sep"},
    {Txt::oct, "okt", "Oct"},
    {Txt::nov, "nov", "Nov"},
    {Txt::dec, "dec", "Dec"},
};

constexpr bool rows_in_order() {
  if (std::size(kTexts) != static_cast<std::size_t>(Txt::count_)) return false;
  for (std::size_t i = 0; i < std::size(kTexts); ++i)
    if (static_cast<std::size_t>(kTexts[i].key) != i || kTexts[i].nl.empty() ||
        kTexts[i].en.empty())
      return false;
  return true;
}
static_assert(rows_in_order(), "kTexts: one row per Txt, in its order, both languages set");

}  // namespace

Lang parse_lang(std::string_view value) {
  return value == "en" ? Lang::en : Lang::nl;
}

const char* lang_code(Lang l) {
  return l == Lang::en ? "en" : "nl";
}

std::string lang_query(Lang l) {
  return l == Lang::en ? "lang=en" : "";
}

std::string_view text(Lang l, Txt t) {
  const Row& r = kTexts[static_cast<std::size_t>(t)];
  return l == Lang::en ? r.en : r.nl;
}

std::string format_text(Lang l, Txt t, std::initializer_list<std::string_view> args) {
  std::string_view s = text(l, t);
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '{' && i + 2 < s.size() && s[i + 1] >= '1' && s[i + 1] <= '9' && s[i + 2] == '}') {
      std::size_t n = static_cast<std::size_t>(s[i + 1] - '1');
      if (n < args.size()) out += *(args.begin() + n);
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace kp::gateway

// The signal manifest parser; see manifest.h.
//
// Parsing runs in two phases. Phase one turns bytes into a Poco JSON tree
// with a handler that notices repeated keys (Poco itself keeps the last one
// silently) and a lexical scan that notices integers beyond 64 bits (Poco
// wraps 18446744073709551616 to 0 without a word). Phase two walks the tree
// with small typed field readers that know the path of the field they read,
// so every refusal can name it. Both phases catch Poco's exceptions here.
#include "policy/manifest.h"

#include <Poco/Dynamic/Var.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/ParseHandler.h>
#include <Poco/JSON/Parser.h>

#include <exception>
#include <span>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <typeinfo>
#include <utility>

#include "policy/identifiers.h"
#include "policy/package_rules.h"

namespace kp::policy {

namespace {

using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;

// The manifest is three levels deep; a little room, no more (each level
// costs the parser stack and memory).
constexpr std::size_t kMaxDepth = 8;

// ---------------------------------------------------------------- phase one

// Poco's default handler plus a record of the first key repeated inside one
// object. It must not throw, so it only records.
class StrictHandler : public Poco::JSON::ParseHandler {
 public:
  StrictHandler() : ParseHandler(false) {}
  void reset() override {
    ParseHandler::reset();
    keys_.clear();
    duplicate_.reset();
  }
  void startObject() override {
    ParseHandler::startObject();
    keys_.emplace_back();
  }
  void endObject() override {
    ParseHandler::endObject();
    if (!keys_.empty()) keys_.pop_back();
  }
  void key(const std::string& k) override {
    if (!keys_.empty() && !keys_.back().insert(k).second && !duplicate_) duplicate_ = k;
    ParseHandler::key(k);
  }
  const std::optional<std::string>& duplicate() const { return duplicate_; }

 private:
  std::vector<std::set<std::string>> keys_;
  std::optional<std::string> duplicate_;
};

// A key may appear in a detail only if it looks like a field name; anything
// else could be a value put where a key belongs.
std::string safe_key(std::string_view k) {
  if (k.empty() || k.size() > 64) return "a field";
  for (char c : k)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return "a field";
  return std::string(k);
}

// Poco's messages sometimes quote the input ("Not a valid unsigned integer:
// 99999..."). Keep them short, printable, and without long digit runs (a BSN
// is 9 digits).
std::string safe_parser_message(const std::string& msg) {
  std::string out;
  std::size_t digits = 0;
  for (char c : msg) {
    if (out.size() >= 160) break;
    if (c >= '0' && c <= '9') {
      ++digits;
      continue;
    }
    if (digits > 0) out += digits >= 4 ? "<number>" : std::string(digits, '#');
    digits = 0;
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (digits > 0) out += digits >= 4 ? "<number>" : std::string(digits, '#');
  return out;
}

// Scans JSON text for integer literals outside the signed 64-bit range and
// returns the key they belong to (the last member name before them), or
// nothing. Linear and bounded on any input, valid JSON or not.
std::optional<std::string> find_out_of_range_integer(std::string_view t) {
  std::string last_string;
  std::string current_key;
  std::size_t i = 0;
  while (i < t.size()) {
    const char c = t[i];
    if (c == '"') {
      std::size_t j = i + 1;
      while (j < t.size() && t[j] != '"') j += (t[j] == '\\') ? 2 : 1;
      last_string.assign(t.substr(i + 1, std::min(j, t.size()) - i - 1));
      i = j + 1;
      std::size_t k = i;
      while (k < t.size() && (t[k] == ' ' || t[k] == '\t' || t[k] == '\n' || t[k] == '\r')) ++k;
      if (k < t.size() && t[k] == ':') current_key = last_string;
      continue;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      std::size_t j = i;
      bool fraction = false;
      while (j < t.size() && (t[j] == '-' || t[j] == '+' || t[j] == '.' || t[j] == 'e' ||
                              t[j] == 'E' || (t[j] >= '0' && t[j] <= '9'))) {
        if (t[j] == '.' || t[j] == 'e' || t[j] == 'E') fraction = true;
        ++j;
      }
      std::string_view digits = t.substr(i, j - i);
      if (!digits.empty() && digits[0] == '-') digits.remove_prefix(1);
      constexpr std::string_view kMax = "9223372036854775807";
      if (!fraction &&
          (digits.size() > kMax.size() || (digits.size() == kMax.size() && digits > kMax)))
        return current_key;
      i = j;
      continue;
    }
    ++i;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------- phase two

Error missing(const std::string& path) {
  return make_error("manifest-field-missing", path + " is missing");
}
Error invalid(const std::string& path, std::string_view what) {
  return make_error("manifest-field-invalid", path + " " + std::string(what));
}

// The member `key` of `o`: nothing when absent or null and not required.
Result<std::optional<Var>> member(const Object& o, const std::string& key, const std::string& path,
                                  bool required) {
  if (!o.has(key)) {
    if (required) return missing(path);
    return std::optional<Var>();
  }
  Var v = o.get(key);
  if (v.isEmpty()) {
    if (required) return invalid(path, "must not be null");
    return std::optional<Var>();
  }
  return std::optional<Var>(std::move(v));
}

Result<std::string> as_string(const Var& v, const std::string& path) {
  if (!v.isString() || v.type() != typeid(std::string))
    return invalid(path, "must be a text (in quotes)");
  return v.extract<std::string>();
}

Result<int64_t> as_integer(const Var& v, const std::string& path, int64_t min, int64_t max) {
  if (v.isBoolean()) return invalid(path, "must be a whole number, not true or false");
  if (v.isString()) return invalid(path, "must be a number without quotes");
  if (!v.isInteger()) {
    if (v.isNumeric()) return invalid(path, "must be a whole number (no decimals or exponent)");
    return invalid(path, "must be a whole number");
  }
  int64_t n = 0;
  if (v.type() == typeid(Poco::UInt64)) {
    const Poco::UInt64 u = v.extract<Poco::UInt64>();
    if (u > static_cast<Poco::UInt64>(std::numeric_limits<int64_t>::max()))
      return invalid(path, "is out of range");
    n = static_cast<int64_t>(u);
  } else {
    n = v.convert<Poco::Int64>();
  }
  if (n < min) return invalid(path, min == 0 ? "must not be negative" : "is too small");
  if (n > max) return invalid(path, "is larger than " + std::to_string(max));
  return n;
}

Result<Object::Ptr> as_object(const Var& v, const std::string& path) {
  if (v.type() != typeid(Object::Ptr)) return invalid(path, "must be an object ({...})");
  Object::Ptr p = v.extract<Object::Ptr>();
  if (p.isNull()) return invalid(path, "must be an object ({...})");
  return p;
}

Result<Array::Ptr> as_array(const Var& v, const std::string& path) {
  if (v.type() != typeid(Array::Ptr)) return invalid(path, "must be a list ([...])");
  Array::Ptr p = v.extract<Array::Ptr>();
  if (p.isNull()) return invalid(path, "must be a list ([...])");
  return p;
}

Result<std::string> string_member(const Object& o, const std::string& key,
                                  const std::string& path) {
  KP_TRY(std::optional<Var> v, member(o, key, path, true));
  return as_string(*v, path);
}

Result<int64_t> integer_member(const Object& o, const std::string& key, const std::string& path,
                               int64_t max) {
  KP_TRY(std::optional<Var> v, member(o, key, path, true));
  return as_integer(*v, path, 0, max);
}

Result<Object::Ptr> object_member(const Object& o, const std::string& key,
                                  const std::string& path) {
  KP_TRY(std::optional<Var> v, member(o, key, path, true));
  return as_object(*v, path);
}

// Refuses the first member of `o` (in key order) not in `known`.
Status only_known(const Object& o, const std::string& prefix,
                  std::span<const std::string_view> known, std::string_view format = kSignalFormat) {
  for (auto it = o.begin(); it != o.end(); ++it) {
    bool found = false;
    for (std::string_view k : known) found = found || it->first == k;
    if (!found)
      return make_error(
          "manifest-field-unknown",
          prefix + safe_key(it->first) + " is not a field of " + std::string(format));
  }
  return ok_status();
}

enum class TextKind { one_line, multi_line };

// A human text: strict UTF-8, 1..max_chars code points, something other
// than white space, no control characters (a multi-line text may have tab,
// CR, LF), and on one line no bidi controls (they disguise what is shown).
Status check_text(const std::string& s, const std::string& path, uint32_t max_chars,
                  TextKind kind) {
  std::u32string cps;
  KP_ENSURE(decode_utf8(s, cps), "manifest-field-invalid", path + " is not valid UTF-8");
  KP_ENSURE(cps.size() <= max_chars, "manifest-field-invalid",
            path + " is longer than " + std::to_string(max_chars) + " characters");
  bool visible = false;
  for (char32_t c : cps) {
    const bool layout = c == U'\n' || c == U'\r' || c == U'\t';
    KP_ENSURE(!is_control(c) || (kind == TextKind::multi_line && layout), "manifest-field-invalid",
              path + " contains a control character");
    KP_ENSURE(kind == TextKind::multi_line || !is_bidi_control(c), "manifest-field-invalid",
              path + " contains a bidirectional text control character");
    // Unicode's LINE and PARAGRAPH SEPARATOR break a line as \n does in
    // many viewers (and in JavaScript strings): not in one-line fields.
    KP_ENSURE(kind == TextKind::multi_line || (c != 0x2028 && c != 0x2029), "manifest-field-invalid",
              path + " contains a line or paragraph separator");
    if (c != U' ' && !layout && c != 0xA0) visible = true;
  }
  KP_ENSURE(visible, "manifest-field-invalid", path + " is empty");
  return ok_status();
}

Status read_provider(const Object& root, Manifest& m, const ManifestLimits& lim) {
  KP_TRY(Object::Ptr p, object_member(root, "provider", "provider"));
  KP_GUARD(only_known(*p, "provider.", kProviderFields));

  KP_TRY(std::optional<Var> kvk, member(*p, "kvk", "provider.kvk", true));
  KP_ENSURE(kvk->isString(), "manifest-field-invalid",
            "provider.kvk must be a text of 8 digits (in quotes)");
  KP_TRY(m.provider.kvk, as_string(*kvk, "provider.kvk"));
  KP_ENSURE(valid_kvk(m.provider.kvk), "manifest-kvk-invalid", "provider.kvk must be 8 digits");

  KP_TRY(std::optional<Var> agb, member(*p, "agb", "provider.agb", false));
  if (agb) {
    KP_ENSURE(agb->isString(), "manifest-field-invalid",
              "provider.agb must be a text of 8 digits (in quotes)");
    KP_TRY(std::string code, as_string(*agb, "provider.agb"));
    KP_ENSURE(valid_agb(code), "manifest-agb-invalid", "provider.agb must be 8 digits");
    m.provider.agb = std::move(code);
  }

  KP_TRY(m.provider.name, string_member(*p, "name", "provider.name"));
  KP_GUARD(check_text(m.provider.name, "provider.name", lim.max_name_chars, TextKind::one_line));
  return ok_status();
}

Status read_period(const Object& root, Manifest& m) {
  KP_TRY(Object::Ptr p, object_member(root, "period", "period"));
  KP_GUARD(only_known(*p, "period.", kPeriodFields));
  for (const char* which : {"from", "until"}) {
    const std::string path = std::string("period.") + which;
    KP_TRY(std::optional<Var> v, member(*p, which, path, true));
    KP_ENSURE(v->isString() && v->type() == typeid(std::string), "manifest-period-invalid",
              path + " must be a date YYYY-MM-DD (in quotes)");
    std::string d = v->extract<std::string>();
    KP_ENSURE(valid_date(d), "manifest-period-invalid", path + " must be a real date YYYY-MM-DD");
    (which[0] == 'f' ? m.period.from : m.period.until) = std::move(d);
  }
  // YYYY-MM-DD orders as text.
  KP_ENSURE(m.period.from <= m.period.until, "manifest-period-invalid",
            "period.from lies after period.until");
  return ok_status();
}

Status read_bsns(const Object& root, Manifest& m, const ManifestLimits& lim) {
  KP_TRY(std::optional<Var> v, member(root, "bsns", "bsns", false));
  if (!v) return ok_status();
  KP_TRY(Array::Ptr a, as_array(*v, "bsns"));
  KP_ENSURE(a->size() <= lim.max_bsns, "manifest-too-many-bsns",
            "bsns lists more than " + std::to_string(lim.max_bsns) + " numbers");
  std::vector<std::string> out;
  out.reserve(a->size());
  for (std::size_t i = 0; i < a->size(); ++i) {
    const std::string path = "bsns[" + std::to_string(i) + "]";
    Var e = a->get(static_cast<unsigned>(i));
    // Never echo the number: it identifies a person.
    KP_ENSURE(e.isString() && e.type() == typeid(std::string), "manifest-bsn-invalid",
              path + " must be a text of 9 digits (in quotes)");
    std::string bsn = e.extract<std::string>();
    KP_ENSURE(valid_bsn(bsn), "manifest-bsn-invalid",
              path + " is not a BSN: it must be 9 digits passing the 11-test");
    out.push_back(std::move(bsn));
  }
  m.bsns = std::move(out);
  return ok_status();
}

Status read_files(const Object& root, std::vector<ManifestFile>& files, const ManifestLimits& lim,
                  std::string_view format = kSignalFormat) {
  KP_TRY(std::optional<Var> v, member(root, "files", "files", true));
  KP_TRY(Array::Ptr a, as_array(*v, "files"));
  KP_ENSURE(a->size() <= lim.max_files, "manifest-too-many-files",
            "files lists more than " + std::to_string(lim.max_files) + " files");
  std::map<std::string, std::size_t, std::less<>> seen;
  files.reserve(a->size());
  for (std::size_t i = 0; i < a->size(); ++i) {
    const std::string path = "files[" + std::to_string(i) + "]";
    KP_TRY(Object::Ptr f, as_object(a->get(static_cast<unsigned>(i)), path));
    KP_GUARD(only_known(*f, path + ".", kFileFields, format));
    ManifestFile mf;
    KP_TRY(mf.name, string_member(*f, "name", path + ".name"));
    const NameProblem np = check_file_name(mf.name, lim.max_file_name_bytes);
    KP_ENSURE(
        np == NameProblem::none, "manifest-file-name-invalid",
        path + ".name " +
            std::string(np == NameProblem::too_long
                            ? "is longer than " + std::to_string(lim.max_file_name_bytes) + " bytes"
                            : std::string(describe(np))));
    KP_TRY(int64_t size,
           integer_member(*f, "size", path + ".size", std::numeric_limits<int64_t>::max()));
    mf.size = static_cast<uint64_t>(size);
    KP_TRY(mf.sha256, string_member(*f, "sha256", path + ".sha256"));
    KP_ENSURE(valid_sha256_hex(mf.sha256), "manifest-field-invalid",
              path + ".sha256 must be 64 lowercase hex digits");
    auto [it, inserted] = seen.emplace(mf.name, i);
    KP_ENSURE(inserted, "manifest-file-duplicate",
              path + ".name repeats files[" + std::to_string(it->second) + "].name");
    files.push_back(std::move(mf));
  }
  // A name cannot be both a file and a folder of another file: a package
  // with both cannot be unpacked anywhere.
  for (const auto& [name, index] : seen) {
    for (std::size_t slash = name.find('/', 6); slash != std::string::npos;
         slash = name.find('/', slash + 1)) {
      auto hit = seen.find(std::string_view(name).substr(0, slash));
      KP_ENSURE(hit == seen.end(), "manifest-file-duplicate",
                "files[" + std::to_string(index) + "].name lies inside files[" +
                    std::to_string(hit->second) + "].name, which is a file");
    }
  }
  return ok_status();
}

// The fields every manifest format shares: for which municipality, by whom, when.
Status read_sender(const Object& root, std::string& municipality, std::string& submitted_by,
                   std::string& created) {
  KP_TRY(municipality, string_member(root, "municipality", "municipality"));
  KP_ENSURE(valid_municipality_code(municipality), "manifest-field-invalid",
            "municipality must be GM followed by 4 digits");
  KP_TRY(submitted_by, string_member(root, "submitted_by", "submitted_by"));
  KP_ENSURE(valid_account_id(submitted_by), "manifest-field-invalid",
            "submitted_by must be an account name (lowercase letters, digits, . _ -)");
  KP_TRY(created, string_member(root, "created", "created"));
  KP_ENSURE(valid_utc_timestamp(created), "manifest-field-invalid",
            "created must be a UTC time like 2026-11-22T10:15:00Z");
  return ok_status();
}

Status read_fields(const Object& root, Manifest& m, const ManifestLimits& lim) {
  KP_GUARD(only_known(root, "", kSignalFields));

  KP_TRY(std::string kind, string_member(root, "kind", "kind"));
  auto k = parse_kind(kind);
  KP_ENSURE(k, "manifest-field-invalid", "kind must be signal or enrichment-response");
  m.kind = *k;

  KP_GUARD(read_sender(root, m.municipality, m.submitted_by, m.created));

  KP_GUARD(read_provider(root, m, lim));

  KP_TRY(std::string domain, string_member(root, "domain", "domain"));
  auto d = parse_domain(domain);
  KP_ENSURE(d, "manifest-field-invalid", "domain must be one of Wmo, Jeugdwet, Wlz, Zvw, other");
  m.domain = *d;

  KP_GUARD(read_period(root, m));

  KP_TRY(m.irregularity, string_member(root, "irregularity", "irregularity"));
  KP_GUARD(
      check_text(m.irregularity, "irregularity", lim.max_irregularity_chars, TextKind::one_line));

  KP_TRY(m.estimated_damage_eur,
         integer_member(root, "estimated_damage_eur", "estimated_damage_eur", lim.max_damage_eur));
  KP_TRY(m.clients_affected,
         integer_member(root, "clients_affected", "clients_affected", lim.max_clients));

  KP_TRY(std::string risk, string_member(root, "health_risk", "health_risk"));
  auto h = parse_health_risk(risk);
  KP_ENSURE(h, "manifest-field-invalid", "health_risk must be none, low or high");
  m.health_risk = *h;

  KP_TRY(m.summary, string_member(root, "summary", "summary"));
  KP_GUARD(check_text(m.summary, "summary", lim.max_summary_chars, TextKind::multi_line));

  KP_GUARD(read_bsns(root, m, lim));

  const bool reply = m.kind == Kind::enrichment_response;
  KP_TRY(std::optional<Var> irt, member(root, "in_reply_to", "in_reply_to", reply));
  if (irt) {
    KP_ENSURE(reply, "manifest-field-invalid", "in_reply_to is only for kind enrichment-response");
    KP_TRY(std::string id, as_string(*irt, "in_reply_to"));
    KP_ENSURE(valid_request_id(id), "manifest-field-invalid",
              "in_reply_to must be a request id (letters, digits, . _ : -, at most 128)");
    m.in_reply_to = std::move(id);
  }

  KP_GUARD(read_files(root, m.files, lim));
  return ok_status();
}

// The hub manifest's fields, in the order of HubManifest.
Status read_hub_fields(const Object& root, HubManifest& m, const ManifestLimits& lim) {
  const bool sip = m.kind == HubKind::sip;
  const std::string_view format = sip ? kSipFormat : kRequestFormat;
  KP_GUARD(only_known(root, "", sip ? std::span<const std::string_view>(kSipFields)
                                     : std::span<const std::string_view>(kRequestFields),
                      format));
  KP_TRY(std::optional<Var> id, member(root, "id", "id", false));
  if (id) {
    KP_TRY(std::string v, as_string(*id, "id"));
    KP_ENSURE(valid_request_id(v), "manifest-field-invalid", "id is not an item id");
    m.id = std::move(v);
  }
  KP_TRY(std::optional<Var> published, member(root, "published", "published", false));
  if (published) {
    KP_TRY(std::string v, as_string(*published, "published"));
    KP_ENSURE(valid_utc_timestamp(v), "manifest-field-invalid", "published must be a UTC time");
    m.published = std::move(v);
  }
  KP_TRY(m.case_id, string_member(root, "case", "case"));
  KP_ENSURE(valid_case_id(m.case_id), "manifest-field-invalid", "case must be a case id like KP-2026-000042");
  KP_GUARD(read_sender(root, m.municipality, m.submitted_by, m.created));
  const char* text_field = sip ? "title" : "question";
  KP_TRY(m.text, string_member(root, text_field, text_field));
  KP_GUARD(check_text(m.text, text_field, sip ? lim.max_irregularity_chars : lim.max_summary_chars,
                      sip ? TextKind::one_line : TextKind::multi_line));
  KP_TRY(std::optional<Var> summary, member(root, "summary", "summary", false));
  if (summary) {
    KP_TRY(std::string v, as_string(*summary, "summary"));
    KP_GUARD(check_text(v, "summary", lim.max_summary_chars, TextKind::multi_line));
    m.summary = std::move(v);
  }
  return read_files(root, m.files, lim, format);
}

bool digits(std::string_view s, std::size_t pos, std::size_t n) {
  for (std::size_t i = pos; i < pos + n; ++i)
    if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
  return true;
}

int number(std::string_view s, std::size_t pos, std::size_t n) {
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

}  // namespace

// ---------------------------------------------------------------- public

bool valid_request_id(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(s[0])) return false;
  for (char c : s)
    if (!alnum(c) && c != '.' && c != '_' && c != ':' && c != '-') return false;
  return true;
}


std::string_view kind_name(Kind k) {
  return k == Kind::signal ? "signal" : "enrichment-response";
}

std::string_view domain_name(Domain d) {
  switch (d) {
    case Domain::Wmo:
      return "Wmo";
    case Domain::Jeugdwet:
      return "Jeugdwet";
    case Domain::Wlz:
      return "Wlz";
    case Domain::Zvw:
      return "Zvw";
    case Domain::other:
      return "other";
  }
  return "other";
}

std::string_view health_risk_name(HealthRisk h) {
  switch (h) {
    case HealthRisk::none:
      return "none";
    case HealthRisk::low:
      return "low";
    case HealthRisk::high:
      return "high";
  }
  return "none";
}

std::optional<Kind> parse_kind(std::string_view s) {
  if (s == "signal") return Kind::signal;
  if (s == "enrichment-response") return Kind::enrichment_response;
  return std::nullopt;
}

std::optional<Domain> parse_domain(std::string_view s) {
  for (Domain d : {Domain::Wmo, Domain::Jeugdwet, Domain::Wlz, Domain::Zvw, Domain::other})
    if (s == domain_name(d)) return d;
  return std::nullopt;
}

std::optional<HealthRisk> parse_health_risk(std::string_view s) {
  for (HealthRisk h : {HealthRisk::none, HealthRisk::low, HealthRisk::high})
    if (s == health_risk_name(h)) return h;
  return std::nullopt;
}

bool valid_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  if (!digits(s, 0, 4) || !digits(s, 5, 2) || !digits(s, 8, 2)) return false;
  const int y = number(s, 0, 4), mo = number(s, 5, 2), d = number(s, 8, 2);
  if (y < 1 || mo < 1 || mo > 12 || d < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  const int max = kDays[mo - 1] + (mo == 2 && leap ? 1 : 0);
  return d <= max;
}

bool valid_utc_timestamp(std::string_view s) {
  if (s.size() < 20 || !valid_date(s.substr(0, 10)) || s[10] != 'T') return false;
  if (!digits(s, 11, 2) || s[13] != ':' || !digits(s, 14, 2) || s[16] != ':' || !digits(s, 17, 2))
    return false;
  if (number(s, 11, 2) > 23 || number(s, 14, 2) > 59 || number(s, 17, 2) > 59) return false;
  if (s.back() != 'Z') return false;
  if (s.size() == 20) return true;
  const std::size_t frac = s.size() - 21;  // digits between '.' and 'Z'
  return s[19] == '.' && frac >= 1 && frac <= 9 && digits(s, 20, frac);
}

bool valid_sha256_hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

namespace {

// Phase one, shared by every manifest format: size, UTF-8, JSON syntax
// (bounded nesting), duplicate keys, one object at the top.
Result<Object::Ptr> parse_root(std::string_view json_text, const ManifestLimits& limits) {
  KP_ENSURE(json_text.size() <= limits.max_manifest_bytes, "manifest-too-large",
            "manifest.json is " + std::to_string(json_text.size()) + " bytes; at most " +
                std::to_string(limits.max_manifest_bytes) + " are accepted");
  {
    std::u32string scratch;
    scratch.reserve(json_text.size());
    KP_ENSURE(decode_utf8(json_text, scratch), "manifest-not-json",
              "manifest.json is not valid UTF-8");
  }

  // Phase one: syntax.
  Poco::SharedPtr<StrictHandler> handler(new StrictHandler);
  Object::Ptr root;
  try {
    Poco::JSON::Parser parser(handler);
    parser.setDepth(kMaxDepth);
    Var result = parser.parse(std::string(json_text));
    if (result.type() != typeid(Object::Ptr))
      return make_error("manifest-not-json", "manifest.json must hold one JSON object ({...})");
    root = result.extract<Object::Ptr>();
  } catch (const Poco::Exception& e) {
    // Poco refuses integers beyond 64 bits outright; name the field then.
    if (auto key = find_out_of_range_integer(json_text))
      return invalid(safe_key(*key), "holds a number out of range");
    return make_error("manifest-not-json",
                      "manifest.json is not valid JSON: " + safe_parser_message(e.message()));
  } catch (const std::exception&) {
    return make_error("manifest-not-json", "manifest.json could not be read as JSON");
  }
  if (root.isNull())
    return make_error("manifest-not-json", "manifest.json must hold one JSON object ({...})");
  if (handler->duplicate())
    return make_error("manifest-key-duplicate",
                      safe_key(*handler->duplicate()) + " occurs twice in one object");

  return root;
}

// The "format" member must be exactly `format`.
Status check_format(const Object& root, std::string_view format) {
  KP_ENSURE(root.has("format"), "manifest-format-unknown",
            "format is missing; it must be " + std::string(format));
  Var v = root.get("format");
  KP_ENSURE(v.isString() && v.type() == typeid(std::string) && v.extract<std::string>() == format,
            "manifest-format-unknown", "format must be " + std::string(format));
  return ok_status();
}

// Phase two of any format: `f` walks the parsed tree; an exception Poco
// throws on an unexpected value type becomes a refusal, never a crash.
template <typename T, typename F>
Result<T> schema_phase(F&& f) {
  try {
    return f();
  } catch (const Poco::Exception& e) {
    return make_error("manifest-field-invalid",
                      "a field could not be read: " + safe_parser_message(e.message()));
  } catch (const std::exception&) {
    return make_error("manifest-field-invalid", "a field could not be read");
  }
}

}  // namespace

Result<Manifest> parse_manifest(std::string_view json_text, const ManifestLimits& limits) {
  KP_TRY(Object::Ptr root, parse_root(json_text, limits));
  // Phase two: schema.
  return schema_phase<Manifest>([&]() -> Result<Manifest> {
    Manifest m;
    KP_GUARD(check_format(*root, kSignalFormat));
    m.format = std::string(kSignalFormat);
    if (auto key = find_out_of_range_integer(json_text))
      return invalid(safe_key(*key), "holds a number out of range");
    KP_GUARD(read_fields(*root, m, limits));
    return m;
  });
}

Status check_manifest_context(const Manifest& m, std::string_view upload_municipality,
                              std::string_view uploader) {
  KP_ENSURE(m.municipality == upload_municipality, "manifest-municipality-mismatch",
            "the manifest names municipality " + m.municipality +
                " but the package was uploaded for " + std::string(upload_municipality));
  KP_ENSURE(m.submitted_by == uploader, "manifest-submitter-mismatch",
            "the manifest names submitter " + m.submitted_by + " but the package was uploaded by " +
                std::string(uploader));
  return ok_status();
}

Result<HubManifest> parse_hub_manifest(std::string_view json_text, const ManifestLimits& limits) {
  KP_TRY(Object::Ptr root, parse_root(json_text, limits));
  return schema_phase<HubManifest>([&]() -> Result<HubManifest> {
    HubManifest m;
    Var format = root->has("format") ? root->get("format") : Var();
    const bool sip = format.isString() && format.type() == typeid(std::string) &&
                     format.extract<std::string>() == kSipFormat;
    m.kind = sip ? HubKind::sip : HubKind::request;
    if (!sip) {
      Status request = check_format(*root, kRequestFormat);
      if (!request.ok())
        return make_error("manifest-format-unknown", "format must be " + std::string(kSipFormat) + " or " +
                                                         std::string(kRequestFormat));
    }
    if (auto key = find_out_of_range_integer(json_text))
      return invalid(safe_key(*key), "holds a number out of range");
    KP_GUARD(read_hub_fields(*root, m, limits));
    return m;
  });
}

Status check_line_text(const std::string& s, const std::string& what, uint32_t max_chars) {
  return check_text(s, what, max_chars, TextKind::one_line);
}

bool valid_case_id(std::string_view s) {
  // KP-YYYY-NNNNNN
  return s.size() == 14 && s.substr(0, 3) == "KP-" && digits(s, 3, 4) && s[7] == '-' && digits(s, 8, 6);
}

}  // namespace kp::policy

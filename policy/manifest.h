// The signal manifest (manifest.json, "format": "knooppunt-signal/1"): its
// schema, and the strict parser that turns untrusted bytes into a Manifest.
//
// A municipality describes every signal package in a manifest: who sends it,
// about which care provider, how serious it looks, and every file with its
// size and SHA-256. The worker verifies the manifest's signature first, then
// calls parse_manifest() and check_manifest_context(); only a manifest that
// passes both is ranked and passed on. The parser is strict on purpose: an
// unknown field, a number given as a string or a float, a repeated key or a
// date that does not exist is refused with a reason the sender can act on,
// rather than guessed at -- a typo must never silently drop information from
// a fraud signal.
//
// Privacy: BSNs, free texts and file names can be personal data. No error
// detail produced here repeats a value from the manifest (only the
// municipality code and account name, in the context check); details name
// the field and, for lists, the position ("bsns[2] is not a BSN"). Callers
// must not log Manifest::bsns, ::summary or ::irregularity either.
//
// Extending: a later manifest kind (the hub's SIP / enrichment request,
// "knooppunt-request/1") gets its own struct and parse_* function in this
// file, built from the same field readers in manifest.cpp; the format string
// selects the schema, and an unknown one is refused ("manifest-format-unknown").
//
// Reason codes (stable; shown in a rejection receipt with a detail naming the
// field):
//
//   code                            what a municipal employee can do about it
//   ------------------------------  ---------------------------------------------
//   manifest-too-large              manifest.json is larger than 1 MiB; put long
//                                   texts in a document below files/.
//   manifest-not-json               manifest.json is not a valid JSON object in
//                                   UTF-8 (or nests deeper than 8 levels); save it
//                                   again from the signal application or check it
//                                   with a JSON validator.
//   manifest-format-unknown         "format" is missing or is not
//                                   "knooppunt-signal/1"; use the current
//                                   template of the signal application.
//   manifest-key-duplicate          A field occurs twice in the same object;
//                                   keep one.
//   manifest-field-unknown          A field name is not part of the format
//                                   (often a typo, e.g. "provder"); correct or
//                                   remove it.
//   manifest-field-missing          A required field is absent; fill it in.
//   manifest-field-invalid          A field has the wrong type or value (a number
//                                   in quotes, a fraction, a negative amount, an
//                                   unknown domain, a text that is too long or
//                                   has control characters, a malformed
//                                   timestamp); correct the named field.
//   manifest-kvk-invalid            provider.kvk is not 8 digits; copy the KvK
//                                   number from the Chamber of Commerce register.
//   manifest-agb-invalid            provider.agb is not 8 digits; copy the AGB
//                                   code from the AGB register, or leave it out.
//   manifest-bsn-invalid            A BSN in "bsns" does not pass the 11-test;
//                                   check the number at the named position.
//   manifest-period-invalid         period.from or period.until is not a real
//                                   date YYYY-MM-DD, or from lies after until.
//   manifest-file-name-invalid      A name in "files" does not start with files/
//                                   or has a forbidden form (.., //, \, control
//                                   characters, over 255 bytes); rename the file.
//   manifest-file-duplicate         Two entries in "files" have the same name
//                                   (or one is a folder of the other); list each
//                                   file once.
//   manifest-too-many-files         "files" lists more files than the hub accepts
//                                   (10000); split the signal.
//   manifest-too-many-bsns          "bsns" lists more numbers than the hub
//                                   accepts (10000); split the signal.
//   manifest-municipality-mismatch  "municipality" is not the municipality you
//                                   are logged in for; upload from the right
//                                   drop box or correct the code.
//   manifest-submitter-mismatch     "submitted_by" is not the person who uploaded
//                                   the package; put your own account name there.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace kp::policy {

inline constexpr std::string_view kSignalFormat = "knooppunt-signal/1";

enum class Kind { signal, enrichment_response };
enum class Domain { Wmo, Jeugdwet, Wlz, Zvw, other };
enum class HealthRisk { none, low, high };

// Every field each format knows, in the order the parser reads them; an
// other name is "manifest-field-unknown". docs/schemas/*.schema.json list
// the same (tests/policy/manifest_schema_test.cpp compares them).
inline constexpr std::array<std::string_view, 16> kSignalFields = {
    "format", "kind",   "municipality", "submitted_by",         "created",          "provider",
    "domain", "period", "irregularity", "estimated_damage_eur", "clients_affected", "health_risk",
    "summary", "bsns",  "in_reply_to",  "files"};
inline constexpr std::array<std::string_view, 3> kProviderFields = {"kvk", "agb", "name"};
inline constexpr std::array<std::string_view, 2> kPeriodFields = {"from", "until"};
inline constexpr std::array<std::string_view, 3> kFileFields = {"name", "size", "sha256"};
inline constexpr std::array<std::string_view, 10> kSipFields = {
    "format", "id", "published", "case", "municipality", "submitted_by", "created", "title", "summary", "files"};
inline constexpr std::array<std::string_view, 10> kRequestFields = {
    "format", "id", "published", "case", "municipality", "submitted_by", "created", "question", "summary", "files"};

// The manifest spellings ("enrichment-response", "Jeugdwet", "high").
std::string_view kind_name(Kind k);
std::string_view domain_name(Domain d);
std::string_view health_risk_name(HealthRisk h);
std::optional<Kind> parse_kind(std::string_view s);
std::optional<Domain> parse_domain(std::string_view s);  // case-sensitive
std::optional<HealthRisk> parse_health_risk(std::string_view s);

struct ManifestLimits {
  uint64_t max_manifest_bytes = 1ULL << 20;  // 1 MiB
  uint32_t max_files = 10000;                // matches PackageRules::max_entries
  uint32_t max_bsns = 10000;
  uint32_t max_summary_chars = 10000;      // code points
  uint32_t max_irregularity_chars = 1000;  // code points
  uint32_t max_name_chars = 200;           // provider.name, code points
  uint32_t max_file_name_bytes = 255;
  // Sanity ceilings: above them a value is a mistake, not a signal (the
  // whole Dutch care budget is below 10^12 euros; the population below 10^8).
  int64_t max_damage_eur = 1'000'000'000'000;
  int64_t max_clients = 100'000'000;
};

struct ManifestFile {
  std::string name;  // "files/...", passed check_file_name()
  uint64_t size = 0;
  std::string sha256;  // 64 lowercase hex digits
};

struct Provider {
  std::string kvk;                 // 8 digits
  std::optional<std::string> agb;  // 8 digits
  std::string name;
};

struct Period {
  std::string from;   // YYYY-MM-DD, a real date
  std::string until;  // YYYY-MM-DD, >= from
};

struct Manifest {
  std::string format;  // kSignalFormat
  Kind kind = Kind::signal;
  std::string municipality;  // GM + 4 digits
  std::string submitted_by;  // account id
  std::string created;       // YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z (UTC)
  Provider provider;
  Domain domain = Domain::other;
  Period period;
  std::string irregularity;          // one line, 1..1000 code points
  int64_t estimated_damage_eur = 0;  // whole euros, 0..max_damage_eur
  int64_t clients_affected = 0;      // 0..max_clients
  HealthRisk health_risk = HealthRisk::none;
  std::string summary;                           // 1..10000 code points, may span lines
  std::optional<std::vector<std::string>> bsns;  // personal data: never log
  // Iff kind == enrichment_response: the request's id, 1..128 of
  // [A-Za-z0-9._:-], starting with a letter or digit.
  std::optional<std::string> in_reply_to;
  std::vector<ManifestFile> files;  // unique names, may be empty
};

// Parses and validates a signal manifest. Never throws (Poco exceptions are
// caught here). Checks, in this order: size, UTF-8, JSON syntax (nesting at
// most 8 deep), duplicate keys, a top-level object, "format", integers within
// 64-bit range, unknown fields (at every level), then every field in the
// order of the struct. Optional fields (agb, bsns, in_reply_to for a plain
// signal) may be absent or null. Returns the first problem found; see the
// table above for the codes.
Result<Manifest> parse_manifest(std::string_view json_text, const ManifestLimits& limits = {});

// Checks the manifest against the upload it came in: `municipality` must be
// the upload's municipality ("manifest-municipality-mismatch") and
// `submitted_by` the uploading person ("manifest-submitter-mismatch").
Status check_manifest_context(const Manifest& m, std::string_view upload_municipality,
                              std::string_view uploader);

// The hub's answers to a municipality, uploaded by staff to /outgoing (or
// made by `sip publish` / `request send`): a SIP ("knooppunt-sip/1", with a
// one-line title) or an enrichment request ("knooppunt-request/1", with the
// question). Same field rules and reason codes as the signal manifest. The
// gateway adds "id" and "published" when it signs the manifest for the
// municipality; a staff upload leaves them out.
inline constexpr std::string_view kSipFormat = "knooppunt-sip/1";
inline constexpr std::string_view kRequestFormat = "knooppunt-request/1";

enum class HubKind { sip, request };

struct HubManifest {
  HubKind kind = HubKind::sip;
  std::optional<std::string> id;         // "KP-2026-000042-S1" / "-R1", set by the gateway
  std::optional<std::string> published;  // UTC time, set by the gateway
  std::string case_id;                   // "KP-2026-000042"
  std::string municipality;              // GM + 4 digits
  std::string submitted_by;              // staff account id, or "hub" for the gateway host's CLI
  std::string created;                   // UTC time
  std::string text;                      // the SIP's title or the request's question
  std::optional<std::string> summary;
  std::vector<ManifestFile> files;
};

Result<HubManifest> parse_hub_manifest(std::string_view json_text, const ManifestLimits& limits = {});

// A one-line human text under the manifest's rules (1..max_chars code
// points, no control or bidi characters); `what` names it in the error.
Status check_line_text(const std::string& s, const std::string& what, uint32_t max_chars);

// An item id (in_reply_to, id): 1..128 of [A-Za-z0-9._:-], starting with
// a letter or digit.
bool valid_request_id(std::string_view s);

// "KP-" + 4-digit year + "-" + 6 digits.
bool valid_case_id(std::string_view s);

// Syntax checks used by the parser, exposed for the CLI and tests.
// A calendar date "YYYY-MM-DD" (years 0001..9999, real day of month).
bool valid_date(std::string_view s);
// A UTC timestamp "YYYY-MM-DDTHH:MM:SSZ" with an optional fraction of 1..9
// digits before the Z; no other offset is accepted.
bool valid_utc_timestamp(std::string_view s);
// 64 lowercase hex digits.
bool valid_sha256_hex(std::string_view s);

}  // namespace kp::policy

// Package rules and the streaming checker; see package_rules.h.
#include "policy/package_rules.h"

#include <cstdio>
#include <limits>
#include <utility>

namespace kp::policy {

namespace {

constexpr std::string_view kManifestName = "manifest.json";
constexpr std::string_view kSignatureName = "manifest.json.minisig";
constexpr std::string_view kFilesPrefix = "files/";

// a + b, saturating at the top instead of wrapping (a hostile header can
// declare sizes near 2^64).
uint64_t add_sat(uint64_t a, uint64_t b) {
  return a > std::numeric_limits<uint64_t>::max() - b ? std::numeric_limits<uint64_t>::max()
                                                      : a + b;
}

// "100" rather than to_string's "100.000000".
std::string format_ratio(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", r);
  return buf;
}

char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

std::string accepted_list(const std::vector<std::string>& extensions) {
  std::string out;
  for (const std::string& e : extensions) out += (out.empty() ? "" : " ") + e;
  return out;
}

std::string entry_label(std::string_view name, uint32_t position, uint32_t max_bytes) {
  std::string_view shown = name;
  if (shown.size() > 1 && shown.back() == '/') shown.remove_suffix(1);
  if (check_entry_name(shown, max_bytes) == NameProblem::none) return "\"" + std::string(shown) + "\"";
  return "entry " + std::to_string(position);
}

std::vector<std::string> default_allowed_extensions() {
  return {".pdf", ".txt",  ".csv",  ".json", ".xml", ".jpg", ".jpeg", ".png",
          ".tif", ".tiff", ".docx", ".xlsx", ".odt", ".ods", ".eml",  ".msg"};
}

Status check_package_rules(const PackageRules& r) {
  KP_ENSURE(r.max_package_bytes > 0, "package-rules-invalid", "max_package_bytes must be above 0");
  KP_ENSURE(r.max_unpacked_bytes > 0, "package-rules-invalid",
            "max_unpacked_bytes must be above 0");
  KP_ENSURE(r.max_entries > 0, "package-rules-invalid", "max_entries must be above 0");
  KP_ENSURE(r.max_name_bytes > 0, "package-rules-invalid", "max_name_bytes must be above 0");
  // The negated form also refuses NaN.
  KP_ENSURE(!(r.max_compression_ratio < 1.0) && r.max_compression_ratio <= 1e9,
            "package-rules-invalid", "max_compression_ratio must be between 1 and 1e9");
  KP_ENSURE(r.max_manifest_bytes > 0, "package-rules-invalid",
            "max_manifest_bytes must be above 0");
  KP_ENSURE(r.max_signature_bytes > 0, "package-rules-invalid",
            "max_signature_bytes must be above 0");
  KP_ENSURE(!r.allowed_extensions.empty(), "package-rules-invalid",
            "allowed_extensions must not be empty");
  for (const std::string& ext : r.allowed_extensions) {
    bool ok = ext.size() >= 2 && ext.size() <= 16 && ext[0] == '.';
    for (std::size_t i = 1; ok && i < ext.size(); ++i)
      ok = (ext[i] >= 'a' && ext[i] <= 'z') || (ext[i] >= '0' && ext[i] <= '9');
    KP_ENSURE(ok, "package-rules-invalid",
              "allowed_extensions entries must be a dot and 1 to 15 lowercase letters or digits");
  }
  return ok_status();
}

bool is_control(char32_t c) {
  return c < 0x20 || (c >= 0x7F && c <= 0x9F);
}

bool is_bidi_control(char32_t c) {
  return c == 0x200E || c == 0x200F || c == 0x061C || (c >= 0x202A && c <= 0x202E) ||
         (c >= 0x2066 && c <= 0x2069);
}

std::string_view describe(NameProblem p) {
  switch (p) {
    case NameProblem::none:
      return "is acceptable";
    case NameProblem::empty:
      return "is empty";
    case NameProblem::too_long:
      return "is too long";
    case NameProblem::not_utf8:
      return "is not valid UTF-8";
    case NameProblem::control:
      return "contains a control character";
    case NameProblem::bidi:
      return "contains a bidirectional text control character";
    case NameProblem::backslash:
      return "contains a backslash";
    case NameProblem::absolute:
      return "is absolute (starts with /)";
    case NameProblem::traversal:
      return "contains a .. component";
    case NameProblem::dot:
      return "contains a . component (or starts with ./)";
    case NameProblem::empty_component:
      return "has an empty component (// or a trailing /)";
    case NameProblem::outside:
      return "is not below files/";
  }
  return "is not acceptable";
}

NameProblem check_entry_name(std::string_view name, uint32_t max_bytes) {
  if (name.empty()) return NameProblem::empty;
  if (name.size() > max_bytes) return NameProblem::too_long;
  std::u32string cps;
  if (!decode_utf8(name, cps)) return NameProblem::not_utf8;
  for (char32_t c : cps) {
    if (is_control(c)) return NameProblem::control;
    if (is_bidi_control(c)) return NameProblem::bidi;
    if (c == U'\\') return NameProblem::backslash;
  }
  if (name.front() == '/') return NameProblem::absolute;
  // Walk the components; ".." wins over the other component problems so the
  // refusal says what matters most.
  NameProblem found = NameProblem::none;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t slash = name.find('/', start);
    if (slash == std::string_view::npos) slash = name.size();
    std::string_view comp = name.substr(start, slash - start);
    if (comp == "..") return NameProblem::traversal;
    if (found == NameProblem::none) {
      if (comp.empty())
        found = NameProblem::empty_component;
      else if (comp == ".")
        found = NameProblem::dot;
    }
    start = slash + 1;
  }
  return found;
}

NameProblem check_file_name(std::string_view name, uint32_t max_bytes) {
  NameProblem p = check_entry_name(name, max_bytes);
  if (p != NameProblem::none) return p;
  // check_entry_name refused empty components, so "files/" + at least one
  // non-empty component remains.
  if (name.substr(0, kFilesPrefix.size()) != kFilesPrefix || name.size() == kFilesPrefix.size())
    return NameProblem::outside;
  return NameProblem::none;
}

std::string file_extension(std::string_view name) {
  std::size_t slash = name.rfind('/');
  std::string_view last = slash == std::string_view::npos ? name : name.substr(slash + 1);
  std::size_t dot = last.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return {};
  std::string ext(last.substr(dot));
  for (char& c : ext) c = ascii_lower(c);
  return ext;
}

PackageChecker::PackageChecker(PackageRules rules) : rules_(std::move(rules)) {}

Status PackageChecker::fail(Error e) {
  failed_ = true;
  error_ = std::move(e);
  return error_;
}

Status PackageChecker::on_entry(const EntryInfo& entry) {
  if (failed_) return error_;
  if (finished_)
    return fail(make_error("package-checker-finished", "an entry was reported after the end"));

  // Name the entry as the sender named it when the name is printable (it
  // is the sender's own file name, and the detail goes only into the
  // receipt in their own outbox); by position when it is not.
  const std::string pos = entry_label(entry.name, entries_ + 1, rules_.max_name_bytes);
  if (entries_ >= rules_.max_entries)
    return fail(make_error(
        "package-too-many-entries",
        "the package holds more than " + std::to_string(rules_.max_entries) + " entries"));
  ++entries_;

  if (entry.name.size() > rules_.max_name_bytes)
    return fail(make_error(
        "package-entry-name-too-long",
        pos + ": the name is longer than " + std::to_string(rules_.max_name_bytes) + " bytes"));

  switch (entry.type) {
    case EntryInfo::regular:
    case EntryInfo::directory:
      break;
    case EntryInfo::symlink:
      return fail(make_error("package-entry-symlink", pos + " is a symbolic link"));
    case EntryInfo::hardlink:
      return fail(make_error("package-entry-hardlink", pos + " is a hard link"));
    case EntryInfo::device:
    case EntryInfo::fifo:
    case EntryInfo::other:
    default:
      return fail(
          make_error("package-entry-special", pos + " is a device, pipe or other special file"));
  }

  std::string_view name = entry.name;
  if (entry.type == EntryInfo::directory && name.size() > 1 && name.back() == '/')
    name.remove_suffix(1);

  NameProblem p = check_entry_name(name, rules_.max_name_bytes);
  switch (p) {
    case NameProblem::none:
      break;
    case NameProblem::too_long:  // unreachable after the length check above; kept for completeness
      return fail(make_error("package-entry-name-too-long",
                             pos + ": the name " + std::string(describe(p))));
    case NameProblem::absolute:
      return fail(
          make_error("package-entry-absolute", pos + ": the name " + std::string(describe(p))));
    case NameProblem::traversal:
      return fail(
          make_error("package-entry-traversal", pos + ": the name " + std::string(describe(p))));
    default:
      return fail(
          make_error("package-entry-name-invalid", pos + ": the name " + std::string(describe(p))));
  }

  if (entry.type == EntryInfo::directory) {
    // Folders carry nothing; only their place matters.
    if (name != "files" && name.substr(0, kFilesPrefix.size()) != kFilesPrefix)
      return fail(make_error("package-entry-outside", pos + " is a folder outside files/"));
    return ok_status();
  }

  const bool is_manifest = name == kManifestName;
  const bool is_signature = name == kSignatureName;
  if (!is_manifest && !is_signature) {
    if (check_file_name(name, rules_.max_name_bytes) != NameProblem::none)
      return fail(make_error("package-entry-outside",
                             pos + " is not manifest.json, manifest.json.minisig or below files/"));
    const std::string ext = file_extension(name);
    bool allowed = false;
    for (const std::string& a : rules_.allowed_extensions)
      if (!ext.empty() && ext == a) allowed = true;
    if (!allowed)
      return fail(make_error("package-file-type",
                             pos + (ext.empty() ? std::string(" has no file type (extension)")
                                                : " has type " + ext + ", which is not accepted") +
                                 "; accepted: " + accepted_list(rules_.allowed_extensions)));
  }

  // Names are compared ASCII-case-insensitively: files/A.pdf and files/a.pdf
  // would overwrite each other when unpacked on Windows or macOS.
  std::string folded(name);
  for (char& c : folded)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  if (!names_.emplace(std::move(folded)).second)
    return fail(make_error("package-entry-duplicate",
                           pos + " repeats the name of an earlier entry (upper and lower case count as the same)"));

  if (is_manifest) {
    manifest_seen_ = true;
    if (entry.size > rules_.max_manifest_bytes)
      return fail(make_error(
          "package-manifest-too-large",
          "manifest.json is larger than " + std::to_string(rules_.max_manifest_bytes) + " bytes"));
  }
  if (is_signature) {
    signature_seen_ = true;
    if (entry.size > rules_.max_signature_bytes)
      return fail(make_error("package-signature-too-large",
                             "manifest.json.minisig is larger than " +
                                 std::to_string(rules_.max_signature_bytes) + " bytes"));
  }

  declared_ = add_sat(declared_, entry.size);
  if (declared_ > rules_.max_unpacked_bytes)
    return fail(make_error("package-too-large-unpacked",
                           "the files in the package add up to more than " +
                               std::to_string(rules_.max_unpacked_bytes) + " bytes"));
  return ok_status();
}

Status PackageChecker::on_bytes(uint64_t n_unpacked, uint64_t n_packed_so_far) {
  if (failed_) return error_;
  if (finished_)
    return fail(make_error("package-checker-finished", "bytes were reported after the end"));

  unpacked_ = add_sat(unpacked_, n_unpacked);
  // A running count only grows; keep the largest seen so a caller mixing up
  // counters cannot lower the bar for the ratio.
  if (n_packed_so_far > packed_) packed_ = n_packed_so_far;

  if (packed_ > rules_.max_package_bytes)
    return fail(make_error(
        "package-too-large",
        "the package is larger than " + std::to_string(rules_.max_package_bytes) + " bytes"));
  if (unpacked_ > rules_.max_unpacked_bytes)
    return fail(make_error("package-too-large-unpacked",
                           "the files in the package add up to more than " +
                               std::to_string(rules_.max_unpacked_bytes) + " bytes"));
  if (unpacked_ > rules_.ratio_grace_bytes &&
      static_cast<double>(unpacked_) > rules_.max_compression_ratio * static_cast<double>(packed_))
    return fail(make_error("package-compression-ratio",
                           "the package unpacks to more than " +
                               format_ratio(rules_.max_compression_ratio) + " times its size"));
  return ok_status();
}

Status PackageChecker::finish() {
  if (failed_) return error_;
  finished_ = true;
  if (!manifest_seen_)
    return fail(make_error("package-manifest-missing", "the package holds no manifest.json"));
  if (!signature_seen_)
    return fail(
        make_error("package-signature-missing", "the package holds no manifest.json.minisig"));
  return ok_status();
}

}  // namespace kp::policy

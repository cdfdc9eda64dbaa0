// Package rules: the limits a worker applies while it streams the tar archive
// out of a signal package, one entry and one chunk at a time.
//
// A signal package is age( tar{ manifest.json, manifest.json.minisig,
// files/... } ). The worker never extracts it to disk; it reads each entry
// with libarchive and tells a PackageChecker what it sees *before* it acts on
// the entry or releases its bytes. The checker refuses anything that is not
// plainly "a few documents below files/": links, devices, paths that climb
// out, names outside the layout, types that could run code, and archives that
// grow far beyond what was uploaded (tar/gzip/xz bombs). Once it refuses, it
// keeps refusing with the same error, so a caller that forgets one check
// still cannot go on.
//
// The entry-name rule (check_entry_name) is shared with the manifest schema
// (policy/manifest.h): the names a manifest lists and the names a tar holds
// obey the same rule, so one can be matched to the other byte for byte.
//
// Details name the entry by its name in quotes ("files/x.bin") when the name
// is printable, else by position ("entry 5"); see entry_label().
//
// Reason codes (stable; shown to the municipality in a rejection receipt):
//
//   code                          what a municipal employee can do about it
//   ----------------------------  ---------------------------------------------
//   package-too-large             The package is larger than the hub accepts
//                                 (2 GiB by default); split the signal or
//                                 leave out files that are not needed.
//   package-too-large-unpacked    The files in the package add up to more than
//                                 the hub accepts (4 GiB by default); split the
//                                 signal into several packages.
//   package-compression-ratio     The package unpacks to far more than its own
//                                 size (more than 100 times); send the files
//                                 uncompressed, without packing tools.
//   package-too-many-entries      The package holds more than 10000 entries;
//                                 combine documents or split the signal.
//   package-entry-name-too-long   A name in the package is longer than 255
//                                 bytes; shorten the file or folder name.
//   package-entry-name-invalid    A name is empty, not UTF-8, has control or
//                                 bidi characters, a backslash, an empty
//                                 component, "." or starts with "./"; rename
//                                 it to plain letters, digits, '-', '_', '.'.
//   package-entry-absolute        A name starts with '/'; build the tar from
//                                 inside the package folder with relative
//                                 names (manifest.json, files/...).
//   package-entry-traversal       A name contains ".."; remove it.
//   package-entry-outside         A file is neither manifest.json,
//                                 manifest.json.minisig nor below files/; put
//                                 every document in the files/ folder.
//   package-entry-symlink         The package holds a symbolic link; include
//                                 the file itself instead.
//   package-entry-hardlink        The package holds a hard link; include the
//                                 file itself instead (tar --hard-dereference).
//   package-entry-special         The package holds a device, pipe or other
//                                 special file; include only ordinary files.
//   package-entry-duplicate       The same name occurs twice (ignoring upper
//                                 and lower case of A-Z); each file may
//                                 appear once.
//   package-file-type             A file's type (extension) is not accepted;
//                                 convert it to one of the accepted types
//                                 (PDF, text, CSV, JSON, XML, images, office
//                                 documents, e-mail) -- never programs or
//                                 archives.
//   package-manifest-too-large    manifest.json is larger than 1 MiB; move
//                                 long texts into a document below files/.
//   package-signature-too-large   manifest.json.minisig is larger than 16 KiB;
//                                 sign with the standard minisign tool.
//   package-manifest-missing      The package has no manifest.json; seal it
//                                 with `knooppunt seal` or add the manifest.
//   package-signature-missing     The package has no manifest.json.minisig;
//                                 sign the manifest with your signing key.
//   package-checker-finished      (program error) an entry or bytes were
//                                 reported after finish(); the hub's staff
//                                 will look into it.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/utf8.h"

namespace kp::policy {

// The file types accepted below files/ (lowercase, with the dot), and why:
//   .pdf .txt .csv .json .xml              documents and data exports
//   .jpg .jpeg .png .tif .tiff             scans and photos
//   .docx .xlsx .odt .ods                  office documents (no macro-enabled
//                                          .docm/.xlsm, no legacy .doc/.xls)
//   .eml .msg                              e-mail evidence, as exported
// Deliberately absent: programs and scripts (.exe, .js, .sh, .bat, .ps1, ...),
// active content (.html, .svg), and archives (.zip, .7z, .tar, .gz, .rar):
// an archive inside the package would hide its content from this check and
// could be a bomb for whoever opens it downstream.
std::vector<std::string> default_allowed_extensions();

// The extensions as one line for a refusal: ".pdf .txt .csv ...".
std::string accepted_list(const std::vector<std::string>& extensions);

// How a refusal names a tar entry: the name in double quotes when it passes
// check_entry_name (printable, strict UTF-8, no control or bidi characters),
// else "entry N" (N counts from 1), so a hostile name is never echoed.
std::string entry_label(std::string_view name, uint32_t position, uint32_t max_bytes);

struct PackageRules {
  // Bytes of the package as consumed from the upload (the sealed stream).
  uint64_t max_package_bytes = 2ULL << 30;  // 2 GiB
  // Sum of the data bytes of all entries after every filter.
  uint64_t max_unpacked_bytes = 4ULL << 30;  // 4 GiB
  uint32_t max_entries = 10000;              // directories count too
  uint32_t max_name_bytes = 255;             // a whole entry name, in bytes
  // unpacked / packed may not exceed this once more than
  // ratio_grace_bytes have been unpacked (small packages of text compress
  // well and are harmless; a bomb is stopped at the first chunk past both).
  double max_compression_ratio = 100.0;
  uint64_t ratio_grace_bytes = 16ULL << 20;    // 16 MiB
  uint64_t max_manifest_bytes = 1ULL << 20;    // manifest.json, 1 MiB
  uint64_t max_signature_bytes = 16ULL << 10;  // manifest.json.minisig, 16 KiB
  std::vector<std::string> allowed_extensions = default_allowed_extensions();
};

// Checks that `rules` make sense before they are used (for the settings
// loader): every limit above zero, ratio >= 1, every extension lowercase,
// starting with '.', with 1..15 letters or digits after it.
// Error: "package-rules-invalid", naming the setting.
Status check_package_rules(const PackageRules& rules);

// What libarchive reports for one tar entry, mapped by the worker.
struct EntryInfo {
  enum Type { regular, directory, symlink, hardlink, device, fifo, other };
  std::string name;  // as stored in the tar header (pathname)
  Type type = regular;
  uint64_t size = 0;  // declared data size from the header
};

// Why a name is not an acceptable relative name (see check_entry_name).
enum class NameProblem {
  none,
  empty,            // ""
  too_long,         // more than max_bytes bytes
  not_utf8,         // not strict UTF-8
  control,          // NUL, C0/C1 control, DEL
  bidi,             // Unicode bidi embedding/override/isolate/mark characters
  backslash,        // '\'
  absolute,         // starts with '/'
  traversal,        // a ".." component
  dot,              // a "." component (also "./x")
  empty_component,  // "a//b" or a trailing '/'
  outside,          // not below files/ (for check_file_name only)
};

// One sentence for a NameProblem that never repeats the name itself (names
// can carry personal data; the caller names the entry by position).
std::string_view describe(NameProblem p);

// Checks the shape of a relative name: non-empty, at most max_bytes bytes,
// strict UTF-8, no control/bidi characters or backslash, not absolute, and
// no "", "." or ".." components. Pure; never throws.
NameProblem check_entry_name(std::string_view name, uint32_t max_bytes);

// check_entry_name, plus: the name starts with "files/" and names something
// below it ("files/x", "files/a/b.pdf"; not "files/" or "files").
NameProblem check_file_name(std::string_view name, uint32_t max_bytes);

// The extension of the last component, lowercased, with its dot (".pdf");
// empty when the last component has no dot or only a leading one (".bashrc").
std::string file_extension(std::string_view name);

// True for code points that must not appear in a name or a one-line text:
// C0 controls, DEL, C1 controls.
bool is_control(char32_t c);

// True for Unicode bidi marks, embeddings, overrides and isolates (U+200E,
// U+200F, U+061C, U+202A..U+202E, U+2066..U+2069): they make a name show
// differently from what it is ("rapport<RLO>fdp.exe").
bool is_bidi_control(char32_t c);

// Applies PackageRules to one tar archive as the worker streams it.
// Protocol: for every entry call on_entry() before reading its data, then
// on_bytes() after every chunk read (of any entry) and before using the
// chunk; finally finish(). The first refusal is sticky: every later call
// returns the same error. Not thread-safe; one checker per package.
class PackageChecker {
 public:
  explicit PackageChecker(PackageRules rules = {});

  // Refuses an entry by count, name length, type, name shape, place,
  // extension, duplicate name, or declared size (the sum of declared sizes
  // may not pass max_unpacked_bytes; manifest.json and its signature have
  // their own caps). Directory entries below files/ (and "files/" itself)
  // are accepted and otherwise ignored. A trailing '/' on a directory name
  // is dropped.
  Status on_entry(const EntryInfo& entry);

  // n_unpacked: data bytes just read, after every filter (a delta).
  // n_packed_so_far: total bytes of the package consumed from the upload so
  // far (a running count, e.g. archive_filter_bytes(a, -1)).
  // Refuses once the packed or unpacked total passes its limit, or the
  // unpacked total passes both ratio_grace_bytes and
  // max_compression_ratio * n_packed_so_far -- so a bomb is stopped one
  // chunk past the limit, however large it would grow.
  Status on_bytes(uint64_t n_unpacked, uint64_t n_packed_so_far);

  // The archive ended: refuses unless manifest.json and
  // manifest.json.minisig were both seen.
  Status finish();

  uint64_t unpacked_bytes() const { return unpacked_; }
  uint32_t entries() const { return entries_; }
  const PackageRules& rules() const { return rules_; }

 private:
  Status fail(Error e);

  PackageRules rules_;
  std::set<std::string, std::less<>> names_;  // regular files seen, A-Z folded to a-z
  uint64_t declared_ = 0;
  uint64_t unpacked_ = 0;
  uint64_t packed_ = 0;
  uint32_t entries_ = 0;
  bool manifest_seen_ = false;
  bool signature_seen_ = false;
  bool finished_ = false;
  bool failed_ = false;
  Error error_;
};

}  // namespace kp::policy

// Unit tests for policy/package_rules.h: a normal package passes; every
// refusal code is produced; a compression bomb is stopped within one chunk
// of the bound; a refusal is sticky.
#include "policy/package_rules.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

using namespace kp::policy;

namespace {

EntryInfo file(std::string name, uint64_t size = 10) {
  return EntryInfo{std::move(name), EntryInfo::regular, size};
}
EntryInfo dir(std::string name) {
  return EntryInfo{std::move(name), EntryInfo::directory, 0};
}

// The code of the first refusal when the entries are fed in order ("" if
// all pass, finish() included).
std::string code_for(std::initializer_list<EntryInfo> entries, PackageRules rules = {}) {
  PackageChecker c(std::move(rules));
  for (const EntryInfo& e : entries) {
    auto s = c.on_entry(e);
    if (!s.ok()) return s.error().code;
  }
  auto s = c.finish();
  return s.ok() ? std::string() : s.error().code;
}

// One entry after a manifest and signature.
std::string code_for_entry(const EntryInfo& e, PackageRules rules = {}) {
  return code_for({file("manifest.json"), file("manifest.json.minisig"), e}, std::move(rules));
}

}  // namespace

TEST_CASE("package_rules: a normal package passes") {
  PackageChecker c;
  CHECK(c.on_entry(dir("files/")).ok());
  CHECK(c.on_entry(file("manifest.json", 900)).ok());
  CHECK(c.on_bytes(900, 2000).ok());
  CHECK(c.on_entry(file("manifest.json.minisig", 300)).ok());
  CHECK(c.on_bytes(300, 2600).ok());
  CHECK(c.on_entry(file("files/rapport.pdf", 20481)).ok());
  CHECK(c.on_bytes(20481, 24000).ok());
  CHECK(c.on_entry(dir("files/bijlagen")).ok());
  CHECK(c.on_entry(file("files/bijlagen/Overzicht 2026.XLSX", 5000)).ok());
  CHECK(c.on_bytes(5000, 30000).ok());
  CHECK(c.on_entry(file("files/leeg.txt", 0)).ok());
  CHECK(c.finish().ok());
  CHECK(c.entries() == 7);
  CHECK(c.unpacked_bytes() == 900 + 300 + 20481 + 5000);
  CHECK(check_package_rules(c.rules()).ok());
}

TEST_CASE("package_rules: entry types") {
  CHECK(code_for_entry({"files/a.pdf", EntryInfo::symlink, 0}) == "package-entry-symlink");
  CHECK(code_for_entry({"files/a.pdf", EntryInfo::hardlink, 0}) == "package-entry-hardlink");
  CHECK(code_for_entry({"files/a.pdf", EntryInfo::device, 0}) == "package-entry-special");
  CHECK(code_for_entry({"files/a.pdf", EntryInfo::fifo, 0}) == "package-entry-special");
  CHECK(code_for_entry({"files/a.pdf", EntryInfo::other, 0}) == "package-entry-special");
  // A link is refused whatever its name.
  CHECK(code_for_entry({"manifest.json", EntryInfo::symlink, 0}) == "package-entry-symlink");
  CHECK(code_for_entry({"../../etc/passwd", EntryInfo::hardlink, 0}) == "package-entry-hardlink");
}

TEST_CASE("package_rules: names") {
  CHECK(code_for_entry(file("/etc/passwd")) == "package-entry-absolute");
  CHECK(code_for_entry(file("/files/a.pdf")) == "package-entry-absolute");
  CHECK(code_for_entry(file("files/../../etc/cron.d/x.txt")) == "package-entry-traversal");
  CHECK(code_for_entry(file("../manifest.json")) == "package-entry-traversal");
  CHECK(code_for_entry(file("files/..")) == "package-entry-traversal");
  CHECK(code_for_entry(dir("files/../")) == "package-entry-traversal");
  CHECK(code_for_entry(file("")) == "package-entry-name-invalid");
  CHECK(code_for_entry(file("./files/a.pdf")) == "package-entry-name-invalid");
  CHECK(code_for_entry(file("files/./a.pdf")) == "package-entry-name-invalid");
  CHECK(code_for_entry(file("files//a.pdf")) == "package-entry-name-invalid");
  CHECK(code_for_entry(file("files/a.pdf/")) == "package-entry-name-invalid");
  CHECK(code_for_entry(file("files\\a.pdf")) == "package-entry-name-invalid");
  CHECK(code_for_entry(file(std::string("files/a\0.pdf", 12))) == "package-entry-name-invalid");
  CHECK(code_for_entry(file("files/a\n.pdf")) == "package-entry-name-invalid");
  CHECK(code_for_entry(file("files/a\x7f.pdf")) == "package-entry-name-invalid");
  CHECK(code_for_entry(file("files/a\xc2\x85.pdf")) == "package-entry-name-invalid");  // C1 NEL
  CHECK(code_for_entry(file("files/\xe2\x80\xae"
                            "fdp.exe")) == "package-entry-name-invalid");  // RLO
  CHECK(code_for_entry(file("files/\xff.pdf")) == "package-entry-name-invalid");
  CHECK(code_for_entry(file("files/\xc0\xaf.pdf")) == "package-entry-name-invalid");
  CHECK(code_for_entry(file("files/" + std::string(246, 'a') + ".pdf")) ==
        "package-entry-name-too-long");
  CHECK(code_for_entry(file("files/" + std::string(245, 'a') + ".pdf")) == "");
  CHECK(code_for_entry(file("other.pdf")) == "package-entry-outside");
  CHECK(code_for_entry(file("Files/a.pdf")) == "package-entry-outside");
  CHECK(code_for_entry(file("manifest.json.bak")) == "package-entry-outside");
  CHECK(code_for_entry(file("files")) == "package-entry-outside");
  CHECK(code_for_entry(dir("etc/")) == "package-entry-outside");
  CHECK(code_for_entry(dir("manifest.json")) == "package-entry-outside");
  CHECK(code_for_entry(file("files/één.pdf")) == "");
}

TEST_CASE("package_rules: file types") {
  for (const char* bad : {"files/a.exe", "files/a.sh", "files/a.js", "files/a.html", "files/a.svg",
                          "files/a.zip", "files/a.tar.gz", "files/a.pdf.exe", "files/a.docm",
                          "files/a", "files/.bashrc", "files/a."}) {
    CAPTURE(bad);
    CHECK(code_for_entry(file(bad)) == "package-file-type");
  }
  for (const char* good : {"files/a.pdf", "files/a.PDF", "files/a.Jpeg", "files/scan.tiff",
                           "files/mail.eml", "files/b.v2.csv", "files/.x.txt"}) {
    CAPTURE(good);
    CHECK(code_for_entry(file(good)) == "");
  }
  PackageRules only_pdf;
  only_pdf.allowed_extensions = {".pdf"};
  CHECK(code_for_entry(file("files/a.txt"), only_pdf) == "package-file-type");
  CHECK(code_for_entry(file("files/a.pdf"), only_pdf) == "");
}

TEST_CASE("package_rules: duplicates, counts and the two manifest files") {
  CHECK(code_for_entry(file("manifest.json")) == "package-entry-duplicate");
  CHECK(code_for({file("manifest.json"), file("manifest.json.minisig"), file("files/a.pdf"),
                  file("files/a.pdf")}) == "package-entry-duplicate");
  // Names that differ only in case clash on Windows and macOS.
  CHECK(code_for({file("manifest.json"), file("manifest.json.minisig"), file("files/A.pdf"),
                  file("files/a.pdf")}) == "package-entry-duplicate");
  CHECK(code_for({file("manifest.json"), file("manifest.json.minisig"), file("files/Rapport.PDF"),
                  file("files/rapport.pdf")}) == "package-entry-duplicate");
  CHECK(code_for({file("manifest.json"), file("manifest.json.minisig"), file("files/a.pdf"),
                  file("files/b.pdf")}) == "");
  // Directories may repeat; they carry nothing.
  CHECK(code_for({dir("files/"), dir("files"), file("manifest.json"),
                  file("manifest.json.minisig")}) == "");

  PackageRules three;
  three.max_entries = 3;
  CHECK(code_for({file("manifest.json"), file("manifest.json.minisig"), file("files/a.pdf")},
                 three) == "");
  CHECK(code_for({file("manifest.json"), file("manifest.json.minisig"), dir("files/"),
                  file("files/a.pdf")},
                 three) == "package-too-many-entries");

  CHECK(code_for({file("files/a.pdf")}) == "package-manifest-missing");
  CHECK(code_for({}) == "package-manifest-missing");
  CHECK(code_for({file("manifest.json"), file("files/a.pdf")}) == "package-signature-missing");
  CHECK(code_for({file("manifest.json", (1 << 20) + 1), file("manifest.json.minisig")}) ==
        "package-manifest-too-large");
  CHECK(code_for({file("manifest.json"), file("manifest.json.minisig", (16 << 10) + 1)}) ==
        "package-signature-too-large");
}

TEST_CASE("package_rules: declared and streamed sizes") {
  PackageRules r;
  r.max_unpacked_bytes = 1000;
  r.ratio_grace_bytes = 1000;
  CHECK(code_for({file("manifest.json", 400), file("manifest.json.minisig", 100),
                  file("files/a.pdf", 500)},
                 r) == "");
  CHECK(code_for({file("manifest.json", 400), file("manifest.json.minisig", 100),
                  file("files/a.pdf", 501)},
                 r) == "package-too-large-unpacked");
  // A hostile header near 2^64 must not wrap the sum.
  CHECK(code_for(
            {file("manifest.json", 400), file("files/a.pdf", UINT64_MAX), file("files/b.pdf", 2)},
            r) == "package-too-large-unpacked");

  PackageChecker c(r);
  CHECK(c.on_bytes(1000, 1000).ok());
  auto s = c.on_bytes(1, 1001);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == "package-too-large-unpacked");

  PackageRules p;
  p.max_package_bytes = 5000;
  PackageChecker d(p);
  CHECK(d.on_bytes(10, 5000).ok());
  s = d.on_bytes(10, 5001);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == "package-too-large");
  // Saturating, not wrapping.
  PackageChecker e;
  CHECK_FALSE(e.on_bytes(UINT64_MAX, 1).ok());
}

TEST_CASE("package_rules: a compression bomb is stopped one chunk past the bound") {
  PackageRules r;  // ratio 100, grace 16 MiB, 4 GiB unpacked
  PackageChecker c(r);
  REQUIRE(c.on_entry(file("manifest.json", 100)).ok());
  REQUIRE(c.on_entry(file("manifest.json.minisig", 100)).ok());
  // A header claiming a modest size; the data turns out to be a gzip bomb:
  // every 64 KiB of output costs 64 bytes of input (ratio 1024).
  REQUIRE(c.on_entry(file("files/a.csv", 1000)).ok());
  const uint64_t chunk = 64 * 1024;
  uint64_t packed = 1024;
  uint64_t unpacked = 0;
  kp::Status s;
  while ((s = c.on_bytes(chunk, packed)).ok()) {
    unpacked += chunk;
    packed += 64;
    REQUIRE(unpacked < r.max_unpacked_bytes);
  }
  CHECK(s.error().code == "package-compression-ratio");
  // Stopped within one chunk of the bound.
  const double bound =
      std::max(static_cast<double>(r.ratio_grace_bytes), r.max_compression_ratio * packed);
  CHECK(static_cast<double>(c.unpacked_bytes()) <= bound + chunk);
  // Sticky: even benign calls now fail with the same error.
  CHECK(c.on_bytes(0, packed).error().code == "package-compression-ratio");
  CHECK(c.on_entry(file("files/b.pdf")).error().code == "package-compression-ratio");
  CHECK(c.finish().error().code == "package-compression-ratio");

  // Text that compresses well but stays under the grace passes.
  PackageChecker ok;
  CHECK(ok.on_bytes(r.ratio_grace_bytes, 1000).ok());
  // And so does a large package at a normal ratio.
  PackageChecker big;
  CHECK(big.on_bytes(1ULL << 30, (1ULL << 30) / 50).ok());
  // A counter that goes backwards cannot lower the bar.
  PackageChecker back;
  CHECK(back.on_bytes(1ULL << 20, 1ULL << 30).ok());
  CHECK(back.on_bytes(17ULL << 20, 1).ok());
}

TEST_CASE("package_rules: refusals are sticky and finish is final") {
  PackageChecker c;
  CHECK(c.on_entry(file("/etc/passwd")).error().code == "package-entry-absolute");
  CHECK(c.on_entry(file("manifest.json")).error().code == "package-entry-absolute");
  CHECK(c.on_bytes(1, 1).error().code == "package-entry-absolute");
  CHECK(c.finish().error().code == "package-entry-absolute");

  PackageChecker f;
  CHECK(f.on_entry(file("manifest.json")).ok());
  CHECK(f.on_entry(file("manifest.json.minisig")).ok());
  CHECK(f.finish().ok());
  CHECK(f.on_entry(file("files/late.pdf")).error().code == "package-checker-finished");
  CHECK(f.on_bytes(1, 1).error().code == "package-checker-finished");
}

TEST_CASE("package_rules: a refused type names the file and lists what is accepted") {
  PackageChecker c;
  auto s = c.on_entry(file("files/bijlage.bin"));
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == "package-file-type");
  CHECK(s.error().detail == "\"files/bijlage.bin\" has type .bin, which is not accepted; accepted: " +
                                accepted_list(default_allowed_extensions()));
  CHECK(s.error().detail.find(".pdf .txt .csv") != std::string::npos);
}

TEST_CASE("package_rules: an unprintable name is named by position, never echoed") {
  PackageChecker c;
  CHECK(c.on_entry(file("manifest.json")).ok());
  auto s = c.on_entry(file("files/a\x1b[2Jb.pdf"));
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().detail.rfind("entry 2: ", 0) == 0);
  CHECK(s.error().detail.find("\x1b") == std::string::npos);
  PackageChecker d;
  auto link = d.on_entry(EntryInfo{"files/link.pdf", EntryInfo::symlink, 0});
  CHECK(link.error().detail == "\"files/link.pdf\" is a symbolic link");
}

TEST_CASE("package_rules: check_package_rules") {
  CHECK(check_package_rules(PackageRules{}).ok());
  auto bad = [](auto mutate) {
    PackageRules r;
    mutate(r);
    auto s = check_package_rules(r);
    return !s.ok() && s.error().code == "package-rules-invalid";
  };
  CHECK(bad([](PackageRules& r) { r.max_package_bytes = 0; }));
  CHECK(bad([](PackageRules& r) { r.max_unpacked_bytes = 0; }));
  CHECK(bad([](PackageRules& r) { r.max_entries = 0; }));
  CHECK(bad([](PackageRules& r) { r.max_name_bytes = 0; }));
  CHECK(bad([](PackageRules& r) { r.max_compression_ratio = 0.5; }));
  CHECK(bad([](PackageRules& r) { r.max_compression_ratio = std::nan(""); }));
  CHECK(bad([](PackageRules& r) { r.max_manifest_bytes = 0; }));
  CHECK(bad([](PackageRules& r) { r.max_signature_bytes = 0; }));
  CHECK(bad([](PackageRules& r) { r.allowed_extensions.clear(); }));
  CHECK(bad([](PackageRules& r) { r.allowed_extensions = {"pdf"}; }));
  CHECK(bad([](PackageRules& r) { r.allowed_extensions = {".PDF"}; }));
  CHECK(bad([](PackageRules& r) { r.allowed_extensions = {"."}; }));
  CHECK(bad([](PackageRules& r) { r.allowed_extensions = {".p/f"}; }));
  for (const std::string& ext : default_allowed_extensions()) {
    CHECK(ext != ".exe");
    CHECK(ext != ".zip");
    CHECK(ext != ".html");
  }
}

TEST_CASE("package_rules: name helpers") {
  CHECK(check_entry_name("manifest.json", 255) == NameProblem::none);
  CHECK(check_entry_name("a/b/c", 255) == NameProblem::none);
  CHECK(check_entry_name("a/b/c", 4) == NameProblem::too_long);
  CHECK(check_entry_name("a/../c", 255) == NameProblem::traversal);
  CHECK(check_entry_name("a//../c", 255) == NameProblem::traversal);  // ".." wins
  CHECK(check_entry_name(".", 255) == NameProblem::dot);
  CHECK(check_entry_name("a/", 255) == NameProblem::empty_component);
  CHECK(check_file_name("files/a", 255) == NameProblem::none);
  CHECK(check_file_name("files/", 255) == NameProblem::empty_component);
  CHECK(check_file_name("files", 255) == NameProblem::outside);
  CHECK(check_file_name("filesx/a", 255) == NameProblem::outside);
  CHECK(file_extension("files/a.PDF") == ".pdf");
  CHECK(file_extension("files/x.y/a") == "");
  CHECK(file_extension(".bashrc") == "");
  CHECK(describe(NameProblem::traversal) == "contains a .. component");

  CHECK(is_bidi_control(0x202E));
  CHECK(is_bidi_control(0x2066));
  CHECK_FALSE(is_bidi_control(U'a'));
  CHECK(is_control(0));
  CHECK(is_control(0x85));
  CHECK_FALSE(is_control(U' '));
}

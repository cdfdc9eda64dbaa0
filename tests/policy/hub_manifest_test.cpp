// Unit tests for the hub's manifests in policy/manifest.h (parse_hub_manifest,
// valid_case_id, check_line_text): a SIP and an enrichment request parse,
// with or without the gateway's id and published; each format has its own
// text field (a SIP's "question" is unknown, a request's "title" too); every
// refusal carries the signal manifest's reason codes; hostile JSON is
// refused without throwing.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "policy/manifest.h"
#include "tests/support/json_doc.h"

using namespace kp::policy;
using kp::testing::JsonDoc;

namespace {

const std::string kHash(64, 'b');

std::string file_json(const std::string& name, const std::string& size = "1",
                      const std::string& hash = kHash) {
  return R"({"name": )" + name + R"(, "size": )" + size + R"(, "sha256": ")" + hash + R"("})";
}

// A staff member's SIP as uploaded to /outgoing (no id, no published).
struct Sip : JsonDoc {
  Sip() {
    members = {
        {"format", R"("knooppunt-sip/1")"},
        {"case", R"("KP-2026-000042")"},
        {"municipality", R"("GM0363")"},
        {"submitted_by", R"("s.staff")"},
        {"created", R"("2026-11-22T10:15:00Z")"},
        {"title", R"("Zorg BV: uren gedeclareerd, zorg niet geleverd")"},
        {"summary", R"("Bevindingen\nen advies")"},
        {"files", "[" + file_json(R"("files/sip.pdf")", "2048") + "]"},
    };
  }
};

// An enrichment request: the same fields with "question" for "title".
struct Request : JsonDoc {
  Request() {
    members = {
        {"format", R"("knooppunt-request/1")"},
        {"case", R"("KP-2026-000042")"},
        {"municipality", R"("GM0363")"},
        {"submitted_by", R"("s.staff")"},
        {"created", R"("2026-11-22T10:15:00Z")"},
        {"question", R"("Welke indicaties had client A?\nGraag per maand.")"},
        {"files", "[]"},
    };
  }
};

std::string code_of(const std::string& text, const ManifestLimits& lim = {}) {
  auto r = parse_hub_manifest(text, lim);
  return r.ok() ? std::string() : r.error().code;
}

std::string detail_of(const std::string& text, const ManifestLimits& lim = {}) {
  auto r = parse_hub_manifest(text, lim);
  return r.ok() ? std::string() : r.error().detail;
}

std::string quoted(const std::string& s) {
  return "\"" + s + "\"";
}

}  // namespace

TEST_CASE("hub manifest: a SIP parses") {
  auto r = parse_hub_manifest(Sip().json());
  REQUIRE_MESSAGE(r.ok(), r.error().message());
  const HubManifest& m = *r;
  CHECK(m.kind == HubKind::sip);
  CHECK_FALSE(m.id);
  CHECK_FALSE(m.published);
  CHECK(m.case_id == "KP-2026-000042");
  CHECK(m.municipality == "GM0363");
  CHECK(m.submitted_by == "s.staff");
  CHECK(m.created == "2026-11-22T10:15:00Z");
  CHECK(m.text == "Zorg BV: uren gedeclareerd, zorg niet geleverd");
  REQUIRE(m.summary);
  CHECK(*m.summary == "Bevindingen\nen advies");
  REQUIRE(m.files.size() == 1);
  CHECK(m.files[0].name == "files/sip.pdf");
  CHECK(m.files[0].size == 2048);
  CHECK(m.files[0].sha256 == kHash);
}

TEST_CASE("hub manifest: as signed by the gateway, with id and published") {
  auto r = parse_hub_manifest(Sip()
                                  .set("id", R"("KP-2026-000042-S1")")
                                  .set("published", R"("2026-11-22T11:00:00.5Z")")
                                  .set("submitted_by", R"("hub")")
                                  .json());
  REQUIRE_MESSAGE(r.ok(), r.error().message());
  REQUIRE(r->id);
  CHECK(*r->id == "KP-2026-000042-S1");
  REQUIRE(r->published);
  CHECK(*r->published == "2026-11-22T11:00:00.5Z");
  CHECK(r->submitted_by == "hub");
  // Optional fields may be null or absent.
  CHECK(code_of(Sip().set("id", "null").set("published", "null").json()) == "");
  auto no_summary = parse_hub_manifest(Sip().drop("summary").json());
  REQUIRE(no_summary.ok());
  CHECK_FALSE(no_summary->summary);
  CHECK_FALSE(parse_hub_manifest(Sip().set("summary", "null").json())->summary);
  CHECK(code_of(Sip().set("files", "[]").json()) == "");
}

TEST_CASE("hub manifest: an enrichment request parses; its question may span lines") {
  auto r = parse_hub_manifest(Request().json());
  REQUIRE_MESSAGE(r.ok(), r.error().message());
  CHECK(r->kind == HubKind::request);
  CHECK(r->case_id == "KP-2026-000042");
  CHECK(r->text == "Welke indicaties had client A?\nGraag per maand.");
  CHECK_FALSE(r->summary);
  CHECK(r->files.empty());
  auto with_id = parse_hub_manifest(Request().set("id", R"("KP-2026-000042-R1")").json());
  REQUIRE(with_id.ok());
  CHECK(*with_id->id == "KP-2026-000042-R1");
  // 10000 characters (code points, not bytes) is the most a question holds.
  std::string long_q;
  for (int i = 0; i < 10000; ++i) long_q += "\xc3\xa9";
  CHECK(code_of(Request().set("question", quoted(long_q)).json()) == "");
  CHECK(code_of(Request().set("question", quoted(long_q + "x")).json()) ==
        "manifest-field-invalid");
  CHECK(detail_of(Request().set("question", quoted(long_q + "x")).json()) ==
        "question is longer than 10000 characters");
}

TEST_CASE("hub manifest: an unknown format is refused") {
  for (const std::string& f :
       {std::string(R"("knooppunt-signal/1")"), std::string(R"("knooppunt-sip/2")"),
        std::string(R"("knooppunt-request/2")"), std::string(R"("KNOOPPUNT-SIP/1")"),
        std::string(R"("knooppunt-sip/1 ")"), std::string(R"("")"), std::string("1"),
        std::string("null"), std::string("true"), std::string(R"(["knooppunt-sip/1"])"),
        std::string(R"({"v": "knooppunt-sip/1"})")}) {
    CAPTURE(f);
    CHECK(code_of(Sip().set("format", f).json()) == "manifest-format-unknown");
  }
  CHECK(code_of(Sip().drop("format").json()) == "manifest-format-unknown");
  CHECK(code_of("{}") == "manifest-format-unknown");
  CHECK(detail_of("{}") == "format must be knooppunt-sip/1 or knooppunt-request/1");
}

TEST_CASE("hub manifest: each format has its own fields; unknown ones are refused") {
  // A SIP has a title, not a question; a request the other way round.
  CHECK(code_of(Sip().set("question", R"("why?")").json()) == "manifest-field-unknown");
  CHECK(detail_of(Sip().set("question", R"("why?")").json()) ==
        "question is not a field of knooppunt-sip/1");
  CHECK(code_of(Request().set("title", R"("t")").json()) == "manifest-field-unknown");
  // Even a SIP that swaps its title for a question.
  CHECK(code_of(Sip().drop("title").set("question", R"("why?")").json()) ==
        "manifest-field-unknown");
  // Signal fields, typos and other spellings.
  for (const char* f : {"kind", "provider", "in_reply_to", "bsns", "Title", "case_id", "titel"}) {
    CAPTURE(f);
    CHECK(code_of(Sip().set(f, R"("x")").json()) == "manifest-field-unknown");
  }
  // Inside a file entry too.
  CHECK(code_of(Sip()
                    .set("files", R"([{"name": "files/a.pdf", "size": 1, "sha256": ")" + kHash +
                                      R"(", "mode": 493}])")
                    .json()) == "manifest-field-unknown");
  // A key that is not a plain name is not echoed.
  std::string odd = Sip().set("111222333 Jan", "1").json();
  CHECK(code_of(odd) == "manifest-field-unknown");
  CHECK(detail_of(odd).find("111222333") == std::string::npos);
}

TEST_CASE("hub manifest: every required field, when missing, is named") {
  for (const char* f : {"case", "municipality", "submitted_by", "created", "title", "files"}) {
    CAPTURE(f);
    CHECK(code_of(Sip().drop(f).json()) == "manifest-field-missing");
    CHECK(detail_of(Sip().drop(f).json()) == std::string(f) + " is missing");
  }
  CHECK(detail_of(Request().drop("question").json()) == "question is missing");
  CHECK(detail_of(Request().drop("case").json()) == "case is missing");
  // Required fields must not be null either.
  CHECK(code_of(Sip().set("case", "null").json()) == "manifest-field-invalid");
  CHECK(code_of(Sip().set("title", "null").json()) == "manifest-field-invalid");
}

TEST_CASE("hub manifest: case, municipality, submitter, times and id are checked") {
  auto invalid = [](const JsonDoc& d) { return code_of(d.json()) == "manifest-field-invalid"; };
  for (const char* c : {"KP-2026-00004", "KP-2026-0000421", "kp-2026-000042", "KP-2026_000042",
                        "KP2026-000042", "KP-20a6-000042", "KP-2026-00004a", "KP-2026-000042-S1",
                        " KP-2026-000042", "", "IKZ-2026-0042"}) {
    CAPTURE(c);
    CHECK(invalid(Sip().set("case", quoted(c))));
  }
  CHECK(invalid(Sip().set("case", "2026000042")));
  CHECK(detail_of(Sip().set("case", R"("KP-42")").json()) ==
        "case must be a case id like KP-2026-000042");
  for (const char* m : {"gm0363", "GM363", "GM03633", "GM036a", ""}) {
    CAPTURE(m);
    CHECK(invalid(Sip().set("municipality", quoted(m))));
  }
  CHECK(invalid(Sip().set("municipality", "363")));
  for (const char* s : {"S.Staff", "s.staff@hub", "", ".s", "s staff"}) {
    CAPTURE(s);
    CHECK(invalid(Request().set("submitted_by", quoted(s))));
  }
  for (const char* t : {"2026-11-22T10:15:00", "2026-11-22T10:15:00+01:00", "2026-02-30T10:15:00Z",
                        "2026-11-22", "", "now"}) {
    CAPTURE(t);
    CHECK(invalid(Sip().set("created", quoted(t))));
    CHECK(invalid(Sip().set("published", quoted(t))));
  }
  CHECK(invalid(Sip().set("created", "1763806500")));
  CHECK(invalid(Sip().set("published", "1763806500")));
  for (const char* id : {"", "../x", "-S1", "KP 2026", "a/b"}) {
    CAPTURE(id);
    CHECK(invalid(Sip().set("id", quoted(id))));
  }
  CHECK(invalid(Sip().set("id", quoted(std::string(129, 'a')))));
  CHECK(code_of(Sip().set("id", quoted(std::string(128, 'a'))).json()) == "");
  CHECK(invalid(Sip().set("id", "42")));
}

TEST_CASE("hub manifest: titles are one line without control or bidi characters") {
  auto invalid = [](const JsonDoc& d) { return code_of(d.json()) == "manifest-field-invalid"; };
  CHECK(invalid(Sip().set("title", R"("")")));
  CHECK(detail_of(Sip().set("title", R"("")").json()) == "title is empty");
  CHECK(invalid(Sip().set("title", R"("   ")")));
  CHECK(invalid(Sip().set("title", R"("\u00a0")")));  // a no-break space shows nothing
  CHECK(invalid(Sip().set("title", R"("two\nlines")")));
  CHECK(invalid(Sip().set("title", R"("tab\there")")));
  CHECK(invalid(Sip().set("title", R"("bell \u0007")")));
  CHECK(invalid(Sip().set("title", R"("nul \u0000")")));
  CHECK(invalid(Sip().set("title", R"("del \u007f")")));
  CHECK(invalid(Sip().set("title", R"("c1 \u0085")")));
  CHECK(detail_of(Sip().set("title", R"("line\u2028separator")").json()) ==
        "title contains a line or paragraph separator");
  CHECK(invalid(Sip().set("title", R"("paragraph\u2029separator")")));
  CHECK(detail_of(Sip().set("title", R"("Zorg \u202eVB")").json()) ==
        "title contains a bidirectional text control character");
  CHECK(invalid(Sip().set("title", R"("isolate \u2066x\u2069")")));
  CHECK(invalid(Sip().set("title", quoted(std::string(1001, 'x')))));
  CHECK(code_of(Sip().set("title", quoted(std::string(1000, 'x'))).json()) == "");
  CHECK(invalid(Sip().set("title", "42")));
  CHECK(invalid(Sip().set("title", R"(["t"])")));
  // Questions and summaries may span lines but have no other controls.
  CHECK(invalid(Request().set("question", R"("")")));
  CHECK(invalid(Request().set("question", R"(" \n\t ")")));
  CHECK(invalid(Request().set("question", R"("bell \u0007")")));
  CHECK(code_of(Request().set("question", R"("a\r\nb\tc")").json()) == "");
  CHECK(invalid(Sip().set("summary", R"("")")));
  CHECK(invalid(Sip().set("summary", R"("esc \u001b[31m")")));
  CHECK(invalid(Sip().set("summary", quoted(std::string(10001, 'x')))));
  CHECK(invalid(Sip().set("summary", "1")));
}

TEST_CASE("hub manifest: repeated keys are refused, at every level") {
  std::string top = Sip().json();
  top.insert(1, R"("case": "KP-2026-000001", )");
  CHECK(code_of(top) == "manifest-key-duplicate");
  CHECK(detail_of(top) == "case occurs twice in one object");
  // A repeated format must not let the second one choose the schema.
  std::string fmt = Sip().json();
  fmt.insert(1, R"("format": "knooppunt-request/1", )");
  CHECK(code_of(fmt) == "manifest-key-duplicate");
  CHECK(
      code_of(Sip()
                  .set("files",
                       R"([{"name": "files/a.pdf", "name": "files/b.pdf", "size": 1, "sha256": ")" +
                           kHash + R"("}])")
                  .json()) == "manifest-key-duplicate");
}

TEST_CASE("hub manifest: bad file entries") {
  auto files = [](const std::string& list) { return code_of(Sip().set("files", list).json()); };
  CHECK(files("null") == "manifest-field-invalid");
  CHECK(files(R"("files/a.pdf")") == "manifest-field-invalid");
  CHECK(files(R"({"name": "files/a.pdf"})") == "manifest-field-invalid");
  CHECK(files(R"(["files/a.pdf"])") == "manifest-field-invalid");
  CHECK(files("[null]") == "manifest-field-invalid");
  for (const char* name : {R"("a.pdf")", R"("files/")", R"("files/../x")", R"("/files/a")",
                           R"("files//a")", R"("files\\a")", R"("files/a\u0000")", R"("")"}) {
    CAPTURE(name);
    CHECK(files("[" + file_json(name) + "]") == "manifest-file-name-invalid");
  }
  CHECK(files("[" + file_json("42") + "]") == "manifest-field-invalid");
  for (const char* size : {"-1", R"("1")", "1.5", "1e3", "true", "null"}) {
    CAPTURE(size);
    CHECK(files("[" + file_json(R"("files/a.pdf")", size) + "]") == "manifest-field-invalid");
  }
  for (const std::string& hash : {std::string(63, 'a'), std::string(65, 'a'), std::string(64, 'A'),
                                  std::string(64, 'g'), std::string()}) {
    CAPTURE(hash);
    CHECK(files("[" + file_json(R"("files/a.pdf")", "1", hash) + "]") == "manifest-field-invalid");
  }
  CHECK(detail_of(Sip()
                      .set("files", R"([{"name": "files/a.pdf", "sha256": ")" + kHash + R"("}])")
                      .json()) == "files[0].size is missing");
  const std::string a = file_json(R"("files/a.pdf")");
  CHECK(files("[" + a + "," + a + "]") == "manifest-file-duplicate");
  CHECK(files("[" + file_json(R"("files/d")") + "," + file_json(R"("files/d/e.pdf")") + "]") ==
        "manifest-file-duplicate");
  ManifestLimits lim;
  lim.max_files = 1;
  CHECK(code_of(Sip().set("files", "[" + a + "," + file_json(R"("files/b.pdf")") + "]").json(),
                lim) == "manifest-too-many-files");
}

TEST_CASE("hub manifest: not JSON, not an object, not UTF-8, too deep, too large") {
  for (const std::string& bad : {
           std::string(""), std::string("[]"), std::string(R"(["knooppunt-sip/1"])"),
           std::string("\"knooppunt-sip/1\""), std::string("null"), std::string("42"),
           std::string("{"), std::string(R"({"format": "knooppunt-sip/1",})"),
           std::string(R"({"format": "knooppunt-sip/1"} {})"),
           std::string("{\"format\": \"knooppunt-sip/1\xff\"}"),  // not UTF-8
           std::string("{\"a\": \"\xc0\xaf\"}"),                  // overlong '/'
           std::string("{\"a\": \"\xed\xa0\x80\"}"),              // encoded surrogate
           std::string(R"({"a": "\ud800"})"),                     // lone surrogate escape
       }) {
    CAPTURE(bad);
    CHECK(code_of(bad) == "manifest-not-json");
  }
  // Invalid UTF-8 in a text of an otherwise valid SIP.
  CHECK(code_of(Sip().set("title", "\"caf\xc3\"").json()) == "manifest-not-json");
  // Deep nesting: refused without exhausting the stack.
  CHECK(code_of(std::string(200000, '[') + std::string(200000, ']')) == "manifest-not-json");
  std::string deep_obj;
  for (int i = 0; i < 50000; ++i) deep_obj += "{\"a\":";
  deep_obj += "1" + std::string(50000, '}');
  CHECK(code_of(deep_obj) == "manifest-not-json");
  CHECK(code_of(Sip().set("summary", "[[[[[[[[[1]]]]]]]]]").json()) == "manifest-not-json");
  // Size is checked first.
  ManifestLimits small;
  small.max_manifest_bytes = 64;
  CHECK(code_of(Sip().json(), small) == "manifest-too-large");
  CHECK(code_of(std::string(2 * 1024 * 1024, '[')) == "manifest-too-large");
}

TEST_CASE("hub manifest: integers out of range are refused, not wrapped") {
  for (const char* n : {"9223372036854775808", "18446744073709551616", "18446744073709551617",
                        "99999999999999999999999999", "-9223372036854775809"}) {
    CAPTURE(n);
    std::string text = Sip().set("files", "[" + file_json(R"("files/a.pdf")", n) + "]").json();
    CHECK(code_of(text) == "manifest-field-invalid");
    CHECK(detail_of(text).find("size") != std::string::npos);
  }
  // 2^64 would wrap to 0 in Poco and pass as an empty file.
  CHECK(
      detail_of(Sip()
                    .set("files", "[" + file_json(R"("files/a.pdf")", "18446744073709551616") + "]")
                    .json()) == "size holds a number out of range");
  // The largest signed 64-bit size is accepted.
  auto big = parse_hub_manifest(
      Sip().set("files", "[" + file_json(R"("files/a.pdf")", "9223372036854775807") + "]").json());
  REQUIRE(big.ok());
  CHECK(big->files[0].size == 9223372036854775807ULL);
  // A huge number where a text belongs.
  CHECK(code_of(Sip().set("case", "99999999999999999999999").json()) == "manifest-field-invalid");
  CHECK(detail_of(Sip().set("case", "99999999999999999999999").json()).find("99999") ==
        std::string::npos);
}

TEST_CASE("hub manifest: refusals never repeat free texts") {
  std::string text = Sip()
                         .set("title", R"("client 111222333 Jan Jansen")")
                         .set("summary", R"("Jan Jansen 111222333")")
                         .set("created", R"("2026-11-22 Jan Jansen")")
                         .json();
  CHECK(code_of(text) == "manifest-field-invalid");
  CHECK(detail_of(text).find("Jansen") == std::string::npos);
  CHECK(detail_of(text).find("111222333") == std::string::npos);
}

TEST_CASE("hub manifest: valid_case_id") {
  CHECK(valid_case_id("KP-2026-000042"));
  CHECK(valid_case_id("KP-2026-000000"));
  CHECK(valid_case_id("KP-0000-999999"));  // syntax only; the year is the case's business
  CHECK(valid_case_id("KP-9999-000001"));
  for (const char* bad : {"",
                          "KP-",
                          "KP-2026-",
                          "KP-2026-00004",
                          "KP-2026-0000420",
                          "KP-2026-000042 ",
                          " KP-2026-000042",
                          "KP-2026-000042\n",
                          "kp-2026-000042",
                          "Kp-2026-000042",
                          "KP_2026-000042",
                          "KP-2026_000042",
                          "KP-2026-00004a",
                          "KP-202a-000042",
                          "KP-26-00000042",
                          "KP-2026-+00042",
                          "KP-2026--00042",
                          "KP-2026-000042-S1",
                          "KQ-2026-000042",
                          "KP-2026-٠٠٠٠٤٢"}) {
    CAPTURE(bad);
    CHECK_FALSE(valid_case_id(bad));
  }
  // An embedded NUL is a different string, not a shorter one.
  CHECK_FALSE(valid_case_id(std::string_view("KP-2026-00004\0", 14)));
  CHECK_FALSE(
      valid_case_id(std::string_view("KP-2026\0"
                                     "000042",
                                     14)));
}

TEST_CASE("hub manifest: check_line_text") {
  CHECK(check_line_text("Zorg BV", "title", 200).ok());
  CHECK(check_line_text(std::string(5, 'x'), "title", 5).ok());
  std::string accents;
  for (int i = 0; i < 5; ++i) accents += "\xc3\xa9";  // 5 characters, 10 bytes
  CHECK(check_line_text(accents, "title", 5).ok());
  auto code = [](const std::string& s, uint32_t max = 200) {
    kp::Status st = check_line_text(s, "reason", max);
    return st.ok() ? std::string() : st.error().code;
  };
  CHECK(code(std::string(6, 'x'), 5) == "manifest-field-invalid");
  CHECK(check_line_text(std::string(6, 'x'), "reason", 5).error().detail ==
        "reason is longer than 5 characters");
  CHECK(code("") == "manifest-field-invalid");
  CHECK(check_line_text("", "reason", 5).error().detail == "reason is empty");
  CHECK(code("  ") == "manifest-field-invalid");
  CHECK(code("a\nb") == "manifest-field-invalid");
  CHECK(code("a\rb") == "manifest-field-invalid");
  CHECK(code("a\tb") == "manifest-field-invalid");
  CHECK(code(std::string("a\0b", 3)) == "manifest-field-invalid");
  CHECK(code("a\x1b[2Jb") == "manifest-field-invalid");
  CHECK(code("a\xe2\x80\xae"
             "b") == "manifest-field-invalid");  // U+202E
  CHECK(code("a\xe2\x81\xa6"
             "b") == "manifest-field-invalid");  // U+2066
  CHECK(code("caf\xc3") == "manifest-field-invalid");
  CHECK(check_line_text("caf\xc3", "reason", 5).error().detail == "reason is not valid UTF-8");
  CHECK(code("\xc0\xaf") == "manifest-field-invalid");
}

// Unit tests for policy/manifest.h: the example from the design parses; every
// reason code is produced at least once; hostile JSON (deep nesting, huge
// numbers, floats and strings for integers, repeated keys, bad UTF-8, a
// 10 MB manifest) is refused without throwing; no detail repeats a BSN.
#include "policy/manifest.h"

#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

#include "tests/support/json_doc.h"

using namespace kp::policy;

namespace {

const std::string kHash(64, 'a');

// The design's example manifest; tests replace, drop or add one member.
struct Doc : kp::testing::JsonDoc {
  Doc() {
    members = {
        {"format", R"("knooppunt-signal/1")"},
        {"kind", R"("signal")"},
        {"municipality", R"("GM0363")"},
        {"submitted_by", R"("j.jansen")"},
        {"created", R"("2026-11-22T10:15:00Z")"},
        {"provider", R"({"kvk": "12345678", "agb": "01234567", "name": "Zorg BV"})"},
        {"domain", R"("Wmo")"},
        {"period", R"({"from": "2026-01-01", "until": "2026-06-30"})"},
        {"irregularity", R"("care billed but not delivered")"},
        {"estimated_damage_eur", "125000"},
        {"clients_affected", "14"},
        {"health_risk", R"("high")"},
        {"summary", R"("free text")"},
        {"bsns", R"(["111222333"])"},
        {"files",
         R"([{"name": "files/rapport.pdf", "size": 20481, "sha256": ")" + kHash + R"("}])"},
    };
  }
};

std::string file_json(const std::string& name, const std::string& size = "1",
                      const std::string& hash = kHash) {
  return R"({"name": )" + name + R"(, "size": )" + size + R"(, "sha256": ")" + hash + R"("})";
}

// Parses and returns the error code ("" when accepted).
std::string code_of(const std::string& text, const ManifestLimits& lim = {}) {
  auto r = parse_manifest(text, lim);
  return r.ok() ? std::string() : r.error().code;
}

std::string detail_of(const std::string& text, const ManifestLimits& lim = {}) {
  auto r = parse_manifest(text, lim);
  return r.ok() ? std::string() : r.error().detail;
}

}  // namespace

TEST_CASE("manifest: the example from the design parses") {
  auto r = parse_manifest(Doc().json());
  REQUIRE_MESSAGE(r.ok(), r.error().message());
  const Manifest& m = *r;
  CHECK(m.format == "knooppunt-signal/1");
  CHECK(m.kind == Kind::signal);
  CHECK(m.municipality == "GM0363");
  CHECK(m.submitted_by == "j.jansen");
  CHECK(m.created == "2026-11-22T10:15:00Z");
  CHECK(m.provider.kvk == "12345678");
  REQUIRE(m.provider.agb);
  CHECK(*m.provider.agb == "01234567");
  CHECK(m.provider.name == "Zorg BV");
  CHECK(m.domain == Domain::Wmo);
  CHECK(m.period.from == "2026-01-01");
  CHECK(m.period.until == "2026-06-30");
  CHECK(m.irregularity == "care billed but not delivered");
  CHECK(m.estimated_damage_eur == 125000);
  CHECK(m.clients_affected == 14);
  CHECK(m.health_risk == HealthRisk::high);
  CHECK(m.summary == "free text");
  REQUIRE(m.bsns);
  CHECK(m.bsns->size() == 1);
  CHECK_FALSE(m.in_reply_to);
  REQUIRE(m.files.size() == 1);
  CHECK(m.files[0].name == "files/rapport.pdf");
  CHECK(m.files[0].size == 20481);
  CHECK(m.files[0].sha256 == kHash);
  CHECK(check_manifest_context(m, "GM0363", "j.jansen").ok());
}

TEST_CASE("manifest: optional fields may be absent or null; texts may be Unicode") {
  CHECK(code_of(Doc().drop("bsns").json()) == "");
  CHECK(code_of(Doc().set("bsns", "null").json()) == "");
  CHECK(code_of(Doc().set("bsns", "[]").json()) == "");
  CHECK(code_of(Doc().set("provider", R"({"kvk": "12345678", "name": "Zorg BV"})").json()) == "");
  CHECK(
      code_of(
          Doc().set("provider", R"({"kvk": "12345678", "agb": null, "name": "Zorg BV"})").json()) ==
      "");
  CHECK(code_of(Doc().set("in_reply_to", "null").json()) == "");
  CHECK(code_of(Doc().set("files", "[]").json()) == "");
  CHECK(code_of(Doc().set("estimated_damage_eur", "0").set("clients_affected", "0").json()) == "");
  CHECK(code_of(Doc().set("summary", R"("line one\nline two\tindented\r\n")").json()) == "");
  CHECK(code_of(Doc().set("summary", R"("zorgaanbieder \u00e9\u00e9n \ud83d\ude00")").json()) ==
        "");
  CHECK(code_of(Doc().set("created", R"("2026-11-22T10:15:00.123Z")").json()) == "");
  CHECK(code_of(Doc().set("period", R"({"from": "2024-02-29", "until": "2024-02-29"})").json()) ==
        "");
  CHECK(code_of(Doc()
                    .set("files", "[" + file_json(R"("files/a/b c.pdf")") + "," +
                                      file_json(R"("files/a/d.pdf")") + "]")
                    .json()) == "");
  // 200 two-byte characters are 200 characters, not 400.
  std::string name200;
  for (int i = 0; i < 200; ++i) name200 += "\xc3\xa9";
  CHECK(code_of(
            Doc().set("provider", R"({"kvk": "12345678", "name": ")" + name200 + R"("})").json()) ==
        "");
  for (const char* d : {"Wmo", "Jeugdwet", "Wlz", "Zvw", "other"})
    CHECK(code_of(Doc().set("domain", std::string("\"") + d + "\"").json()) == "");
  for (const char* h : {"none", "low", "high"})
    CHECK(code_of(Doc().set("health_risk", std::string("\"") + h + "\"").json()) == "");
}

TEST_CASE("manifest: enrichment responses need in_reply_to, signals may not have it") {
  Doc reply;
  reply.set("kind", R"("enrichment-response")");
  CHECK(code_of(reply.json()) == "manifest-field-missing");
  CHECK(detail_of(reply.json()).find("in_reply_to") != std::string::npos);
  reply.set("in_reply_to", R"("IKZ-2026-0042")");
  auto r = parse_manifest(reply.json());
  REQUIRE(r.ok());
  CHECK(r->kind == Kind::enrichment_response);
  CHECK(*r->in_reply_to == "IKZ-2026-0042");
  CHECK(code_of(reply.set("in_reply_to", "null").json()) == "manifest-field-invalid");
  CHECK(code_of(reply.set("in_reply_to", R"("")").json()) == "manifest-field-invalid");
  CHECK(code_of(reply.set("in_reply_to", R"("../x")").json()) == "manifest-field-invalid");
  CHECK(code_of(reply.set("in_reply_to", "42").json()) == "manifest-field-invalid");
  CHECK(code_of(Doc().set("in_reply_to", R"("IKZ-1")").json()) == "manifest-field-invalid");
  CHECK(code_of(Doc().set("kind", R"("Signal")").json()) == "manifest-field-invalid");
  CHECK(code_of(Doc().set("kind", R"("sip")").json()) == "manifest-field-invalid");
}

TEST_CASE("manifest: size limit, checked before any parsing") {
  // 10 MB of otherwise valid JSON.
  std::string big = Doc().set("summary", "\"" + std::string(10 * 1024 * 1024, 'x') + "\"").json();
  CHECK(code_of(big) == "manifest-too-large");
  ManifestLimits small;
  small.max_manifest_bytes = 100;
  CHECK(code_of(Doc().json(), small) == "manifest-too-large");
  // Just at the limit is fine.
  std::string text = Doc().json();
  small.max_manifest_bytes = text.size();
  CHECK(code_of(text, small) == "");
  // 10 MB of garbage is refused by size, not by the parser.
  CHECK(code_of(std::string(10 * 1024 * 1024, '[')) == "manifest-too-large");
}

TEST_CASE("manifest: not JSON") {
  for (const std::string& bad : {
           std::string(""),
           std::string("   "),
           std::string("not json"),
           std::string("[]"),
           std::string(R"(["knooppunt-signal/1"])"),
           std::string("\"knooppunt-signal/1\""),
           std::string("42"),
           std::string("null"),
           std::string("{"),
           std::string(R"({"format": "knooppunt-signal/1",})"),
           std::string(R"({'format': 'knooppunt-signal/1'})"),
           std::string(R"({"format": "knooppunt-signal/1"} {})"),
           std::string(R"({"format": "knooppunt-signal/1"} x)"),
           std::string("/* c */ {}"),
           std::string("\xef\xbb\xbf{}"),                            // byte order mark
           std::string("{\"format\": \"knooppunt-signal/1\xff\"}"),  // not UTF-8
           std::string("{\"a\": \"\xc0\xaf\"}"),                     // overlong '/'
           std::string("{\"a\": \"\xed\xa0\x80\"}"),                 // encoded surrogate
           std::string(R"({"a": "\ud800"})"),                        // lone surrogate escape
           std::string(R"({"a": NaN})"),
           std::string(R"({"a": 01})"),
           std::string(R"({"a": 1e400})"),
           std::string("{\"a\": \"x\ny\"}"),  // raw newline in a string
       }) {
    CAPTURE(bad);
    CHECK(code_of(bad) == "manifest-not-json");
  }
}

TEST_CASE("manifest: deep nesting is refused without exhausting the stack") {
  std::string deep(500000, '[');
  deep += std::string(500000, ']');
  CHECK(code_of(deep) == "manifest-not-json");
  std::string deep_obj;
  for (int i = 0; i < 100000; ++i) deep_obj += "{\"a\":";
  deep_obj += "1" + std::string(100000, '}');
  CHECK(code_of(deep_obj) == "manifest-not-json");
  // Nine levels inside an otherwise valid manifest.
  CHECK(code_of(Doc().set("summary", "[[[[[[[[[1]]]]]]]]]").json()) == "manifest-not-json");
}

TEST_CASE("manifest: format") {
  CHECK(code_of(Doc().drop("format").json()) == "manifest-format-unknown");
  CHECK(code_of(Doc().set("format", R"("knooppunt-signal/2")").json()) ==
        "manifest-format-unknown");
  CHECK(code_of(Doc().set("format", R"("knooppunt-request/1")").json()) ==
        "manifest-format-unknown");
  CHECK(code_of(Doc().set("format", "1").json()) == "manifest-format-unknown");
  CHECK(code_of(Doc().set("format", "null").json()) == "manifest-format-unknown");
  CHECK(code_of("{}") == "manifest-format-unknown");
}

TEST_CASE("manifest: repeated keys are refused, at every level") {
  std::string top = Doc().json();
  top.insert(1, R"("estimated_damage_eur": 1, )");
  CHECK(code_of(top) == "manifest-key-duplicate");
  CHECK(detail_of(top).find("estimated_damage_eur") != std::string::npos);
  CHECK(code_of(Doc()
                    .set("provider", R"({"kvk": "12345678", "kvk": "87654321", "name": "Zorg BV"})")
                    .json()) == "manifest-key-duplicate");
  CHECK(
      code_of(Doc()
                  .set("files",
                       R"([{"name": "files/a.pdf", "name": "files/b.pdf", "size": 1, "sha256": ")" +
                           kHash + R"("}])")
                  .json()) == "manifest-key-duplicate");
  // The same key in two different objects is fine.
  CHECK(code_of(Doc()
                    .set("files", "[" + file_json(R"("files/a.pdf")") + "," +
                                      file_json(R"("files/b.pdf")") + "]")
                    .json()) == "");
}

TEST_CASE("manifest: unknown fields are refused, at every level") {
  CHECK(code_of(Doc().set("provder", "{}").json()) == "manifest-field-unknown");
  CHECK(detail_of(Doc().set("provder", "{}").json()).find("provder") != std::string::npos);
  CHECK(code_of(Doc().set("Summary", R"("x")").json()) == "manifest-field-unknown");
  CHECK(
      code_of(
          Doc().set("provider", R"({"kvk": "12345678", "kvkk": "1", "name": "Zorg BV"})").json()) ==
      "manifest-field-unknown");
  CHECK(
      detail_of(
          Doc().set("provider", R"({"kvk": "12345678", "kvkk": "1", "name": "Zorg BV"})").json()) ==
      "provider.kvkk is not a field of knooppunt-signal/1");
  CHECK(code_of(Doc()
                    .set("period", R"({"from": "2026-01-01", "until": "2026-06-30", "to": "x"})")
                    .json()) == "manifest-field-unknown");
  CHECK(code_of(Doc()
                    .set("files", R"([{"name": "files/a.pdf", "size": 1, "sha256": ")" + kHash +
                                      R"(", "mode": 493}])")
                    .json()) == "manifest-field-unknown");
  // A key that is not a plain name is not echoed.
  std::string odd = Doc().set("111222333 x", "1").json();
  CHECK(code_of(odd) == "manifest-field-unknown");
  CHECK(detail_of(odd).find("111222333") == std::string::npos);
}

TEST_CASE("manifest: every required field, when missing, is named") {
  for (const char* f : {"kind", "municipality", "submitted_by", "created", "provider", "domain",
                        "period", "irregularity", "estimated_damage_eur", "clients_affected",
                        "health_risk", "summary", "files"}) {
    CAPTURE(f);
    std::string text = Doc().drop(f).json();
    CHECK(code_of(text) == "manifest-field-missing");
    CHECK(detail_of(text) == std::string(f) + " is missing");
  }
  CHECK(detail_of(Doc().set("provider", R"({"agb": "01234567", "name": "Zorg BV"})").json()) ==
        "provider.kvk is missing");
  CHECK(detail_of(Doc().set("provider", R"({"kvk": "12345678"})").json()) ==
        "provider.name is missing");
  CHECK(detail_of(Doc().set("period", R"({"from": "2026-01-01"})").json()) ==
        "period.until is missing");
  CHECK(detail_of(Doc().set("files", R"([{"name": "files/a.pdf", "size": 1}])").json()) ==
        "files[0].sha256 is missing");
  CHECK(detail_of(Doc().set("files", R"([{"sha256": ")" + kHash + R"(", "size": 1}])").json()) ==
        "files[0].name is missing");
  CHECK(detail_of(Doc()
                      .set("files", R"([{"name": "files/a.pdf", "sha256": ")" + kHash + R"("}])")
                      .json()) == "files[0].size is missing");
}

TEST_CASE("manifest: amounts are whole, non-negative numbers without quotes") {
  for (const char* bad :
       {R"("125000")", "125000.0", "1.5", "1e3", "-1", "-0.5", "true", "false", "null", "[]", "{}",
        "9223372036854775808", "18446744073709551616", "18446744073709551617",
        "99999999999999999999999999", "-9223372036854775809", "1000000000001"}) {
    CAPTURE(std::string(bad));
    std::string text = Doc().set("estimated_damage_eur", bad).json();
    CHECK(code_of(text) == "manifest-field-invalid");
    CHECK(detail_of(text).find("estimated_damage_eur") != std::string::npos);
    CHECK(code_of(Doc().set("clients_affected", bad).json()) == "manifest-field-invalid");
  }
  // 2^64 must not wrap to 0 and pass.
  CHECK(detail_of(Doc().set("estimated_damage_eur", "18446744073709551616").json()) ==
        "estimated_damage_eur holds a number out of range");
  CHECK(code_of(Doc().set("clients_affected", "100000001").json()) == "manifest-field-invalid");
  CHECK(code_of(Doc().set("clients_affected", "100000000").json()) == "");
  CHECK(code_of(Doc().set("estimated_damage_eur", "1000000000000").json()) == "");
  // File sizes too.
  for (const char* bad : {R"("1")", "1.0", "-1", "18446744073709551616", "true"}) {
    CAPTURE(bad);
    CHECK(code_of(Doc().set("files", "[" + file_json(R"("files/a.pdf")", bad) + "]").json()) ==
          "manifest-field-invalid");
  }
  auto big = parse_manifest(
      Doc().set("files", "[" + file_json(R"("files/a.pdf")", "9223372036854775807") + "]").json());
  REQUIRE(big.ok());
  CHECK(big->files[0].size == 9223372036854775807ULL);
}

TEST_CASE("manifest: enumerations, identifiers, timestamps and texts") {
  auto invalid = [](const kp::testing::JsonDoc& d) {
    return code_of(d.json()) == "manifest-field-invalid";
  };
  CHECK(invalid(Doc().set("domain", R"("wmo")")));
  CHECK(invalid(Doc().set("domain", R"("Zorg")")));
  CHECK(invalid(Doc().set("domain", "3")));
  CHECK(invalid(Doc().set("health_risk", R"("medium")")));
  CHECK(invalid(Doc().set("health_risk", R"("HIGH")")));
  CHECK(invalid(Doc().set("health_risk", "true")));
  CHECK(invalid(Doc().set("municipality", R"("gm0363")")));
  CHECK(invalid(Doc().set("municipality", R"("GM363")")));
  CHECK(invalid(Doc().set("municipality", "363")));
  CHECK(invalid(Doc().set("submitted_by", R"("J.Jansen")")));
  CHECK(invalid(Doc().set("submitted_by", R"("j.jansen@GM0363")")));
  CHECK(invalid(Doc().set("submitted_by", R"("")")));
  for (const char* t :
       {"2026-11-22T10:15:00", "2026-11-22T10:15:00+01:00", "2026-11-22T10:15:00+00:00",
        "2026-11-22 10:15:00Z", "2026-11-22t10:15:00z", "2026-02-30T10:15:00Z",
        "2026-11-22T24:00:00Z", "2026-11-22T10:60:00Z", "2026-11-22T10:15:60Z",
        "2026-11-22T10:15:00.Z", "2026-11-22T10:15:00.1234567890Z", "2026-11-22", ""}) {
    CAPTURE(t);
    CHECK(invalid(Doc().set("created", std::string("\"") + t + "\"")));
  }
  CHECK(invalid(Doc().set("created", "20261122")));
  CHECK(invalid(Doc().set("summary", R"("")")));
  CHECK(invalid(Doc().set("summary", R"("   \n ")")));
  CHECK(invalid(Doc().set("summary", R"("bell \u0007")")));
  CHECK(invalid(Doc().set("summary", R"("nul \u0000 byte")")));
  CHECK(invalid(Doc().set("summary", "\"" + std::string(10001, 'x') + "\"")));
  CHECK(code_of(Doc().set("summary", "\"" + std::string(10000, 'x') + "\"").json()) == "");
  CHECK(invalid(Doc().set("summary", "42")));
  CHECK(invalid(Doc().set("summary", R"(["free", "text"])")));
  CHECK(invalid(Doc().set("irregularity", R"("two\nlines")")));
  CHECK(invalid(Doc().set("irregularity", "\"" + std::string(1001, 'x') + "\"")));
  CHECK(invalid(Doc().set("provider", R"({"kvk": "12345678", "name": "Zorg \u202eVB"})")));
  CHECK(invalid(
      Doc().set("provider", R"({"kvk": "12345678", "name": ")" + std::string(201, 'x') + R"("})")));
  CHECK(invalid(Doc().set("provider", R"({"kvk": "12345678", "name": ""})")));
  CHECK(invalid(Doc().set("provider", R"("Zorg BV")")));
  CHECK(invalid(Doc().set("provider", "null")));
  CHECK(invalid(Doc().set("provider", R"([{"kvk": "12345678", "name": "Zorg BV"}])")));
  CHECK(invalid(Doc().set("files", R"({"name": "files/a.pdf"})")));
  CHECK(invalid(Doc().set("files", R"(["files/a.pdf"])")));
  CHECK(invalid(Doc().set("files", "null")));
  CHECK(invalid(Doc().set("bsns", R"("111222333")")));
  CHECK(invalid(
      Doc().set("files", "[" + file_json(R"("files/a.pdf")", "1", std::string(64, 'A')) + "]")));
  CHECK(invalid(
      Doc().set("files", "[" + file_json(R"("files/a.pdf")", "1", std::string(63, 'a')) + "]")));
  CHECK(invalid(
      Doc().set("files", "[" + file_json(R"("files/a.pdf")", "1", std::string(64, 'g')) + "]")));
  CHECK(invalid(Doc().set("files", "[" + file_json("42") + "]")));
}

TEST_CASE("manifest: KvK and AGB") {
  auto provider = [](const std::string& kvk, const std::string& agb) {
    return Doc()
        .set("provider", R"({"kvk": )" + kvk + R"(, "agb": )" + agb + R"(, "name": "Zorg BV"})")
        .json();
  };
  CHECK(code_of(provider(R"("1234567")", "null")) == "manifest-kvk-invalid");
  CHECK(code_of(provider(R"("123456789")", "null")) == "manifest-kvk-invalid");
  CHECK(code_of(provider(R"("1234567a")", "null")) == "manifest-kvk-invalid");
  CHECK(code_of(provider(R"("")", "null")) == "manifest-kvk-invalid");
  CHECK(detail_of(provider(R"("1234567")", "null")) == "provider.kvk must be 8 digits");
  CHECK(code_of(provider("12345678", "null")) == "manifest-field-invalid");
  CHECK(code_of(provider(R"("12345678")", R"("0123456")")) == "manifest-agb-invalid");
  CHECK(code_of(provider(R"("12345678")", R"("AGB01234")")) == "manifest-agb-invalid");
  CHECK(code_of(provider(R"("12345678")", "1234567")) == "manifest-field-invalid");
  CHECK(code_of(provider(R"("12345678")", R"("01234567")")) == "");
}

TEST_CASE("manifest: BSNs pass the 11-test and are never echoed") {
  const std::string bad = "123456789";  // fails the 11-test
  std::string text = Doc().set("bsns", R"(["111222333", ")" + bad + R"("])").json();
  CHECK(code_of(text) == "manifest-bsn-invalid");
  CHECK(detail_of(text).find("bsns[1]") != std::string::npos);
  CHECK(detail_of(text).find(bad) == std::string::npos);
  CHECK(detail_of(text).find("111222333") == std::string::npos);
  for (const char* b : {R"("000000000")", R"("11122233")", R"("1112223330")", R"("11122233a")",
                        R"("")", "111222333", "null", "[]", R"(" 111222333")"}) {
    CAPTURE(b);
    std::string t = Doc().set("bsns", std::string("[") + b + "]").json();
    CHECK(code_of(t) == "manifest-bsn-invalid");
    CHECK(detail_of(t).find("111222333") == std::string::npos);
  }
  ManifestLimits lim;
  lim.max_bsns = 2;
  CHECK(code_of(Doc().set("bsns", R"(["111222333", "123456782", "111222333"])").json(), lim) ==
        "manifest-too-many-bsns");
  CHECK(code_of(Doc().set("bsns", R"(["111222333", "123456782"])").json(), lim) == "");
}

TEST_CASE("manifest: period") {
  auto period = [](const std::string& from, const std::string& until) {
    return code_of(
        Doc().set("period", R"({"from": )" + from + R"(, "until": )" + until + "}").json());
  };
  CHECK(period(R"("2026-07-01")", R"("2026-06-30")") == "manifest-period-invalid");
  CHECK(period(R"("2026-13-01")", R"("2026-12-31")") == "manifest-period-invalid");
  CHECK(period(R"("2025-02-29")", R"("2025-12-31")") == "manifest-period-invalid");
  CHECK(period(R"("1900-02-29")", R"("2025-12-31")") == "manifest-period-invalid");
  CHECK(period(R"("2026-01-00")", R"("2026-12-31")") == "manifest-period-invalid");
  CHECK(period(R"("2026-1-1")", R"("2026-12-31")") == "manifest-period-invalid");
  CHECK(period(R"("01-01-2026")", R"("2026-12-31")") == "manifest-period-invalid");
  CHECK(period(R"("2026-01-01T00:00:00Z")", R"("2026-12-31")") == "manifest-period-invalid");
  CHECK(period("20260101", R"("2026-12-31")") == "manifest-period-invalid");
  CHECK(period(R"("2026-01-01")", "null") == "manifest-field-invalid");
  CHECK(period(R"("2000-02-29")", R"("2026-12-31")") == "");
  CHECK(code_of(Doc().set("period", R"("2026")").json()) == "manifest-field-invalid");
}

TEST_CASE("manifest: file names") {
  for (const std::string& name : {
           std::string(R"("rapport.pdf")"),
           std::string(R"("files/")"),
           std::string(R"("files")"),
           std::string(R"("")"),
           std::string(R"("files/../etc/passwd")"),
           std::string(R"("../files/a.pdf")"),
           std::string(R"("/files/a.pdf")"),
           std::string(R"("files//a.pdf")"),
           std::string(R"("files/a.pdf/")"),
           std::string(R"("files/./a.pdf")"),
           std::string(R"("./files/a.pdf")"),
           std::string(R"("files\\a.pdf")"),
           std::string(R"("files/a\u0000.pdf")"),
           std::string(R"("files/a\n.pdf")"),
           std::string(R"("files/\u202efdp.exe")"),
           std::string(R"("Files/a.pdf")"),
           "\"files/" + std::string(250, 'a') + "\"",
       }) {
    CAPTURE(name);
    CHECK(code_of(Doc().set("files", "[" + file_json(name) + "]").json()) ==
          "manifest-file-name-invalid");
  }
  CHECK(code_of(Doc()
                    .set("files", "[" + file_json("\"files/" + std::string(249, 'a') + "\"") + "]")
                    .json()) == "");
}

TEST_CASE("manifest: duplicate files and too many files") {
  const std::string a = file_json(R"("files/a.pdf")");
  std::string dup =
      Doc().set("files", "[" + a + "," + file_json(R"("files/b.pdf")") + "," + a + "]").json();
  CHECK(code_of(dup) == "manifest-file-duplicate");
  CHECK(detail_of(dup) == "files[2].name repeats files[0].name");
  // A file and a folder of the same name.
  CHECK(code_of(Doc()
                    .set("files", "[" + file_json(R"("files/a")") + "," +
                                      file_json(R"("files/a/b.pdf")") + "]")
                    .json()) == "manifest-file-duplicate");
  // Case differs: two distinct names.
  CHECK(code_of(Doc().set("files", "[" + a + "," + file_json(R"("files/A.pdf")") + "]").json()) ==
        "");

  ManifestLimits lim;
  lim.max_files = 2;
  std::string three =
      "[" + a + "," + file_json(R"("files/b.pdf")") + "," + file_json(R"("files/c.pdf")") + "]";
  CHECK(code_of(Doc().set("files", three).json(), lim) == "manifest-too-many-files");
  lim.max_files = 3;
  CHECK(code_of(Doc().set("files", three).json(), lim) == "");
}

TEST_CASE("manifest: context -- municipality and submitter must match the upload") {
  auto r = parse_manifest(Doc().json());
  REQUIRE(r.ok());
  CHECK(check_manifest_context(*r, "GM0363", "j.jansen").ok());
  auto s = check_manifest_context(*r, "GM0014", "j.jansen");
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == "manifest-municipality-mismatch");
  s = check_manifest_context(*r, "GM0363", "p.pietersen");
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == "manifest-submitter-mismatch");
  CHECK(check_manifest_context(*r, "", "").error().code == "manifest-municipality-mismatch");
}

TEST_CASE("manifest: refusals never repeat free texts") {
  // A summary that carries a BSN-like number and a name; break a later field.
  std::string text = Doc()
                         .set("summary", R"("client 111222333 Jan Jansen")")
                         .set("irregularity", R"("Jan Jansen 111222333")")
                         .set("files", "[" + file_json(R"("files/jan-111222333/../x.pdf")") + "]")
                         .json();
  CHECK(code_of(text) == "manifest-file-name-invalid");
  CHECK(detail_of(text).find("111222333") == std::string::npos);
  CHECK(detail_of(text).find("Jansen") == std::string::npos);
  // Poco's own messages are filtered too.
  std::string junk = R"({"format": "knooppunt-signal/1", "a": 111222333111222333111222333})";
  CHECK(code_of(junk) != "");
  CHECK(detail_of(junk).find("111222333") == std::string::npos);
}

TEST_CASE("manifest: syntax helpers") {
  CHECK(valid_date("2026-01-01"));
  CHECK(valid_date("2024-02-29"));
  CHECK(valid_date("2000-02-29"));
  CHECK_FALSE(valid_date("2100-02-29"));
  CHECK_FALSE(valid_date("0000-01-01"));
  CHECK_FALSE(valid_date("2026-04-31"));
  CHECK_FALSE(valid_date("2026-01-01 "));
  CHECK_FALSE(valid_date("2026/01/01"));
  CHECK(valid_utc_timestamp("2026-11-22T10:15:00Z"));
  CHECK(valid_utc_timestamp("2026-11-22T23:59:59.999999999Z"));
  CHECK_FALSE(valid_utc_timestamp("2026-11-22T10:15:00ZZ"));
  CHECK_FALSE(valid_utc_timestamp("2026-11-22T10:15:00.12a4Z"));
  CHECK(valid_sha256_hex(std::string(64, 'f')));
  CHECK_FALSE(valid_sha256_hex(std::string(65, 'f')));
  CHECK(parse_domain("Jeugdwet") == Domain::Jeugdwet);
  CHECK_FALSE(parse_domain("jeugdwet"));
  CHECK(kind_name(Kind::enrichment_response) == "enrichment-response");
  CHECK(health_risk_name(HealthRisk::low) == "low");
}

// Keeps docs/schemas/*.schema.json (what a municipality reads) and
// policy/manifest.cpp (what the gateway enforces) in step: the same fields,
// the same required ones, the same enumerations and limits; every pattern
// agrees with the C++ check on a set of samples; the schema's example parses;
// dropping a required field is refused and dropping an optional one is not.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <doctest/doctest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "policy/identifiers.h"
#include "policy/manifest.h"

using namespace kp::policy;
using Poco::JSON::Array;
using Poco::JSON::Object;

namespace {

Object::Ptr load_schema(const std::string& name) {
  std::ifstream in(std::string(KP_SOURCE_DIR) + "/docs/schemas/" + name);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  Poco::JSON::Parser p;
  return p.parse(text.str()).extract<Object::Ptr>();
}

template <typename Range>
std::set<std::string> as_set(const Range& r) {
  std::set<std::string> out;
  for (const auto& s : r) out.insert(std::string(s));
  return out;
}

std::set<std::string> keys(const Object::Ptr& o) {
  std::set<std::string> out;
  for (const auto& [k, v] : *o) out.insert(k);
  return out;
}

std::set<std::string> strings(const Array::Ptr& a) {
  std::set<std::string> out;
  for (std::size_t i = 0; i < a->size(); ++i) out.insert(a->getElement<std::string>(static_cast<unsigned>(i)));
  return out;
}

Object::Ptr props(const Object::Ptr& schema) { return schema->getObject("properties"); }

// The pattern of a schema property agrees with `check` on every sample.
template <typename Check>
void same_verdicts(const Object::Ptr& property, Check check, const std::vector<std::string>& samples) {
  const std::regex re(property->getValue<std::string>("pattern"), std::regex::ECMAScript);
  for (const std::string& s : samples) {
    CAPTURE(s);
    CHECK(std::regex_search(s, re) == check(s));
  }
}

std::string stringify(const Object::Ptr& o) {
  std::ostringstream out;
  o->stringify(out);
  return out.str();
}

}  // namespace

TEST_CASE("manifest schema: signal fields, required fields, enumerations and limits match the parser") {
  auto schema = load_schema("signal.schema.json");
  CHECK(keys(props(schema)) == as_set(kSignalFields));
  CHECK(props(schema)->getObject("format")->getValue<std::string>("const") == kSignalFormat);
  CHECK(keys(props(schema)->getObject("provider")->getObject("properties")) == as_set(kProviderFields));
  CHECK(keys(props(schema)->getObject("period")->getObject("properties")) == as_set(kPeriodFields));
  auto file_item = schema->getObject("$defs")->getObject("files")->getObject("items");
  CHECK(keys(file_item->getObject("properties")) == as_set(kFileFields));
  CHECK(strings(file_item->getArray("required")) == as_set(kFileFields));

  std::set<std::string> optional = {"bsns", "in_reply_to"};
  std::set<std::string> required;
  for (auto f : kSignalFields)
    if (!optional.count(std::string(f))) required.insert(std::string(f));
  CHECK(strings(schema->getArray("required")) == required);
  CHECK(strings(props(schema)->getObject("provider")->getArray("required")) ==
        std::set<std::string>{"kvk", "name"});

  std::vector<std::string> domains, risks, kinds;
  for (Domain d : {Domain::Wmo, Domain::Jeugdwet, Domain::Wlz, Domain::Zvw, Domain::other})
    domains.emplace_back(domain_name(d));
  for (HealthRisk h : {HealthRisk::none, HealthRisk::low, HealthRisk::high}) risks.emplace_back(health_risk_name(h));
  for (Kind k : {Kind::signal, Kind::enrichment_response}) kinds.emplace_back(kind_name(k));
  CHECK(strings(props(schema)->getObject("domain")->getArray("enum")) == as_set(domains));
  CHECK(strings(props(schema)->getObject("health_risk")->getArray("enum")) == as_set(risks));
  CHECK(strings(props(schema)->getObject("kind")->getArray("enum")) == as_set(kinds));

  const ManifestLimits lim;
  auto max_of = [&](const char* field, const char* what) {
    return props(schema)->getObject(field)->getValue<int64_t>(what);
  };
  CHECK(max_of("summary", "maxLength") == lim.max_summary_chars);
  CHECK(max_of("irregularity", "maxLength") == lim.max_irregularity_chars);
  CHECK(max_of("estimated_damage_eur", "maximum") == lim.max_damage_eur);
  CHECK(max_of("clients_affected", "maximum") == lim.max_clients);
  CHECK(max_of("bsns", "maxItems") == lim.max_bsns);
  CHECK(props(schema)->getObject("provider")->getObject("properties")->getObject("name")->getValue<int64_t>(
            "maxLength") == lim.max_name_chars);
  CHECK(schema->getObject("$defs")->getObject("files")->getValue<int64_t>("maxItems") == lim.max_files);
  CHECK(file_item->getObject("properties")->getObject("name")->getValue<int64_t>("maxLength") ==
        lim.max_file_name_bytes);
}

TEST_CASE("manifest schema: every pattern agrees with the parser's check") {
  auto schema = load_schema("signal.schema.json");
  same_verdicts(props(schema)->getObject("municipality"), [](const std::string& s) { return valid_municipality_code(s); },
                {"GM0363", "GM036", "GM03633", "gm0363", "XM0363", "GM03a3", ""});
  same_verdicts(props(schema)->getObject("submitted_by"), [](const std::string& s) { return valid_account_id(s); },
                {"j.jansen", "a", "J.jansen", ".jansen", "j jansen", "j_jansen-2", std::string(64, 'a'),
                 std::string(65, 'a'), ""});
  same_verdicts(props(schema)->getObject("created"), [](const std::string& s) { return valid_utc_timestamp(s); },
                {"2026-11-22T10:15:00Z", "2026-11-22T10:15:00.123456789Z", "2026-11-22T10:15:00.Z",
                 "2026-11-22T10:15:00.1234567890Z", "2026-11-22 10:15:00Z", "2026-11-22T10:15:00+01:00",
                 "2026-11-22T10:15Z"});
  same_verdicts(props(schema)->getObject("in_reply_to"), [](const std::string& s) { return valid_request_id(s); },
                {"KP-2026-000042-R1", "a", "-a", "a b", std::string(128, 'x'), std::string(129, 'x'), ""});
  auto provider = props(schema)->getObject("provider")->getObject("properties");
  same_verdicts(provider->getObject("kvk"), [](const std::string& s) { return valid_kvk(s); },
                {"12345678", "1234567", "123456789", "1234567a"});
  same_verdicts(provider->getObject("agb"), [](const std::string& s) { return valid_agb(s); },
                {"01234567", "0123456", "0123456x"});
  auto file_props = schema->getObject("$defs")->getObject("files")->getObject("items")->getObject("properties");
  same_verdicts(file_props->getObject("sha256"), [](const std::string& s) { return valid_sha256_hex(s); },
                {std::string(64, 'a'), std::string(64, 'A'), std::string(63, 'a'), std::string(65, 'a')});
  auto sip = load_schema("sip.schema.json");
  same_verdicts(props(sip)->getObject("case"), [](const std::string& s) { return valid_case_id(s); },
                {"KP-2026-000042", "KP-2026-00042", "kp-2026-000042", "KP-26-000042"});
}

TEST_CASE("manifest schema: the signal example parses; required fields are required, optional ones are not") {
  auto schema = load_schema("signal.schema.json");
  auto example = schema->getArray("examples")->getObject(0);
  REQUIRE(parse_manifest(stringify(example)).ok());
  std::set<std::string> required = strings(schema->getArray("required"));
  for (auto field : kSignalFields) {
    const std::string f(field);
    CAPTURE(f);
    Object::Ptr copy = new Object(*example);
    copy->remove(f);
    auto r = parse_manifest(stringify(copy));
    CHECK(r.ok() == !required.count(f));
    copy->set("not_a_field", 1);
    if (!required.count(f)) CHECK(parse_manifest(stringify(copy)).error().code == "manifest-field-unknown");
  }
}

TEST_CASE("manifest schema: SIP and request fields, required fields and examples match the parser") {
  for (auto [file, fields, format] :
       {std::tuple{"sip.schema.json", as_set(kSipFields), kSipFormat},
        std::tuple{"request.schema.json", as_set(kRequestFields), kRequestFormat}}) {
    CAPTURE(file);
    auto schema = load_schema(file);
    CHECK(keys(props(schema)) == fields);
    CHECK(props(schema)->getObject("format")->getValue<std::string>("const") == format);
    auto example = schema->getArray("examples")->getObject(0);
    REQUIRE(parse_hub_manifest(stringify(example)).ok());
    std::set<std::string> required = strings(schema->getArray("required"));
    for (const std::string& f : fields) {
      CAPTURE(f);
      Object::Ptr copy = new Object(*example);
      if (!copy->has(f)) continue;
      copy->remove(f);
      CHECK(parse_hub_manifest(stringify(copy)).ok() == !required.count(f));
    }
    for (const std::string& f : fields) {
      if (required.count(f) || example->has(f)) continue;
      // An optional field the example leaves out: the schema allows it.
      CHECK((f == "id" || f == "published" || f == "summary"));
    }
  }
}

// Unit tests for cli/backup_manifest.h and cli/backup_set.h: a manifest
// reads back as written (names with tabs, newlines and '%' included); one
// cut short, edited, with an unknown line, an unsafe path or a link to a
// file it does not list is refused with the reason; a tree is described
// with hard links as links and checked against its manifest (a file
// missing, changed or added is named). And where a backup looks for each
// file the database names, by the row's state.
#include "cli/backup_manifest.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "cli/backup_set.h"
#include "tests/support/temp_dir.h"

using namespace kp;
using namespace kp::cli;

namespace {

Manifest sample() {
  Manifest m;
  m.created_ms = 1796611446504;
  m.schema = 18;
  m.entries.push_back({'d', "boxes", 0700, 0, {}, {}});
  m.entries.push_back({'f', "boxes/a\tb%c\nd.age", 0600, 3, std::string(64, 'a'), {}});
  m.entries.push_back({'l', "queue/x", 0, 0, {}, "boxes/a\tb%c\nd.age"});
  return m;
}

void write(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

std::string code_of(const Result<Manifest>& r) { return r.ok() ? "ok" : r.error().code; }

}  // namespace

TEST_CASE("backup manifest: reads back as written") {
  const std::string text = format_manifest(sample());
  auto m = parse_manifest(text);
  REQUIRE_MESSAGE(m.ok(), m.error().message());
  CHECK(m->created_ms == 1796611446504);
  CHECK(m->schema == 18);
  REQUIRE(m->entries.size() == 3);
  CHECK(m->entries == sample().entries);
  CHECK(text.find("a%09b%25c%0Ad.age") != std::string::npos);
}

TEST_CASE("backup manifest: refuses what is cut, edited or unsafe") {
  const std::string text = format_manifest(sample());
  // Cut: without its end line, or in the middle of a line.
  CHECK(code_of(parse_manifest(text.substr(0, text.rfind("end\t")))) == "backup-incomplete");
  CHECK(code_of(parse_manifest(text.substr(0, text.size() - 5))) == "backup-incomplete");
  CHECK(code_of(parse_manifest("")) == "backup-incomplete");
  // Edited: the checksum no longer matches.
  std::string edited = text;
  edited.replace(edited.find("\t0600\t"), 6, "\t0644\t");
  CHECK(code_of(parse_manifest(edited)) == "backup-invalid");
  // Anything after the end line, or not the format at all.
  CHECK(code_of(parse_manifest(text + "f\t0600\t1\t" + std::string(64, 'b') + "\tx\n")) == "backup-invalid");
  CHECK(code_of(parse_manifest("not a manifest\n")) == "backup-invalid");
  // Unsafe paths and dangling links, even with a matching checksum.
  for (const char* bad : {"../escape", "/etc/passwd", "a//b", "a/./b", ""}) {
    Manifest m = sample();
    m.entries[1].path = bad;
    m.entries[2].link_to = bad;
    CAPTURE(bad);
    CHECK(code_of(parse_manifest(format_manifest(m))) == "backup-invalid");
  }
  Manifest dangling = sample();
  dangling.entries[2].link_to = "boxes/other";
  CHECK(code_of(parse_manifest(format_manifest(dangling))) == "backup-invalid");
}

TEST_CASE("backup manifest: describes a tree and checks it") {
  testing::TempDir dir;
  const std::string d = dir.path();
  REQUIRE(::mkdir((d + "/inbox").c_str(), 0700) == 0);
  REQUIRE(::mkdir((d + "/queue").c_str(), 0700) == 0);
  write(d + "/inbox/u.age", "upload");
  REQUIRE(::link((d + "/inbox/u.age").c_str(), (d + "/queue/u.age").c_str()) == 0);
  write(d + "/" + kManifestName, "ignored");
  auto entries = describe_tree(d, {{"inbox/u.age", 0640}});
  REQUIRE_MESSAGE(entries.ok(), entries.error().message());
  REQUIRE(entries->size() == 4);
  CHECK((*entries)[1].path == "inbox/u.age");
  CHECK((*entries)[1].mode == 0640);
  CHECK((*entries)[1].size == 6);
  CHECK((*entries)[3].type == 'l');
  CHECK((*entries)[3].link_to == "inbox/u.age");
  Manifest m;
  m.entries = *entries;
  CHECK(verify_tree(d, m).ok());

  SUBCASE("a changed file") {
    write(d + "/inbox/u.age", "uploaD");
    auto s = verify_tree(d, m);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == "backup-file-damaged");
  }
  SUBCASE("an added file") {
    write(d + "/queue/extra", "x");
    auto s = verify_tree(d, m);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == "backup-unexpected-file");
  }
  SUBCASE("a missing file") {
    REQUIRE(::unlink((d + "/inbox/u.age").c_str()) == 0);
    auto s = verify_tree(d, m);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == "backup-file-missing");
  }
  SUBCASE("a hard link copied as a file with the same bytes is still the backup") {
    REQUIRE(::unlink((d + "/queue/u.age").c_str()) == 0);
    write(d + "/queue/u.age", "upload");
    CHECK(verify_tree(d, m).ok());
  }
  SUBCASE("a symbolic link is no part of a backup") {
    REQUIRE(::symlink("/etc/passwd", (d + "/queue/evil").c_str()) == 0);
    auto s = verify_tree(d, m);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == "backup-unsupported-file");
  }
}

TEST_CASE("backup set: where each file the database names is looked for") {
  store::StoredFile received;
  received.source = "upload";
  received.id = 7;
  received.municipality = "GM0363";
  received.name = "s.age";
  received.partial_name = "p7";
  received.state = "received";
  received.size = 10;
  received.sha256 = std::string(64, 'a');
  store::StoredFile accepted = received;
  accepted.state = "accepted";
  store::StoredFile kase;
  kase.source = "case";
  kase.key = "KP-2026-000001";
  kase.name = "rank-050-GM0363-KP-2026-000001-20261207.age";
  kase.upload_id = 7;
  store::StoredFile acked;
  acked.source = "outbox";
  acked.id = 3;
  acked.municipality = "GM0363";
  acked.name = "s.age.receipt.json";
  acked.kind = "receipt";
  acked.placed = acked.acknowledged = true;
  acked.archived_name = "s.age.receipt.json.1";

  auto refs = file_refs({received, accepted, kase, acked});
  REQUIRE_MESSAGE(refs.ok(), refs.error().message());
  auto froms = [](const FileRef& r) {
    std::string out;
    for (const auto& c : r.candidates) out += c.from + ">" + c.to + " ";
    return out;
  };
  REQUIRE(refs->size() == 7);
  // Not judged yet: the inbox, or still partial, or rejected since (back to the inbox).
  CHECK(froms((*refs)[0]) ==
        "boxes/GM0363/inbox/s.age>boxes/GM0363/inbox/s.age boxes/GM0363/partial/p7>boxes/GM0363/partial/p7 "
        "quarantine/GM0363-7-s.age>boxes/GM0363/inbox/s.age ");
  CHECK((*refs)[0].sha256 == std::string(64, 'a'));
  CHECK(froms((*refs)[1]) == "boxes/GM0363/inbox/s.age>boxes/GM0363/inbox/s.age ");
  // A queue entry: placed, or still in DATA/work; its payload optional.
  CHECK(froms((*refs)[2]) == "queue/" + kase.name + ">queue/" + kase.name + " work/7.queue.age>work/7.queue.age ");
  CHECK((*refs)[2].required);
  CHECK_FALSE((*refs)[3].required);
  // An acknowledged receipt in the archive, its signature wherever it is.
  CHECK(froms((*refs)[4]) ==
        "boxes/GM0363/archive/s.age.receipt.json.1>boxes/GM0363/archive/s.age.receipt.json.1 ");
  CHECK(froms((*refs)[5]) ==
        "boxes/GM0363/outbox/s.age.receipt.json.minisig>boxes/GM0363/outbox/s.age.receipt.json.minisig "
        "boxes/GM0363/archive/s.age.receipt.json.minisig>boxes/GM0363/archive/s.age.receipt.json.minisig ");
  CHECK_FALSE((*refs)[5].required);
  CHECK(froms((*refs)[6]) ==
        "boxes/GM0363/outbox/s.age.receipt.tlog-proof>boxes/GM0363/outbox/s.age.receipt.tlog-proof "
        "boxes/GM0363/archive/s.age.receipt.tlog-proof>boxes/GM0363/archive/s.age.receipt.tlog-proof ");
  // Placed, not acknowledged: in the outbox, or acknowledged since (back to the outbox).
  acked.acknowledged = false;
  auto placed = file_refs({acked});
  REQUIRE(placed.ok());
  CHECK(froms((*placed)[0]) ==
        "boxes/GM0363/outbox/s.age.receipt.json>boxes/GM0363/outbox/s.age.receipt.json "
        "boxes/GM0363/archive/s.age.receipt.json>boxes/GM0363/outbox/s.age.receipt.json ");

  store::StoredFile hostile = received;
  hostile.name = "../../etc/passwd";
  auto bad = file_refs({hostile});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == "backup-unsafe-name");
}

// `knooppunt sip publish` and `knooppunt request send`: the hub's answers
// made on the gateway host. They build the same sealed submission a staff
// member would upload to /outgoing -- manifest signed with the hub key
// (submitter "hub"), sealed to the gateway's intake recipient -- and commit
// it the same way an SFTP upload commits. A worker then publishes it exactly
// like a staff upload: one way to publish, whoever sends.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <iostream>
#include <sstream>

#include "cli/context.h"
#include "cli/handlers.h"
#include "common/digest.h"
#include "common/log.h"
#include "common/confine.h"
#include "gateway/principal.h"
#include "gateway/upload.h"
#include "gateway/view.h"
#include "keys/age.h"
#include "keys/keystore.h"
#include "policy/manifest.h"
#include "store/cases.h"
#include "store/registry.h"
#include "workers/package.h"

namespace kp::cli {

namespace {

Result<std::string> sha256_of_file(int dirfd, const std::string& name) {
  KP_TRY(Fd fd, confine::open_beneath(dirfd, name, O_RDONLY));
  Sha256 hasher;
  std::vector<char> buf(1 << 16);
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    KP_ENSURE(n >= 0, "io-failed", "cannot read back " + name);
    if (n == 0) break;
    hasher.update(buf.data(), static_cast<std::size_t>(n));
  }
  return to_hex(hasher.finish());
}

// Seals `manifest` and `files` as a submission by "hub" and commits it to /outgoing.
Status submit(const Args& a, bool sip, const std::string& text_field, const std::string& text) {
  KP_TRY(DataDir d, data_dir_of(a));
  KP_TRY(store::Db db, open_store(d));
  const std::string case_id = a.get_or("--case", "");
  KP_ENSURE(policy::valid_case_id(case_id), "case-id-invalid",
            "--case must be a case id (KP-YYYY-NNNNNN)");
  KP_TRY(auto c, store::find_case(db, case_id));
  KP_ENSURE(c, "case-unknown", "there is no case " + case_id);
  KP_ENSURE(c->state == "queued" || c->state == "taken", "case-not-open",
            "case " + case_id + " is " + c->state);
  // The worker would refuse it later, asynchronously: refuse it now.
  KP_TRY(auto mun, store::find_municipality(db, c->municipality));
  KP_ENSURE(mun && !mun->recipients.empty(), "municipality-no-recipient",
            "municipality " + c->municipality +
                " has no age recipient registered; add one first (knooppunt municipality recipients " +
                c->municipality + " --set age1...)");
  KP_TRY(std::vector<workers::PackageFile> files, package_files(a.positional));
  KP_TRY(minisign::SecretKey hub, keys::load_hub_key(d));
  if (!keys::public_keys_published(d)) KP_GUARD(keys::publish_public_keys(d));
  KP_TRY(auto pub, keys::public_keys(d));
  KP_TRY(age::PublicKey gateway, age::parse_recipient(pub.intake_recipient));
  int64_t now = log::now_ms();
  Poco::JSON::Object m;
  m.set("format", std::string(sip ? policy::kSipFormat : policy::kRequestFormat));
  m.set("case", case_id);
  m.set("municipality", c->municipality);
  m.set("submitted_by", "hub");
  m.set("created", log::format_iso8601(now));
  m.set(text_field, text);
  if (auto summary = a.get("--summary")) m.set("summary", *summary);
  m.set("files", Poco::JSON::Array());
  std::ostringstream manifest;
  m.stringify(manifest, 2);
  // The manifest must pass the worker's rules; refuse here already.
  KP_TRY(auto parsed, policy::parse_hub_manifest(manifest.str()));
  (void)parsed;

  KP_GUARD(ensure_dir(d.outgoing_partial()));
  gateway::Area area;
  area.name = "outgoing";
  area.can_create = true;
  KP_TRY(area.dir, confine::open_dir(d.outgoing()));
  KP_TRY(area.partial, confine::open_dir(d.outgoing_partial()));
  uint8_t rnd[8];
  randombytes_buf(rnd, sizeof rnd);
  std::string partial_name =
      "cli-" + std::to_string(::getpid()) + "-" + to_hex(rnd, sizeof rnd) + ".part";
  {
    KP_TRY(Fd out, confine::open_beneath(area.partial.get(), partial_name,
                                         O_WRONLY | O_CREAT | O_EXCL, 0600));
    Status sealed = workers::seal_package(manifest.str(), files, hub, {gateway}, out.get());
    if (sealed.ok() && ::fsync(out.get()) != 0)
      sealed = make_error("io-failed", "cannot sync the submission");
    if (!sealed.ok()) {
      (void)confine::unlink_beneath(area.partial.get(), partial_name);
      return sealed.error();
    }
  }
  KP_TRY(struct stat st, confine::stat_beneath(area.partial.get(), partial_name));
  KP_TRY(std::string sha, sha256_of_file(area.partial.get(), partial_name));
  gateway::CommitRequest req;
  req.partial_name = partial_name;
  req.final_name = std::string("hub-") + (sip ? "sip-" : "request-") + case_id + "-" +
                   std::to_string(now) + ".age";
  req.size = st.st_size;
  req.sha256_hex = sha;
  req.channel = "cli";
  gateway::Authority auth(db);
  gateway::Principal p;
  p.role = gateway::Role::staff;
  p.account = "hub";
  p.source = "local";
  auto id = gateway::commit_upload(auth, p, area, req);
  if (!id.ok()) {
    (void)confine::unlink_beneath(area.partial.get(), partial_name);
    return id.error();
  }
  std::cout << "submitted " << req.final_name
            << " to /outgoing; a worker publishes it to the outbox of " << c->municipality
            << " (receipt: " << req.final_name << ".receipt.json)\n";
  return ok_status();
}

}  // namespace

int cmd_sip_publish(const Args& a) {
  auto title = a.get_or("--title", "");
  if (title.empty()) title = "SIP for case " + a.get_or("--case", "");
  Status s = submit(a, true, "title", title);
  return s.ok() ? kExitOk : fail(s.error());
}

int cmd_request_send(const Args& a) {
  auto question = a.get("--question");
  if (!question) return fail(make_error("usage", "--question TEXT is required"));
  Status s = submit(a, false, "question", *question);
  return s.ok() ? kExitOk : fail(s.error());
}

}  // namespace kp::cli

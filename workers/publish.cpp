// Publishing SIPs and enrichment requests; see publish.h.
#include "workers/publish.h"

#include <Poco/JSON/Object.h>
#include <fcntl.h>
#include <unistd.h>

#include <sstream>

#include "audit/log.h"
#include "audit/record.h"
#include "common/log.h"
#include "common/confine.h"
#include "policy/identifiers.h"
#include "store/cases.h"
#include "store/notifications.h"
#include "store/registry.h"
#include "store/submissions.h"
#include "workers/outputs.h"
#include "workers/package.h"
#include "workers/parse_upload.h"
#include "workers/receipt.h"

namespace kp::workers {

namespace {

struct Checked {
  policy::HubManifest manifest;
  std::vector<age::PublicKey> recipients;
  std::string item_id;
  std::string outbox_name;
};

std::string stem_of(const store::Upload& s) {
  return "s" + std::to_string(s.id);
}

// The key that must have signed a submission: the staff member's registered
// one, or the hub key for submissions made on the gateway host.
Result<minisign::PublicKey> signer_key(IntakeContext& ctx, const std::string& submitter) {
  if (submitter == "hub") return ctx.hub_key.public_key();
  KP_TRY(auto account, store::find_account(*ctx.db, submitter));
  KP_ENSURE(account && account->role == "staff" && !account->disabled_ms && account->sign_key, "manifest-signature-invalid",
            "no signing key is registered for staff member " + submitter);
  return minisign::parse_public_key(*account->sign_key);
}

// Everything that decides the verdict, given the opened submission.
Result<Checked> verify(IntakeContext& ctx, const store::Upload& sub, const OpenedPackage& pkg) {
  KP_GUARD(refresh_signing_keys(ctx));
  KP_TRY(minisign::PublicKey pk, signer_key(ctx, sub.person));
  auto verified = minisign::verify(pk, pkg.manifest, pkg.signature);
  // A hub-signed submission made just before `keys rotate --hub`: the
  // replaced key is accepted during its grace period.
  if (!verified.ok() && sub.person == "hub" && ctx.hub_previous_public)
    verified = minisign::verify(*ctx.hub_previous_public, pkg.manifest, pkg.signature);
  if (!verified.ok())
    return make_error("manifest-signature-invalid",
                      "manifest.json.minisig is not a valid signature of manifest.json by " +
                          sub.person + "'s registered key (" + verified.error().code + ")");
  Checked c;
  KP_TRY(c.manifest, policy::parse_hub_manifest(pkg.manifest, ctx.manifest_limits));
  const policy::HubManifest& m = c.manifest;
  KP_ENSURE(!m.id && !m.published, "manifest-field-invalid",
            "id and published are set by the gateway, not by staff");
  KP_ENSURE(
      m.submitted_by == sub.person, "manifest-submitter-mismatch",
      "the manifest names submitter " + m.submitted_by + " but it was uploaded by " + sub.person);
  KP_TRY(auto found, store::find_case(*ctx.db, m.case_id));
  KP_ENSURE(found, "case-unknown", "there is no case " + m.case_id);
  KP_ENSURE(found->municipality == m.municipality, "case-municipality-mismatch",
            "case " + m.case_id + " belongs to another municipality than " + m.municipality);
  KP_ENSURE(found->state == "queued" || found->state == "taken", "case-not-open",
            "case " + m.case_id + " is " + found->state + "; nothing more can be sent for it");
  KP_GUARD(check_files(m.files, pkg));
  KP_TRY(auto mun, store::find_municipality(*ctx.db, m.municipality));
  KP_ENSURE(mun, "case-municipality-mismatch",
            "municipality " + m.municipality + " is not registered");
  for (const auto& r : mun->recipients) {
    auto pk_r = age::parse_recipient(r);
    if (pk_r.ok()) c.recipients.push_back(*pk_r);
  }
  KP_ENSURE(!c.recipients.empty(), "municipality-no-recipient",
            "municipality " + m.municipality +
                " has no age recipient registered; ask the operator to add one");
  const bool sip = m.kind == policy::HubKind::sip;
  KP_TRY(auto items, store::outbox_items_of_case(*ctx.db, m.case_id));
  int n = 1;
  for (const auto& i : items)
    if (i.kind == (sip ? "sip" : "request")) ++n;
  c.item_id = m.case_id + (sip ? "-S" : "-R") + std::to_string(n);
  c.outbox_name = std::string(sip ? "sip-" : "request-") + c.item_id + ".age";
  return c;
}

// The manifest the municipality receives: the staff's, with the item's id
// and publication time, signed by the hub key.
std::string published_manifest(const policy::HubManifest& m, const std::string& item_id,
                               int64_t now_ms) {
  Poco::JSON::Object o;
  const bool sip = m.kind == policy::HubKind::sip;
  o.set("format", std::string(sip ? policy::kSipFormat : policy::kRequestFormat));
  o.set("id", item_id);
  o.set("published", log::format_iso8601(now_ms));
  o.set("case", m.case_id);
  o.set("municipality", m.municipality);
  o.set("submitted_by", m.submitted_by);
  o.set("created", m.created);
  o.set(sip ? "title" : "question", m.text);
  if (m.summary) o.set("summary", *m.summary);
  Poco::JSON::Array files;
  for (const auto& f : m.files) {
    Poco::JSON::Object fo;
    fo.set("name", f.name);
    fo.set("size", static_cast<Poco::UInt64>(f.size));
    fo.set("sha256", f.sha256);
    files.add(fo);
  }
  o.set("files", files);
  std::ostringstream out;
  o.stringify(out, 2);
  out << "\n";
  return out.str();
}

// Second pass, in a second parser child: the same files again, into a
// seal for the municipality, with the manifest the hub signed last. The
// sealed content changes (the hub's manifest and signature are inside),
// so this cannot be a rewrap as the intake's queue entries are.
Status reseal(IntakeContext& ctx, const store::Upload& sub, int in_fd, const OpenedPackage& first,
              const Checked& c, const std::string& manifest, const std::string& signature,
              const std::string& out_path) {
  Fd out(::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  KP_ENSURE(out.valid(), "io-failed", "cannot create " + out_path);
  Reseal r{c.recipients, {{"manifest.json", manifest}, {"manifest.json.minisig", signature}}, out.get()};
  KP_TRY(auto second, parse_upload(ctx, in_fd, sub.size, stem_of(sub), nullptr, &r));
  KP_ENSURE(second.ok(), "io-failed",
            "the submission could not be resealed: " + (second.ok() ? "" : second.error().message()));
  const OpenedPackage& again = *second;
  KP_ENSURE(again.manifest == first.manifest && again.files.size() == first.files.size(),
            "io-failed", "the submission changed while it was read");
  for (const auto& [name, seen] : first.files) {
    auto it = again.files.find(name);
    KP_ENSURE(
        it != again.files.end() && it->second.sha256 == seen.sha256 && it->second.size == seen.size,
        "io-failed", "the submission changed while it was read");
  }
  return ok_status();
}

store::AuditEvent system_event(const store::Upload& s, const std::string& event, const std::string& outcome,
                               std::optional<std::string> reason) {
  return worker_event("publish-worker", "submission", s, event, outcome, std::move(reason));
}

void place_receipts(IntakeContext& ctx) {
  auto receipts = store::unplaced_submission_receipts(*ctx.db);
  if (!receipts.ok()) return;
  for (const auto& r : *receipts) {
    std::string stem = "s" + std::to_string(r.id);
    std::string sig_work = work_path(ctx.data, stem, ".receipt.json.minisig");
    std::string json_work = work_path(ctx.data, stem, ".receipt.json");
    // The signature first, so a receipt is never visible without it.
    // Marked placed only once both files are there; else tried again later.
    Status st = write_work_file(sig_work, r.signature, false);
    if (st.ok()) st = write_work_file(json_work, r.json, false);
    if (st.ok()) st = status_of(place(sig_work, ctx.data.outgoing(), r.name + ".receipt.json.minisig"));
    if (st.ok()) st = status_of(place(json_work, ctx.data.outgoing(), r.name + ".receipt.json"));
    if (st.ok()) st = store::mark_submission_receipt_placed(*ctx.db, r.id);
    if (!st.ok())
      log::event("publish.place_failed",
                 {{"submission", std::to_string(r.id)}, {"what", "receipt"}, {"error", st.error().message()}});
  }
}

}  // namespace

Status process_submission(IntakeContext& ctx, const store::Upload& sub, const std::optional<Error>& give_up) {
  KP_GUARD(ensure_dir(ctx.data.root + "/work"));
  const std::string out_work = work_path(ctx.data, stem_of(sub), ".out.age");
  std::optional<Error> rejection;
  std::optional<Checked> checked;
  int64_t now = log::now_ms();
  if (give_up) rejection = *give_up;
  else {
    KP_TRY(Fd outgoing, confine::open_dir(ctx.data.outgoing()));
    auto in = confine::open_beneath(outgoing.get(), sub.name, O_RDONLY);
    if (!in.ok()) return in.error();  // not placed yet (gateway recovery); retried later
    KP_TRY(auto pkg, parse_upload(ctx, in->get(), sub.size, stem_of(sub), nullptr));
    if (!pkg.ok() && pkg.error().code == "io-failed") return pkg.error();
    if (!pkg.ok()) {
      rejection = pkg.error();
    } else {
      auto v = verify(ctx, sub, *pkg);
      if (!v.ok())
        rejection = v.error();
      else
        checked = std::move(*v);
    }
    if (checked) {
      std::string manifest = published_manifest(checked->manifest, checked->item_id, now);
      KP_TRY(std::string signature, minisign::sign(ctx.hub_key, manifest,
                                                   "knooppunt " + checked->item_id + " for " +
                                                       checked->manifest.municipality,
                                                   "signed by the knooppunt hub key"));
      Status s = reseal(ctx, sub, in->get(), *pkg, *checked, manifest, signature, out_work);
      if (!s.ok()) {
        discard_work_file(out_work);
        return s.error();
      }
    }
  }

  std::vector<store::AuditEvent> events;
  if (give_up) events.push_back(system_event(sub, "publish.gave_up", "failed", give_up->code));
  else events.push_back(system_event(sub, "publish.opened", "success", std::nullopt));
  Receipt r;
  r.upload = sub.name;
  r.sha256 = sub.sha256;
  r.received = iso8601_ms(sub.received_ms);
  r.accepted = !rejection;
  if (rejection) {
    r.reason_code = rejection->code;
    r.reason_text = rejection->detail;
    events.push_back(system_event(sub, "publish.rejected", "refused", r.reason_code));
  } else {
    const auto& m = checked->manifest;
    r.case_id = m.case_id;
    r.reason_code = "accepted";
    r.reason_text = std::string(m.kind == policy::HubKind::sip ? "SIP " : "enrichment request ") +
                    checked->item_id + " was signed, sealed to " + m.municipality +
                    " and placed in its outbox as " + checked->outbox_name;
    auto placed = system_event(sub, "publish.placed", "success", std::nullopt);
    placed.municipality = m.municipality;
    placed.object = "case/" + m.case_id + " " + checked->outbox_name;
    events.push_back(placed);
  }
  events.push_back(system_event(sub, "publish.receipt", "success", r.reason_code));
  std::optional<store::OutboxItem> item;
  Status committed = store::record_submission_verdict(
      *ctx.db, sub.id, ctx.pid, r.accepted, r.reason_code, r.reason_text, events,
      [&](int64_t last_id) -> Status {
        if (checked) {
          store::OutboxItem i;
          i.municipality = checked->manifest.municipality;
          i.name = checked->outbox_name;
          i.kind = checked->manifest.kind == policy::HubKind::sip ? "sip" : "request";
          i.case_id = checked->manifest.case_id;
          i.item_id = checked->item_id;
          i.submission_id = sub.id;
          i.created_ms = now;
          KP_TRY(i.id, store::insert_outbox_item(*ctx.db, i));
          KP_TRY(int queued, store::enqueue_notifications(*ctx.db, i, now));
          (void)queued;
          item = i;
        }
        r.log_index = last_id - 1;
        KP_GUARD(refresh_signing_keys(ctx));
        KP_TRY(auto cp, audit::sign_checkpoint(*ctx.db, ctx.log_key, ctx.log_origin, audit::Persist::when_due,
                                               ctx.log_previous_key ? &*ctx.log_previous_key : nullptr));
        KP_TRY(std::string proof, audit::proof_against(*ctx.db, static_cast<uint64_t>(r.log_index), cp));
        r.proof = proof;
        r.record = audit::canonical_record(events.back(), static_cast<uint64_t>(r.log_index));
        std::string json = receipt_json(r);
        KP_TRY(std::string sig, sign_receipt(ctx.hub_key, r, json));
        return store::set_submission_receipt(*ctx.db, sub.id, json, sig);
      });
  if (!committed.ok()) {
    discard_work_file(out_work);
    return committed.error();
  }
  log::event(r.accepted ? "publish.accepted" : "publish.rejected",
             {{"submission", std::to_string(sub.id)},
              {"reason", r.reason_code},
              {"case", r.case_id ? *r.case_id : ""}});
  if (item) {
    Status placed = place_outbox_item(ctx.data, *ctx.db, *item);
    if (!placed.ok())
      log::event("publish.place_failed", {{"submission", std::to_string(sub.id)}, {"what", item->name},
                                          {"error", placed.error().message()}});
  }
  place_receipts(ctx);
  return ok_status();
}

Status place_outbox_item(const DataDir& d, store::Db& db, const store::OutboxItem& item) {
  KP_ENSURE(policy::valid_municipality_code(item.municipality), "store-failed",
            "bad municipality in outbox item");
  KP_GUARD(ensure_box(d, item.municipality));
  const std::string outbox = d.box(item.municipality) + "/outbox";
  if (item.body && item.signature) {
    const std::string stem = "o" + std::to_string(item.id);
    std::string sig_work = work_path(d, stem, ".minisig");
    std::string body_work = work_path(d, stem, ".json");
    KP_GUARD(ensure_dir(d.root + "/work"));
    KP_GUARD(write_work_file(sig_work, *item.signature, false));
    KP_GUARD(write_work_file(body_work, *item.body, false));
    KP_GUARD(status_of(place(sig_work, outbox, item.name + ".minisig")));
    KP_GUARD(status_of(place(body_work, outbox, item.name)));
  } else if (item.submission_id) {
    KP_GUARD(status_of(place(work_path(d, "s" + std::to_string(*item.submission_id), ".out.age"), outbox, item.name)));
  }
  // Only what is in the outbox is recorded as placed (the store never says
  // more than the disk); an item not placed is tried again.
  return store::mark_outbox_placed(db, item.id, log::now_ms());
}

Status place_hub_outputs(IntakeContext& ctx) {
  KP_TRY(auto items, store::unplaced_outbox_items(*ctx.db));
  for (const auto& i : items)
    if (i.kind != "receipt") {
      Status placed = place_outbox_item(ctx.data, *ctx.db, i);
      if (!placed.ok())
        log::event("publish.place_failed", {{"item", i.name}, {"error", placed.error().message()}});
    }
  place_receipts(ctx);
  return ok_status();
}

}  // namespace kp::workers

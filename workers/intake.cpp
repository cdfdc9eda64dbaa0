// The intake pipeline; see intake.h.
#include "workers/intake.h"
#include "common/dates.h"

#include <fcntl.h>
#include <unistd.h>

#include <Poco/JSON/Object.h>

#include <cerrno>
#include <cmath>
#include <ctime>
#include <map>
#include <set>
#include <sstream>

#include "audit/log.h"
#include "audit/record.h"
#include "common/atomic_file.h"
#include "common/log.h"
#include "common/confine.h"
#include "keys/keystore.h"
#include "store/outbox.h"
#include "store/registry.h"
#include "store/accepted_manifests.h"
#include "workers/armored_upload.h"
#include "workers/duplicates.h"
#include "workers/outputs.h"
#include "workers/package.h"
#include "workers/parse_upload.h"
#include "workers/receipt.h"
#include "workers/queue_pair.h"

namespace kp::workers {

namespace {

// Sentences for rejections whose low-level detail would not help a
// municipal employee.
std::string reason_sentence(const Error& e) {
  static const std::map<std::string, std::string> kText = {
      {"age-no-match", "the package is not sealed to the gateway's intake recipient; seal it to the "
                       "recipient shown by the hub (knooppunt keys show)"},
      {"age-header-invalid", "the upload is not an age-encrypted file, or its header is damaged"},
      {"age-hmac-mismatch", "the age header of the upload was altered or damaged"},
      {"age-payload-invalid", "the encrypted content of the upload is damaged or was altered"},
      {"age-truncated", "the upload is incomplete: the encrypted content ends too early"},
      {"age-trailing-data", "the upload has extra bytes after the end of the encrypted content"},
      {"upload-empty", "the upload is empty"},
      {"intake-failed", intake_failed().detail},
      {"package-parser-crashed", "the package could not be read: the program that unpacks it stopped "
                                 "unexpectedly on it; check that it was sealed with `knooppunt seal`"},
      {"package-parser-timeout", "the package could not be read in the time allowed; check that it was "
                                 "sealed with `knooppunt seal`, or split it into smaller packages"},
      {"package-parser-bad-answer", "the package could not be read: the program that unpacks it gave no "
                                    "usable result; check that it was sealed with `knooppunt seal`"},
  };
  auto it = kText.find(e.code);
  return it != kText.end() ? it->second : e.detail;
}

// The gateway renames an upload into the inbox just after committing its
// row, so a worker may claim it a moment before the file is there: wait for
// it briefly (~50 ms) instead of handing it back to the slow retry path.
Result<Fd> open_placed(int inbox, const std::string& name) {
  for (int i = 0;; ++i) {
    auto in = confine::open_beneath(inbox, name, O_RDONLY);
    if (in.ok() || in.error().code != "not-found" || i == 50) return in;
    ::usleep(1000);
  }
}

std::string queue_name(const std::string& case_id, const std::string& municipality, double score,
                       int64_t ms) {
  char rank[8];
  std::snprintf(rank, sizeof rank, "%03d", static_cast<int>(std::lround(score)));
  return std::string("rank-") + rank + "-" + municipality + "-" + case_id + "-" + format_day(ms) + ".age";
}

std::string parts_json(const policy::RankResult& r) {
  Poco::JSON::Object o;
  for (const auto& [k, v] : r.parts) o.set(k, v);
  std::ostringstream out;
  o.stringify(out);
  return out.str();
}

void place_outputs_of(IntakeContext& ctx, const store::Upload& u, const std::optional<std::string>& queue_name,
                      const std::set<int64_t>& placed_receipts = {});

struct Checked {
  policy::Manifest manifest;
  std::optional<store::Case> answers;  // an enrichment response: the case it joins
};

// An enrichment response must answer a request sent to the same municipality.
Result<std::optional<store::Case>> case_answered(IntakeContext& ctx, const store::Upload& upload,
                                                 const policy::Manifest& m) {
  if (m.kind != policy::Kind::enrichment_response) return std::optional<store::Case>();
  KP_TRY(auto request, store::find_outbox_item(*ctx.db, *m.in_reply_to));
  KP_ENSURE(request && request->kind == "request" && request->municipality == upload.municipality && request->case_id,
            "reply-unknown-request",
            "in_reply_to names no enrichment request sent to " + upload.municipality +
                "; copy the id from the request's manifest");
  KP_TRY(auto c, store::find_case(*ctx.db, *request->case_id));
  KP_ENSURE(c && (c->state == "queued" || c->state == "taken"), "reply-case-not-open",
            "the case of this request was declined or closed; the hub no longer needs an answer");
  return c;
}

// Everything that decides the verdict, given the opened package.
Result<Checked> verify(IntakeContext& ctx, const store::Upload& upload, const OpenedPackage& pkg) {
  KP_TRY(auto account, store::find_account(*ctx.db, upload.person));
  KP_ENSURE(account && account->sign_key, "manifest-signature-invalid",
            "no signing key is registered for " + upload.person);
  KP_TRY(minisign::PublicKey pk, minisign::parse_public_key(*account->sign_key));
  auto verified = minisign::verify(pk, pkg.manifest, pkg.signature);
  if (!verified.ok())
    return make_error("manifest-signature-invalid",
                      "manifest.json.minisig is not a valid signature of manifest.json by " + upload.person +
                          "'s registered key (" + verified.error().code + ")");
  KP_TRY(policy::Manifest m, policy::parse_manifest(pkg.manifest, ctx.manifest_limits));
  KP_GUARD(policy::check_manifest_context(m, upload.municipality, upload.person));
  KP_GUARD(check_files(m.files, pkg));
  KP_TRY(auto answers, case_answered(ctx, upload, m));
  return Checked{std::move(m), std::move(answers)};
}

store::AuditEvent system_event(const store::Upload& u, const std::string& event, const std::string& outcome,
                               std::optional<std::string> reason) {
  return worker_event("intake-worker", "upload", u, event, outcome, std::move(reason));
}

}  // namespace

Error intake_failed() {
  return make_error("intake-failed",
                    "the upload could not be processed; the hub has been alerted; please do not resend it");
}

Status process_upload(IntakeContext& ctx, const store::Upload& upload, const std::optional<Error>& give_up) {
  KP_GUARD(ensure_dir(ctx.data.root + "/work"));
  // A package sealed to a recipient `keys rotate` published a moment ago:
  // the identities are reloaded before the header is opened.
  if (keys::intake_generation(ctx.data) != ctx.intake_generation) {
    const std::string gen = keys::intake_generation(ctx.data);
    KP_TRY(ctx.identities, keys::load_intake_identities(ctx.data));
    ctx.intake_generation = gen;
  }
  KP_TRY(auto staff, store::list_accounts(*ctx.db, "staff"));
  std::vector<age::PublicKey> staff_recipients;
  for (const auto& s : staff) {
    if (!s.recipient || s.disabled_ms) continue;
    auto pk = age::parse_recipient(*s.recipient);
    if (pk.ok()) staff_recipients.push_back(*pk);
  }
  KP_ENSURE(give_up || !staff_recipients.empty(), "no-staff-recipients",
            "no staff member with an age recipient is registered; packages wait in the inbox");

  std::optional<Error> rejection;
  std::optional<Checked> checked;
  std::string manifest_sha;
  std::optional<std::string> files_sha;     // the files' key (duplicates.h)
  std::vector<std::string> same_files;      // earlier cases with these files
  if (give_up) rejection = *give_up;
  else {
    KP_TRY(Fd inbox, confine::open_dir(ctx.data.box(upload.municipality) + "/inbox"));
    auto in = open_placed(inbox.get(), upload.name);
    if (!in.ok()) return in.error();  // not placed yet (gateway recovery); retried later
    KP_TRY(Fd binary, binary_upload(ctx.data.root + "/work", std::move(*in), ctx.rules.max_package_bytes));
    std::optional<age::OpenedHeader> opened;
    KP_TRY(auto parsed, parse_upload(ctx, binary.get(), upload.size, std::to_string(upload.id), &opened));
    if (!parsed.ok() && parsed.error().code == "io-failed") return parsed.error();  // ours, not the package's
    if (!parsed.ok()) {
      rejection = parsed.error();
    } else {
      auto v = verify(ctx, upload, *parsed);
      if (!v.ok()) rejection = v.error();
      else checked = std::move(*v);
    }
    // The same signed package accepted before (workers/duplicates.h).
    if (checked) {
      manifest_sha = manifest_key(parsed->manifest);
      KP_TRY(auto earlier, duplicate_of(*ctx.db, manifest_sha));
      if (earlier) {
        rejection = std::move(*earlier);
        checked.reset();
      } else if ((files_sha = files_key(parsed->files))) {
        KP_TRY(same_files, store::cases_with_files(*ctx.db, *files_sha));
      }
    }
    if (!rejection) {
      Status made = prepare_queue_pair(ctx.data, upload.id, inbox.get(), upload.name, binary.get(), *opened,
                                       staff_recipients);
      if (!made.ok()) {
        discard_queue_pair(ctx.data, upload.id);
        return made.error();  // ours (disk full...): retried later
      }
    }
  }

  int64_t now = log::now_ms();
  store::Verdict v;
  v.upload_id = upload.id;
  v.pid = ctx.pid;
  v.accepted = !rejection;
  std::vector<store::AuditEvent> events;
  std::optional<store::Reply> reply;
  if (give_up) events.push_back(system_event(upload, "intake.gave_up", "failed", give_up->code));
  else events.push_back(system_event(upload, "intake.opened", "success", std::nullopt));
  Receipt r;
  r.upload = upload.name;
  r.sha256 = upload.sha256;
  r.received = iso8601_ms(upload.received_ms);
  if (rejection) {
    v.reason_code = rejection->code;
    v.reason_text = reason_sentence(*rejection);
    events.push_back(system_event(upload, "intake.rejected", "refused", v.reason_code));
  } else if (checked->answers) {
    // An enrichment response joins its case: no new case, no new rank.
    const store::Case& c = *checked->answers;
    std::string base = c.queue_name.substr(0, c.queue_name.size() - 4);  // without ".age"
    reply = store::Reply{upload.id, *checked->manifest.in_reply_to, c.id,
                         base + ".reply-" + std::to_string(upload.id) + ".age", now};
    v.reason_code = "accepted";
    v.reason_text = "the answer to " + reply->request_id + " was verified and added to case " + c.id;
    r.case_id = c.id;
    events.push_back(system_event(upload, "intake.verified", "success", std::nullopt));
    auto joined = system_event(upload, "intake.joined_case", "success", std::nullopt);
    joined.object = "case/" + c.id + " " + reply->queue_name;
    events.push_back(joined);
  } else {
    const policy::Manifest& m = checked->manifest;
    KP_TRY(auto matches, store::other_reports_of(*ctx.db, m.provider.kvk, upload.municipality));
    policy::RankResult rank = policy::rank(policy::rank_input(m, static_cast<int>(matches.size())), ctx.weights);
    KP_TRY(std::string case_id, store::next_case_id(*ctx.db, utc_year(now)));
    store::Case c;
    c.id = case_id;
    c.upload_id = upload.id;
    c.municipality = upload.municipality;
    c.kind = std::string(policy::kind_name(m.kind));
    c.in_reply_to = m.in_reply_to;
    c.provider_kvk = m.provider.kvk;
    c.provider_name = m.provider.name;
    c.domain = std::string(policy::domain_name(m.domain));
    c.score = rank.score;
    c.score_parts = parts_json(rank);
    c.queue_name = queue_name(case_id, upload.municipality, rank.score, now);
    c.created_ms = now;
    v.new_case = c;
    v.reason_code = "accepted";
    v.reason_text = "the package was verified and queued for the hub as case " + case_id;
    r.case_id = case_id;
    events.push_back(system_event(upload, "intake.verified", "success", std::nullopt));
    auto queued = system_event(upload, "intake.queued", "success", std::nullopt);
    queued.object = "case/" + case_id + " " + c.queue_name;
    events.push_back(queued);
    if (!same_files.empty()) {
      // Another manifest over files accepted before: allowed, and shown.
      std::string earlier;
      for (const auto& id : same_files) earlier += (earlier.empty() ? "" : ",") + id;
      auto same = system_event(upload, "intake.same_files", "success", std::nullopt);
      same.object = "case/" + case_id + " same files as " + earlier;
      events.push_back(same);
    }
  }
  events.push_back(system_event(upload, "intake.receipt", "success", v.reason_code));
  r.accepted = v.accepted;
  r.reason_code = v.reason_code;
  r.reason_text = v.reason_text;

  Status committed = store::record_verdict(*ctx.db, v, events, [&](int64_t last_id) -> Status {
    // The receipt's record (the last event) and a checkpoint that covers
    // it, signed in the same transaction, so the receipt carries its proof.
    r.log_index = last_id - 1;
    KP_GUARD(refresh_signing_keys(ctx));
    KP_TRY(auto cp, audit::sign_checkpoint(*ctx.db, ctx.log_key, ctx.log_origin, audit::Persist::when_due,
                                           ctx.log_previous_key ? &*ctx.log_previous_key : nullptr));
    KP_TRY(std::string proof, audit::proof_against(*ctx.db, static_cast<uint64_t>(r.log_index), cp));
    r.proof = proof;
    r.record = audit::canonical_record(events.back(), static_cast<uint64_t>(r.log_index));
    std::string json = receipt_json(r);
    KP_TRY(std::string sig, sign_receipt(ctx.hub_key, r, json));
    store::OutboxItem item;
    item.municipality = upload.municipality;
    item.name = upload.name + ".receipt.json";
    item.kind = "receipt";
    item.case_id = r.case_id;
    item.upload_id = upload.id;
    item.created_ms = now;
    KP_TRY(int64_t item_id, store::insert_outbox_item(*ctx.db, item));
    (void)item_id;
    if (reply) KP_GUARD(store::insert_reply(*ctx.db, *reply));
    if (v.accepted) KP_GUARD(store::insert_accepted_manifest(*ctx.db, manifest_sha, {*r.case_id, upload.id, now, files_sha}));
    return store::insert_receipt(*ctx.db, upload.id, json, sig);
  });
  if (!committed.ok()) {
    discard_queue_pair(ctx.data, upload.id);
    return committed.error();
  }
  log::event(v.accepted ? "intake.accepted" : "intake.rejected",
             {{"upload", std::to_string(upload.id)}, {"municipality", upload.municipality},
              {"reason", v.reason_code}, {"case", r.case_id ? *r.case_id : ""}});
  store::Upload done = upload;
  done.state = v.accepted ? "accepted" : "rejected";
  std::optional<std::string> queued;
  if (v.new_case) queued = v.new_case->queue_name;
  if (reply) queued = reply->queue_name;
  place_outputs_of(ctx, done, queued);
  return ok_status();
}

Status refresh_signing_keys(IntakeContext& ctx) {
  const std::string gen = keys::signing_generation(ctx.data);
  if (gen == ctx.signing_generation) return ok_status();
  KP_TRY(ctx.hub_key, keys::load_hub_key(ctx.data));
  KP_TRY(ctx.log_key, keys::load_log_key(ctx.data));
  KP_TRY(ctx.hub_previous_public, keys::load_previous_hub_public(ctx.data));
  KP_TRY(ctx.log_previous_key, keys::load_previous_log_key(ctx.data));
  if (!ctx.signing_generation.empty())
    log::event("worker.signing_keys_reloaded", {{"hub_previous", ctx.hub_previous_public ? "yes" : "no"},
                                                {"log_previous", ctx.log_previous_key ? "yes" : "no"}});
  ctx.signing_generation = gen;
  return ok_status();
}

Status publish_checkpoint(IntakeContext& ctx) {
  KP_TRY(auto cp, [&]() -> Result<store::StoredCheckpoint> {
    KP_TRY(store::Transaction tx, store::Transaction::begin(*ctx.db));
    KP_GUARD(refresh_signing_keys(ctx));
    KP_TRY(auto signed_cp, audit::sign_checkpoint(*ctx.db, ctx.log_key, ctx.log_origin, audit::Persist::always,
                                                  ctx.log_previous_key ? &*ctx.log_previous_key : nullptr));
    KP_GUARD(tx.commit());
    return signed_cp;
  }());
  // Every worker publishes: each through its own temporary name.
  return write_file_atomic(ctx.data.audit() + "/checkpoint", cp.note);
}

Status place_unplaced_receipts(IntakeContext& ctx) {
  KP_TRY(auto unplaced, store::unplaced_receipts(*ctx.db));
  for (const auto& r : unplaced) {
    KP_TRY(auto u, store::find_upload(*ctx.db, r.upload_id));
    if (u) place_outputs_of(ctx, *u, std::nullopt);
  }
  return ok_status();
}

Status place_outputs(IntakeContext& ctx) {
  KP_TRY(auto processed, store::processed_uploads(*ctx.db));
  KP_TRY(auto cases, store::list_cases(*ctx.db));
  KP_TRY(auto unplaced, store::unplaced_receipts(*ctx.db));
  std::set<int64_t> todo;
  for (const auto& r : unplaced) todo.insert(r.upload_id);
  std::map<int64_t, std::string> queue_names;
  for (const auto& c : cases) queue_names[c.upload_id] = c.queue_name;
  KP_TRY(auto replies, store::list_replies(*ctx.db));
  for (const auto& r : replies) queue_names[r.upload_id] = r.queue_name;
  std::set<int64_t> placed;
  for (const auto& u : processed)
    if (!todo.count(u.id)) placed.insert(u.id);
  for (const auto& u : processed) {
    auto it = queue_names.find(u.id);
    place_outputs_of(ctx, u, it == queue_names.end() ? std::nullopt : std::optional<std::string>(it->second),
                     placed);
  }
  return ok_status();
}

namespace {

void place_outputs_of(IntakeContext& ctx, const store::Upload& u, const std::optional<std::string>& queue_name,
                      const std::set<int64_t>& placed_receipts) {
  // Every step's failure is reported, and a receipt is marked placed only
  // once both files are in the outbox; an unplaced one is tried again
  // (place_unplaced_receipts, every few seconds, and at start).
  auto report = [&](const char* what, const Status& s) {
    if (!s.ok())
      log::event("intake.place_failed",
                 {{"upload", std::to_string(u.id)}, {"what", what}, {"error", s.error().message()}});
  };
  {
    std::string outbox = ctx.data.box(u.municipality) + "/outbox";
    DirSyncs syncs;
    bool receipt_moved = false;
    // Receipts come from the store (no fsync needed: after a crash they are
    // written again from there); the signature first, so a receipt is never
    // visible without it.
    auto receipt = placed_receipts.count(u.id) ? Result<std::optional<store::StoredReceipt>>(std::nullopt)
                                               : store::receipt_of(*ctx.db, u.id);
    if (!receipt.ok()) report("receipt", receipt.error());
    if (receipt.ok() && *receipt) {
      std::string sig_work = work_path(ctx.data, std::to_string(u.id), ".receipt.json.minisig");
      std::string json_work = work_path(ctx.data, std::to_string(u.id), ".receipt.json");
      Status s = write_work_file(sig_work, (*receipt)->signature, false);
      if (s.ok()) s = write_work_file(json_work, (*receipt)->json, false);
      if (s.ok()) s = status_of(place(sig_work, outbox, u.name + ".receipt.json.minisig", &syncs));
      if (s.ok()) s = status_of(place(json_work, outbox, u.name + ".receipt.json", &syncs));
      receipt_moved = s.ok();
      report("receipt", s);
    }
    if (queue_name) report("queue", place_queue_pair(ctx.data, u.id, *queue_name, syncs));
    // The renames above become durable together; only then is the receipt
    // recorded as placed.
    Status synced = syncs.flush();
    report("sync", synced);
    if (receipt_moved && synced.ok()) report("receipt", store::mark_receipt_placed(*ctx.db, u.id));
    if (u.state == "rejected") {
      // Rejected uploads are kept sealed in quarantine, never deleted silently.
      auto inbox = confine::open_dir(ctx.data.box(u.municipality) + "/inbox");
      auto quarantine = confine::open_dir(ctx.data.quarantine());
      if (inbox.ok() && quarantine.ok() && confine::stat_beneath(inbox->get(), u.name).ok()) {
        std::string qname = u.municipality + "-" + std::to_string(u.id) + "-" + u.name;
        report("quarantine", confine::rename_noreplace(inbox->get(), u.name, quarantine->get(), qname));
      } else if (!inbox.ok() || !quarantine.ok()) {
        report("quarantine", !inbox.ok() ? Status(inbox.error()) : Status(quarantine.error()));
      }
    }
  }
}

}  // namespace

}  // namespace kp::workers

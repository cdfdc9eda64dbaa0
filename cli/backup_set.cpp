// What a backup copies and from where; see backup_set.h.
#include "cli/backup_set.h"

#include "common/datadir.h"
#include "common/pair_file.h"
#include "common/confine.h"
#include "policy/identifiers.h"
#include "workers/outputs.h"
#include "workers/queue_pair.h"

namespace kp::cli {

namespace {

// The layout relative to the data directory's root ("queue", not "/queue").
const DataDir kLayout{""};
std::string rel(const std::string& under_layout) { return under_layout.substr(1); }

bool safe(const std::string& name) { return confine::is_single_component(name); }

// The same place in the live directory and in the backup.
Candidate at(const std::string& path) { return {path, path}; }

FileRef ref(std::string what, std::vector<Candidate> c, bool required = true) {
  FileRef r;
  r.what = std::move(what);
  r.candidates = std::move(c);
  r.required = required;
  return r;
}

void upload_refs(const store::StoredFile& f, std::vector<FileRef>& out) {
  const std::string box = rel(kLayout.box(f.municipality));
  const std::string inbox = box + "/inbox/" + f.name;
  // The name workers/intake.cpp gives a rejected upload in quarantine.
  const std::string quarantined = rel(kLayout.quarantine()) + "/" + f.municipality + "-" + std::to_string(f.id) + "-" + f.name;
  std::vector<Candidate> c;
  if (f.state == "accepted") {
    c = {at(inbox)};
  } else if (f.state == "rejected") {
    c = {at(quarantined), at(inbox)};  // placed, or still to be moved by the worker
  } else {
    // Not judged yet: in the inbox, or still partial (the row commits before
    // the rename; serve finishes it), or rejected and moved since the copy.
    c = {at(inbox)};
    if (f.partial_name && safe(*f.partial_name)) c.push_back(at(box + "/partial/" + *f.partial_name));
    c.push_back({quarantined, inbox});
  }
  FileRef r = ref("upload/" + std::to_string(f.id) + " " + f.name, std::move(c));
  r.size = f.size;
  r.sha256 = f.sha256;
  out.push_back(std::move(r));
}

// A queue entry: its head and (optional: entries made before rewrapping
// are one file) its payload, placed or still in DATA/work.
void queue_refs(const store::StoredFile& f, std::vector<FileRef>& out) {
  const std::string what = f.source + "/" + (f.key.empty() ? std::to_string(f.id) : f.key) + " " + f.name;
  std::vector<Candidate> head = {at(rel(kLayout.queue()) + "/" + f.name)};
  std::vector<Candidate> payload = {at(rel(kLayout.queue()) + "/" + pair_file::payload_path(f.name))};
  if (f.upload_id) {
    head.push_back(at(rel(workers::queue_head_work(kLayout, *f.upload_id))));
    payload.push_back(at(rel(workers::queue_payload_work(kLayout, *f.upload_id))));
  }
  out.push_back(ref(what, std::move(head)));
  out.push_back(ref(what + " (payload)", std::move(payload), false));
}

void outbox_refs(const store::StoredFile& f, std::vector<FileRef>& out) {
  const std::string box = rel(kLayout.box(f.municipality));
  const std::string what = "outbox/" + std::to_string(f.id) + " " + f.name;
  const bool receipt = f.kind == "receipt";
  if (f.acknowledged) {
    if (f.archived_name && safe(*f.archived_name)) out.push_back(ref(what, {at(box + "/archive/" + *f.archived_name)}));
  } else if (f.placed) {
    // Or acknowledged since (moved to the archive, under its own name
    // unless that was taken): back where the copied database has it.
    out.push_back(ref(what, {at(box + "/outbox/" + f.name), {box + "/archive/" + f.name, box + "/outbox/" + f.name}}));
  } else if (f.kind == "sip" || f.kind == "request") {
    // Placed from DATA/work after its publication committed.
    std::vector<Candidate> c = {at(box + "/outbox/" + f.name)};
    if (f.submission_id)
      c.push_back(at(rel(workers::work_path(kLayout, "s" + std::to_string(*f.submission_id), ".out.age"))));
    out.push_back(ref(what, std::move(c), f.submission_id.has_value()));
  } else {
    // Receipts and notices not yet placed are written again from the store.
    out.push_back(ref(what, {at(box + "/outbox/" + f.name)}, false));
  }
  // Beside a receipt, with no row of their own: its signature, and its
  // proof against a witnessed checkpoint once there is one
  // (workers/witnessed_proofs.h); in the outbox until the client removes them.
  if (!receipt) return;
  std::vector<std::string> beside = {f.name + ".minisig"};
  const std::string json = ".json";
  if (f.name.size() > json.size() && f.name.ends_with(json))
    beside.push_back(f.name.substr(0, f.name.size() - json.size()) + ".tlog-proof");
  for (const auto& name : beside) {
    if (!safe(name)) continue;
    const std::string home = box + (f.acknowledged ? "/archive/" : "/outbox/") + name;
    out.push_back(ref(what + " " + name, {at(box + "/outbox/" + name), {box + "/archive/" + name, home}}, false));
  }
}

void submission_refs(const store::StoredFile& f, std::vector<FileRef>& out) {
  const std::string outgoing = rel(kLayout.outgoing()) + "/" + f.name;
  std::vector<Candidate> c = {at(outgoing)};
  if (f.state != "accepted" && f.state != "rejected" && f.partial_name && safe(*f.partial_name))
    c.push_back(at(rel(kLayout.outgoing_partial()) + "/" + *f.partial_name));
  const std::string what = "submission/" + std::to_string(f.id) + " " + f.name;
  FileRef r = ref(what, std::move(c));
  r.size = f.size;
  r.sha256 = f.sha256;
  out.push_back(std::move(r));
  // Its receipt, once placed; rewritten from the store when it is not.
  if (f.placed)
    for (const char* suffix : {".receipt.json", ".receipt.json.minisig"})
      if (safe(f.name + suffix)) out.push_back(ref(what + suffix, {at(outgoing + suffix)}, false));
}

}  // namespace

Result<std::vector<FileRef>> file_refs(const std::vector<store::StoredFile>& rows) {
  std::vector<FileRef> out;
  for (const auto& f : rows) {
    const bool boxed = f.source == "upload" || f.source == "outbox";
    KP_ENSURE(safe(f.name) && (!boxed || policy::valid_municipality_code(f.municipality)), "backup-unsafe-name",
              "the database names a file that cannot be a path (" + f.source + "/" + std::to_string(f.id) + ")");
    if (f.source == "upload") upload_refs(f, out);
    else if (f.source == "case" || f.source == "reply") queue_refs(f, out);
    else if (f.source == "outbox") outbox_refs(f, out);
    else if (f.source == "submission") submission_refs(f, out);
  }
  return out;
}

std::vector<std::string> standard_folders(const std::vector<std::string>& municipalities) {
  std::vector<std::string> out = {rel(kLayout.keys()),     rel(kLayout.public_keys()), rel(kLayout.boxes()),
                                  rel(kLayout.queue()),    rel(kLayout.queue_payloads()), rel(kLayout.quarantine()),
                                  rel(kLayout.outgoing()), rel(kLayout.outgoing_partial()), rel(kLayout.audit()),
                                  "work"};
  for (const auto& m : municipalities) {
    if (!policy::valid_municipality_code(m)) continue;
    out.push_back(rel(kLayout.box(m)));
    for (const char* sub : {"inbox", "outbox", "archive", "partial"}) out.push_back(rel(kLayout.box(m)) + "/" + sub);
  }
  return out;
}

}  // namespace kp::cli

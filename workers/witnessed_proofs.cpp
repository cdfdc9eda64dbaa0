// Receipts' proofs against witnessed checkpoints; see witnessed_proofs.h.
#include "workers/witnessed_proofs.h"

#include <string>
#include <string_view>

#include "audit/log.h"
#include "common/log.h"
#include "store/intake.h"
#include "store/transfer_log.h"
#include "workers/outputs.h"

namespace kp::workers {

namespace {

constexpr int kBatch = 256;

}  // namespace

std::string witnessed_proof_name(const std::string& receipt_name) {
  constexpr std::string_view json = ".json";
  const std::string base =
      receipt_name.ends_with(json) ? receipt_name.substr(0, receipt_name.size() - json.size()) : receipt_name;
  return base + ".tlog-proof";
}

Status place_witnessed_proofs(store::Db& db, const DataDir& data, int64_t quorum) {
  if (quorum <= 0) return ok_status();
  KP_TRY(auto cp, store::latest_witnessed_checkpoint(db, quorum));
  if (!cp) return ok_status();
  KP_TRY(auto waiting, store::receipts_to_witness(db, cp->size, kBatch));
  if (waiting.empty()) return ok_status();
  KP_TRY(auto lines, store::cosignatures_of(db, cp->size));
  for (const auto& l : lines) cp->note += l;
  int placed = 0;
  for (const auto& r : waiting) {
    const std::string work = work_path(data, std::to_string(r.upload_id), ".receipt.tlog-proof");
    Status s = ok_status();
    auto proof = audit::proof_against(db, r.log_index, *cp);
    if (!proof.ok()) s = proof.error();
    if (s.ok()) s = write_work_file(work, *proof);
    if (s.ok()) s = status_of(place(work, data.box(r.municipality) + "/outbox", witnessed_proof_name(r.name + ".receipt.json")));
    if (s.ok()) s = store::mark_receipt_witnessed(db, r.upload_id, cp->size);
    if (!s.ok()) {
      log::event("witness.proof_failed",
                 {{"upload", std::to_string(r.upload_id)}, {"size", std::to_string(cp->size)},
                  {"error", s.error().message()}});
      continue;
    }
    ++placed;
  }
  if (placed > 0)
    log::event("witness.proofs_placed", {{"count", std::to_string(placed)}, {"size", std::to_string(cp->size)}});
  return ok_status();
}

}  // namespace kp::workers

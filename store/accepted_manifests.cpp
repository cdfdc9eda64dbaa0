// Accepted manifests; see accepted_manifests.h.
#include "store/accepted_manifests.h"

namespace kp::store {

Result<std::optional<AcceptedManifest>> find_accepted_manifest(Db& db, const std::string& sha256) {
  KP_TRY(Stmt st, db.prepare("SELECT case_id, upload_id, accepted_ms FROM accepted_manifests WHERE sha256 = ?"));
  st.bind(1, sha256);
  KP_TRY(bool row, st.step());
  if (!row) return std::optional<AcceptedManifest>();
  return std::optional<AcceptedManifest>(AcceptedManifest{st.col_text(0), st.col_int(1), st.col_int(2)});
}

Status insert_accepted_manifest(Db& db, const std::string& sha256, const AcceptedManifest& m) {
  KP_TRY(Stmt st, db.prepare(
                      "INSERT INTO accepted_manifests(sha256, case_id, upload_id, accepted_ms) VALUES (?,?,?,?)"));
  st.bind(1, sha256).bind(2, m.case_id).bind(3, m.upload_id).bind(4, m.accepted_ms);
  return st.run();
}

}  // namespace kp::store

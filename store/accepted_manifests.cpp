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
  KP_TRY(Stmt st, db.prepare("INSERT INTO accepted_manifests(sha256, case_id, upload_id, accepted_ms, files_sha256) "
                             "VALUES (?,?,?,?,?)"));
  st.bind(1, sha256).bind(2, m.case_id).bind(3, m.upload_id).bind(4, m.accepted_ms).bind(5, m.files_sha256);
  return st.run();
}

namespace {

Result<std::vector<std::string>> case_ids(Stmt& st) {
  std::vector<std::string> out;
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) return out;
    out.push_back(st.col_text(0));
  }
}

}  // namespace

Result<std::vector<std::string>> cases_with_files(Db& db, const std::string& files_sha256) {
  KP_TRY(Stmt st, db.prepare("SELECT case_id FROM accepted_manifests WHERE files_sha256 = ? ORDER BY accepted_ms, upload_id"));
  st.bind(1, files_sha256);
  return case_ids(st);
}

Result<std::vector<std::string>> same_files_as(Db& db, const std::string& case_id) {
  KP_TRY(Stmt st, db.prepare("SELECT o.case_id FROM accepted_manifests c JOIN accepted_manifests o "
                             "ON o.files_sha256 = c.files_sha256 AND o.case_id <> c.case_id "
                             "WHERE c.case_id = ? ORDER BY o.accepted_ms, o.upload_id"));
  st.bind(1, case_id);
  return case_ids(st);
}

}  // namespace kp::store

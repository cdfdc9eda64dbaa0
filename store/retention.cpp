// Retention in the store; see retention.h.
#include "store/retention.h"

#include <charconv>

namespace kp::store {

namespace {

using policy::RetentionKind;

std::string kind_text(RetentionKind k) {
  return std::string(policy::retention_kind_name(k));
}

// An integer row id kept as text in RetentionItem::key; -1 (matches no
// row) when it is not one.
int64_t id_of(const std::string& key) {
  int64_t n = -1;
  auto [p, ec] = std::from_chars(key.data(), key.data() + key.size(), n);
  return ec == std::errc() && p == key.data() + key.size() ? n : -1;
}

Status collect(Stmt& st, std::vector<RetentionItem>& out,
               RetentionItem (*read)(const Stmt&, RetentionKind), RetentionKind kind) {
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) return ok_status();
    out.push_back(read(st, kind));
  }
}

// Uploads: accepted (inbox) or rejected (quarantine).
Status list_uploads_in(Db& db, RetentionKind kind, const char* state,
                       std::vector<RetentionItem>& out) {
  KP_TRY(
      Stmt st,
      db.prepare(
          "SELECT id, municipality, name, partial_name, state, processed_ms, sha256 FROM uploads "
          "WHERE state = ? AND purged_ms IS NULL ORDER BY id"));
  st.bind(1, state);
  return collect(
      st, out,
      [](const Stmt& s, RetentionKind k) {
        RetentionItem i;
        i.kind = k;
        i.source = "upload";
        i.key = std::to_string(s.col_int(0));
        i.upload_id = s.col_int(0);
        i.municipality = s.col_text(1);
        i.name = s.col_text(2);
        i.partial_name = s.col_text(3);
        i.state = s.col_text(4);
        i.clock_ms = s.col_opt_int(5);
        i.sha256 = s.col_text(6);
        return i;
      },
      kind);
}

// Closed and declined cases: their queued package.
Status list_cases_done(Db& db, std::vector<RetentionItem>& out) {
  KP_TRY(Stmt st,
         db.prepare("SELECT id, municipality, queue_name, state, state_ms, upload_id FROM cases "
                    "WHERE state IN ('closed', 'declined') AND purged_ms IS NULL ORDER BY id"));
  return collect(
      st, out,
      [](const Stmt& s, RetentionKind k) {
        RetentionItem i;
        i.kind = k;
        i.source = "case";
        i.key = s.col_text(0);
        i.municipality = s.col_text(1);
        i.name = s.col_text(2);
        i.state = s.col_text(3);
        i.clock_ms = s.col_opt_int(4);
        i.upload_id = s.col_int(5);
        return i;
      },
      RetentionKind::queue);
}

// Enrichment replies of closed and declined cases: they follow their case.
Status list_replies_done(Db& db, std::vector<RetentionItem>& out) {
  KP_TRY(Stmt st,
         db.prepare(
             "SELECT r.upload_id, c.municipality, r.queue_name, c.state, c.state_ms FROM replies r "
             "JOIN cases c ON c.id = r.case_id WHERE c.state IN ('closed', 'declined') "
             "AND r.purged_ms IS NULL ORDER BY r.upload_id"));
  return collect(
      st, out,
      [](const Stmt& s, RetentionKind k) {
        RetentionItem i;
        i.kind = k;
        i.source = "reply";
        i.key = std::to_string(s.col_int(0));
        i.upload_id = s.col_int(0);
        i.municipality = s.col_text(1);
        i.name = s.col_text(2);
        i.state = s.col_text(3);
        i.clock_ms = s.col_opt_int(4);
        return i;
      },
      RetentionKind::queue);
}

// Acknowledged outbox items: receipts, or everything else.
Status list_acknowledged(Db& db, RetentionKind kind, std::vector<RetentionItem>& out) {
  KP_TRY(Stmt st,
         db.prepare(
             "SELECT id, municipality, name, acknowledged_ms, archived_name, upload_id FROM "
             "outbox_items "
             "WHERE acknowledged_ms IS NOT NULL AND purged_ms IS NULL AND (kind = 'receipt') = ? "
             "ORDER BY id"));
  st.bind(1, kind == RetentionKind::receipt ? 1 : 0);
  return collect(
      st, out,
      [](const Stmt& s, RetentionKind k) {
        RetentionItem i;
        i.kind = k;
        i.source = "outbox";
        i.key = std::to_string(s.col_int(0));
        i.municipality = s.col_text(1);
        i.name = s.col_text(2);
        i.state = "acknowledged";
        i.clock_ms = s.col_opt_int(3);
        i.archived_name = s.col_opt_text(4);
        i.upload_id = s.col_opt_int(5);
        return i;
      },
      kind);
}

// Marks the item's row purged if it is still in the state and clock it was
// listed with and not purged yet: the re-check and the claim in one
// statement, so of two sweepers exactly one gets changes() == 1. An outbox
// item's body and signature (a notice's text) go with it.
Result<bool> mark_row_purged(Db& db, const RetentionItem& item, int64_t now_ms) {
  const char* sql = nullptr;
  if (item.source == "upload") {
    sql =
        "UPDATE uploads SET purged_ms = ?1 WHERE id = ?2 AND state = ?3 AND processed_ms = ?4 "
        "AND purged_ms IS NULL";
  } else if (item.source == "case") {
    sql =
        "UPDATE cases SET purged_ms = ?1 WHERE id = ?2 AND state = ?3 AND state_ms = ?4 "
        "AND purged_ms IS NULL";
  } else if (item.source == "reply") {
    sql =
        "UPDATE replies SET purged_ms = ?1 WHERE upload_id = ?2 AND purged_ms IS NULL "
        "AND case_id IN (SELECT id FROM cases WHERE state = ?3 AND state_ms = ?4)";
  } else if (item.source == "outbox") {
    sql =
        "UPDATE outbox_items SET purged_ms = ?1, body = NULL, signature = NULL WHERE id = ?2 "
        "AND ?3 = 'acknowledged' AND acknowledged_ms = ?4 AND purged_ms IS NULL";
  } else {
    return false;
  }
  KP_TRY(Stmt st, db.prepare(sql));
  st.bind(1, now_ms);
  if (item.source == "case")
    st.bind(2, item.key);
  else
    st.bind(2, id_of(item.key));
  st.bind(3, item.state).bind(4, item.clock_ms);
  KP_GUARD(st.run());
  return db.changes() == 1;
}

}  // namespace

Result<std::vector<RetentionItem>> retention_items(Db& db) {
  std::vector<RetentionItem> out;
  KP_GUARD(list_uploads_in(db, RetentionKind::inbox, "accepted", out));
  KP_GUARD(list_uploads_in(db, RetentionKind::quarantine, "rejected", out));
  KP_GUARD(list_cases_done(db, out));
  KP_GUARD(list_replies_done(db, out));
  KP_GUARD(list_acknowledged(db, RetentionKind::outbox, out));
  KP_GUARD(list_acknowledged(db, RetentionKind::receipt, out));
  return out;
}

Result<std::optional<int64_t>> purge_item(Db& db, const RetentionItem& item,
                                          const std::vector<std::string>& files, int64_t due_ms,
                                          int64_t now_ms, const AuditEvent& audit) {
  KP_TRY(Transaction tx, Transaction::begin(db));
  KP_TRY(bool claimed, mark_row_purged(db, item, now_ms));
  if (!claimed) return std::optional<int64_t>();  // deleted by another sweeper, or changed
  KP_TRY(Stmt ins,
         db.prepare(
             "INSERT INTO retention_deletions(kind, ref, municipality, object, due_ms, purged_ms) "
             "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (kind, ref) DO NOTHING"));
  ins.bind(1, kind_text(item.kind))
      .bind(2, item.ref())
      .bind(3, item.municipality)
      .bind(4, item.name)
      .bind(5, due_ms)
      .bind(6, now_ms);
  KP_GUARD(ins.run());
  // Defensive: a deletion row for a row not marked purged means the store
  // was edited by hand; leave both as they are.
  if (db.changes() != 1) return std::optional<int64_t>();
  int64_t id = db.last_insert_rowid();
  KP_TRY(Stmt file,
         db.prepare("INSERT INTO retention_files(deletion_id, seq, path) VALUES (?, ?, ?)"));
  for (std::size_t i = 0; i < files.size(); ++i) {
    file.reset();
    file.bind(1, id).bind(2, static_cast<int64_t>(i)).bind(3, files[i]);
    KP_GUARD(file.run());
  }
  if (item.kind == RetentionKind::receipt && item.upload_id) {
    KP_TRY(Stmt copy, db.prepare("DELETE FROM receipts WHERE upload_id = ?"));
    copy.bind(1, *item.upload_id);
    KP_GUARD(copy.run());
  }
  KP_GUARD(append_audit(db, audit));
  KP_GUARD(tx.commit());
  return std::optional<int64_t>(id);
}

Result<std::vector<PendingUnlink>> pending_unlinks(Db& db) {
  KP_TRY(Stmt st, db.prepare("SELECT d.id, d.kind, d.ref, f.path FROM retention_deletions d "
                             "LEFT JOIN retention_files f ON f.deletion_id = d.id "
                             "WHERE d.unlinked_ms IS NULL ORDER BY d.id, f.seq"));
  std::vector<PendingUnlink> out;
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) return out;
    if (out.empty() || out.back().id != st.col_int(0))
      out.push_back({st.col_int(0), st.col_text(1), st.col_text(2), {}});
    if (!st.col_null(3)) out.back().files.push_back(st.col_text(3));
  }
}

Status mark_unlinked(Db& db, int64_t id, int64_t now_ms) {
  KP_TRY(
      Stmt st,
      db.prepare(
          "UPDATE retention_deletions SET unlinked_ms = ? WHERE id = ? AND unlinked_ms IS NULL"));
  st.bind(1, now_ms).bind(2, id);
  return st.run();
}

Result<AuditLogSpan> audit_log_span(Db& db) {
  // Record ids are the tree's leaf indexes plus one, without gaps: max(id)
  // is the count, without a scan.
  KP_TRY(Stmt st, db.prepare("SELECT (SELECT coalesce(max(id), 0) FROM audit_events), "
                             "(SELECT ts_ms FROM audit_events ORDER BY id LIMIT 1)"));
  KP_TRY(bool row, st.step());
  AuditLogSpan span;
  if (row) {
    span.records = st.col_int(0);
    span.oldest_ms = st.col_opt_int(1);
  }
  return span;
}

}  // namespace kp::store

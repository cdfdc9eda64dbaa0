// Outbox items; see outbox.h.
#include "store/outbox.h"

namespace kp::store {

namespace {

constexpr const char* kColumns =
    "id, municipality, name, kind, case_id, item_id, submission_id, upload_id, body, signature, "
    "created_ms, "
    "placed_ms, acknowledged_ms, archived_name";

OutboxItem read_item(const Stmt& st) {
  OutboxItem i;
  i.id = st.col_int(0);
  i.municipality = st.col_text(1);
  i.name = st.col_text(2);
  i.kind = st.col_text(3);
  i.case_id = st.col_opt_text(4);
  i.item_id = st.col_opt_text(5);
  i.submission_id = st.col_opt_int(6);
  i.upload_id = st.col_opt_int(7);
  i.body = st.col_opt_text(8);
  i.signature = st.col_opt_text(9);
  i.created_ms = st.col_int(10);
  i.placed_ms = st.col_opt_int(11);
  i.acknowledged_ms = st.col_opt_int(12);
  i.archived_name = st.col_opt_text(13);
  return i;
}

Result<std::vector<OutboxItem>> select_items(Db& db, const std::string& where,
                                             const std::optional<std::string>& param) {
  KP_TRY(Stmt st, db.prepare(std::string("SELECT ") + kColumns + " FROM outbox_items " + where +
                             " ORDER BY id"));
  if (param) st.bind(1, *param);
  std::vector<OutboxItem> out;
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) return out;
    out.push_back(read_item(st));
  }
}

}  // namespace

Result<int64_t> insert_outbox_item(Db& db, const OutboxItem& i) {
  KP_TRY(Stmt st, db.prepare("INSERT INTO outbox_items(municipality, name, kind, case_id, item_id, "
                             "submission_id, upload_id, body, "
                             "signature, created_ms) VALUES (?,?,?,?,?,?,?,?,?,?)"));
  st.bind(1, i.municipality)
      .bind(2, i.name)
      .bind(3, i.kind)
      .bind(4, i.case_id)
      .bind(5, i.item_id)
      .bind(6, i.submission_id)
      .bind(7, i.upload_id)
      .bind(8, i.body)
      .bind(9, i.signature)
      .bind(10, i.created_ms);
  Status s = st.run();
  if (!s.ok() && s.error().code == "store-duplicate")
    return make_error("already-exists", i.name + " is already in the outbox of " + i.municipality);
  KP_GUARD(s);
  return db.last_insert_rowid();
}

Result<std::vector<OutboxItem>> unplaced_outbox_items(Db& db) {
  return select_items(db, "WHERE placed_ms IS NULL AND purged_ms IS NULL", std::nullopt);
}

Status mark_outbox_placed(Db& db, int64_t id, int64_t now_ms) {
  KP_TRY(Stmt st,
         db.prepare("UPDATE outbox_items SET placed_ms = ? WHERE id = ? AND placed_ms IS NULL"));
  st.bind(1, now_ms).bind(2, id);
  return st.run();
}

Status record_acknowledgement(Db& db, const std::string& municipality, const std::string& name,
                              const std::string& archived_name, int64_t now_ms) {
  KP_TRY(Stmt st, db.prepare("UPDATE outbox_items SET acknowledged_ms = ?, archived_name = ? "
                             "WHERE municipality = ? AND name = ? AND acknowledged_ms IS NULL"));
  st.bind(1, now_ms).bind(2, archived_name).bind(3, municipality).bind(4, name);
  return st.run();
}

Result<std::optional<OutboxItem>> find_outbox_item(Db& db, const std::string& item_id) {
  KP_TRY(auto items, select_items(db, "WHERE item_id = ?", item_id));
  if (items.empty()) return std::optional<OutboxItem>();
  return std::optional<OutboxItem>(std::move(items.front()));
}

Result<std::vector<OutboxItem>> outbox_items_of_case(Db& db, const std::string& case_id) {
  return select_items(db, "WHERE case_id = ?", case_id);
}

Result<std::vector<OutboxItem>> list_outbox_items(Db& db) {
  return select_items(db, "", std::nullopt);
}

}  // namespace kp::store

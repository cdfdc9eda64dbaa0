// What the hub placed in a municipality's outbox: receipts, SIPs, enrichment
// requests and decline notices, one row each, and when the municipality
// acknowledged (removed) it. Retention and notifications work from here.
//
// An item is written in the transaction that decides it (the verdict, the
// publication, the decline), with its file still in DATA/work or, for small
// signed JSON items (notices), its body and signature in the row; it is
// "placed" once the file is renamed into the outbox. The file name of a
// receipt item is the JSON's; its signature lies beside it as NAME.minisig.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "store/db.h"

namespace kp::store {

struct OutboxItem {
  int64_t id = 0;
  std::string municipality;
  std::string name;  // file name in the outbox
  std::string kind;  // "receipt" | "sip" | "request" | "notice"
  std::optional<std::string> case_id;
  std::optional<std::string> item_id;  // a request's id ("KP-2026-000001-R1"), a SIP's id
  std::optional<int64_t> submission_id;
  std::optional<int64_t> upload_id;
  std::optional<std::string> body;       // notices: the JSON, placed from here
  std::optional<std::string> signature;  // notices: its minisign signature
  int64_t created_ms = 0;
  std::optional<int64_t> placed_ms;
  std::optional<int64_t> acknowledged_ms;
  std::optional<std::string> archived_name;  // name in the box's archive folder
};

// Inserts the item; call inside the caller's transaction. Errors:
// "already-exists" when the municipality's outbox has that name already.
Result<int64_t> insert_outbox_item(Db& db, const OutboxItem& item);

// Items whose file is not yet in the outbox, oldest first.
Result<std::vector<OutboxItem>> unplaced_outbox_items(Db& db);
Status mark_outbox_placed(Db& db, int64_t id, int64_t now_ms);

// Records that the municipality removed `name` from its outbox and where it
// was archived. A name without an item (a ".minisig" beside a receipt, or a
// file the operator placed) changes nothing.
Status record_acknowledgement(Db& db, const std::string& municipality, const std::string& name,
                              const std::string& archived_name, int64_t now_ms);

// The item with `item_id` (an enrichment request or SIP), if any.
Result<std::optional<OutboxItem>> find_outbox_item(Db& db, const std::string& item_id);
// Every item of a case, oldest first.
Result<std::vector<OutboxItem>> outbox_items_of_case(Db& db, const std::string& case_id);
// Every item of every outbox, oldest first (retention, listings).
Result<std::vector<OutboxItem>> list_outbox_items(Db& db);

}  // namespace kp::store

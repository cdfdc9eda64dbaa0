// A small registry for notification tests: municipalities, contact persons
// with mandates, and outbox items queued as the hub's publisher will queue
// them (item and notifications in one transaction).
#pragma once

#include <optional>
#include <string>

#include "store/db.h"
#include "store/notifications.h"
#include "store/outbox.h"
#include "store/registry.h"

namespace kp::test {

inline bool add_person(store::Db& db, const std::string& id, std::optional<std::string> email,
                       const std::string& role = "person") {
  store::Account a{id, role, std::move(email), {}, {}};
  return store::add_account(db, a, {"ssh-ed25519", "KEY-" + id, "SHA256:" + id}, 1).ok();
}

inline bool grant(store::Db& db, const std::string& person, const std::string& municipality,
                  const std::string& scopes = "upload,download", int64_t from_ms = 0,
                  std::optional<int64_t> until_ms = std::nullopt,
                  const std::string& level = "EH3") {
  policy::Mandate m;
  m.person = person;
  m.municipality = municipality;
  m.scopes = scopes;
  m.level = level;
  m.valid_from_ms = from_ms;
  m.valid_until_ms = until_ms;
  m.granted_ms = 1;
  return store::grant_mandate(db, m).ok();
}

// Inserts an outbox item and queues its notifications at `now_ms` in one
// transaction; marks it placed unless `placed` is false. The item's id is
// set; *queued (if given) gets the count.
inline store::OutboxItem publish(store::Db& db, const std::string& municipality,
                                 const std::string& name, const std::string& kind, int64_t now_ms,
                                 bool placed = true, int* queued = nullptr) {
  store::OutboxItem item;
  item.municipality = municipality;
  item.name = name;
  item.kind = kind;
  item.created_ms = now_ms;
  auto tx = store::Transaction::begin(db);
  if (!tx.ok()) return item;
  auto id = store::insert_outbox_item(db, item);
  if (!id.ok()) return item;
  item.id = *id;
  auto n = store::enqueue_notifications(db, item, now_ms);
  if (queued) *queued = n.ok() ? *n : -1;
  if (!tx->commit().ok()) item.id = 0;
  if (placed && item.id > 0 && store::mark_outbox_placed(db, item.id, now_ms).ok())
    item.placed_ms = now_ms;
  return item;
}

}  // namespace kp::test

// Audit events: the one place every audited action is written.
//
// NEN 7513-style fields: what (event, outcome), when, who (actor, role), on
// whose behalf (municipality), which object (name/id, size, hash), from
// where (source address, channel) and why (reason, on refusals). The
// tamper-evident Merkle log grows out of this table: every write goes
// through append_audit, inside the caller's transaction when there is one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "store/db.h"

namespace kp::store {

struct AuditEvent {
  int64_t id = 0;
  int64_t ts_ms = 0;
  std::string event;    // "auth.login", "sftp.upload", "limit.hit", ...
  std::string outcome;  // "success", "refused", "failed"
  std::optional<std::string> actor, role, municipality, object;
  std::optional<int64_t> size;
  std::optional<std::string> sha256, source, channel, reason;
};

// Appends one event (ts_ms = now when 0). Returns its id.
Result<int64_t> append_audit(Db& db, AuditEvent e);

// Appends a person's successful request through the web pages
// (eHerkenning): outcome success, role person, channel http.
Status audit_person_success(Db& db, const std::string& event, const std::string& person,
                            const std::optional<std::string>& municipality, const std::string& object,
                            const std::string& source);

// Appends the tree leaves of every record that has none (migration 3).
Status rebuild_tree_leaves(Db& db);

// Events in id order, optionally only those of `event` type.
Result<std::vector<AuditEvent>> list_audit(Db& db, const std::optional<std::string>& event);

// The columns read_audit() expects, in order, for SELECTs on audit_events.
inline constexpr const char* kAuditColumns =
    "id, ts_ms, event, outcome, actor, role, municipality, object, size, sha256, source, channel, reason";
AuditEvent read_audit(const Stmt& st);

}  // namespace kp::store

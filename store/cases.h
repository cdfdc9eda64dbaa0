// Cases: one per accepted signal, ranked in the hub's queue. Staff take a
// case for enrichment, decline it (the municipality gets a signed notice)
// or close it once its SIP went out; enrichment responses from the
// municipality join the case they answer instead of the queue.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "store/db.h"

namespace kp::store {

struct Case {
  std::string id;  // "KP-2026-000042"
  int64_t upload_id = 0;
  std::string municipality;
  std::string kind;  // "signal" | "enrichment-response"
  std::optional<std::string> in_reply_to;
  std::string provider_kvk;
  std::string provider_name;
  std::string domain;
  double score = 0;
  std::string score_parts;  // JSON object of the ranking's parts
  std::string queue_name;
  std::string state = "queued";  // queued | taken | declined | closed
  int64_t created_ms = 0;
  std::optional<int64_t> state_ms;          // last decision
  std::optional<std::string> state_by;      // who decided (staff id, or "hub")
  std::optional<std::string> state_reason;  // a decline's reason
  std::optional<int64_t> taken_ms;
};

// Every case, highest score first.
Result<std::vector<Case>> list_cases(Db& db);
Result<std::optional<Case>> find_case(Db& db, const std::string& id);

// The queue files (DATA/queue names) of declined and closed cases and of
// their enrichment replies: staff see them in /decided, not in /queue.
Result<std::set<std::string>> decided_queue_files(Db& db);

// Moves case `id` from state `from` to `to`, recording who, when and why;
// call inside the caller's transaction (with its audit record). Errors:
// "case-state-changed" when the case is no longer in state `from`.
Status set_case_state(Db& db, const std::string& id, const std::string& from, const std::string& to,
                      const std::string& by, const std::optional<std::string>& reason,
                      int64_t now_ms);

// Cases taken for enrichment at or after `since_ms` (capacity per year).
Result<int64_t> cases_taken_since(Db& db, int64_t since_ms);

// An enrichment response (upload) joining its case.
struct Reply {
  int64_t upload_id = 0;
  std::string request_id;
  std::string case_id;
  std::string queue_name;  // its resealed package in DATA/queue
  int64_t created_ms = 0;
};
Status insert_reply(Db& db, const Reply& r);
Result<std::vector<Reply>> replies_of(Db& db, const std::string& case_id);
Result<std::vector<Reply>> list_replies(Db& db);

}  // namespace kp::store

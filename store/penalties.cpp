// Per-source penalties; see penalties.h.
#include "store/penalties.h"

#include <algorithm>

#include "common/log.h"
#include "store/audit_events.h"

namespace kp::store {

namespace {

constexpr const char* kColumns = "block, failures, window_start_ms, banned_until_ms, bans, last_ms, reason";

Penalty read_penalty(const Stmt& st) {
  Penalty p;
  p.block = st.col_text(0);
  p.failures = st.col_int(1);
  p.window_start_ms = st.col_int(2);
  p.banned_until_ms = st.col_int(3);
  p.bans = st.col_int(4);
  p.last_ms = st.col_int(5);
  p.reason = st.col_text(6);
  return p;
}

Status forget_quiet(Db& db, const PenaltyRules& rules, int64_t now_ms) {
  KP_TRY(Stmt st, db.prepare("DELETE FROM penalties WHERE banned_until_ms < ?1 AND last_ms < ?1"));
  st.bind(1, now_ms - rules.max_ms);
  return st.run();
}

int64_t ban_length(const PenaltyRules& rules, int64_t bans) {
  int64_t ms = rules.ban_ms;
  for (int64_t i = 1; i < bans && ms < rules.max_ms; ++i) ms *= 2;
  return std::min(ms, rules.max_ms);
}

}  // namespace

PenaltyRules penalty_rules(const Settings& s) {
  return PenaltyRules{s.ban_after_failures, s.ban_window_seconds * 1000, s.ban_seconds * 1000,
                      std::max(s.ban_max_seconds, s.ban_seconds) * 1000};
}

Result<std::optional<int64_t>> banned_until(Db& db, const std::string& block, int64_t now_ms) {
  KP_TRY(Stmt st, db.prepare("SELECT banned_until_ms FROM penalties WHERE block = ? AND banned_until_ms > ?"));
  st.bind(1, block).bind(2, now_ms);
  KP_TRY(bool row, st.step());
  if (!row) return std::optional<int64_t>();
  return std::optional<int64_t>(st.col_int(0));
}

Result<std::optional<int64_t>> add_failure(Db& db, const std::string& block, const std::string& reason,
                                           const std::string& channel, const PenaltyRules& rules,
                                           int64_t now_ms) {
  KP_TRY(Transaction tx, Transaction::begin(db));
  KP_GUARD(forget_quiet(db, rules, now_ms));
  Penalty p;
  {
    KP_TRY(Stmt st, db.prepare(std::string("SELECT ") + kColumns + " FROM penalties WHERE block = ?"));
    st.bind(1, block);
    KP_TRY(bool row, st.step());
    if (row) p = read_penalty(st);
    else p = Penalty{block, 0, now_ms, 0, 0, now_ms, reason};
  }
  if (p.banned_until_ms > now_ms) return std::optional<int64_t>();  // banned: not counted
  if (now_ms - p.window_start_ms >= rules.window_ms) {
    p.failures = 0;
    p.window_start_ms = now_ms;
  }
  ++p.failures;
  p.last_ms = now_ms;
  p.reason = reason;
  std::optional<int64_t> started;
  if (p.failures >= rules.after_failures) {
    ++p.bans;
    int64_t length = ban_length(rules, p.bans);
    p.banned_until_ms = now_ms + length;
    started = p.banned_until_ms;
    AuditEvent e;
    e.event = "source.banned";
    e.outcome = "refused";
    e.source = block;
    e.channel = channel;
    e.reason = "too-many-failures";
    e.size = length / 1000;
    e.object = "banned until " + log::format_iso8601(p.banned_until_ms) + " (ban " + std::to_string(p.bans) +
               ", after " + std::to_string(p.failures) + " failures, the last " + reason + ")";
    KP_TRY(int64_t id, append_audit(db, e));
    (void)id;
    p.failures = 0;
    p.window_start_ms = now_ms;
  }
  KP_TRY(Stmt put, db.prepare(
      "INSERT INTO penalties(block, failures, window_start_ms, banned_until_ms, bans, last_ms, reason) "
      "VALUES (?,?,?,?,?,?,?) ON CONFLICT(block) DO UPDATE SET failures = excluded.failures, "
      "window_start_ms = excluded.window_start_ms, banned_until_ms = excluded.banned_until_ms, "
      "bans = excluded.bans, last_ms = excluded.last_ms, reason = excluded.reason"));
  put.bind(1, p.block).bind(2, p.failures).bind(3, p.window_start_ms).bind(4, p.banned_until_ms)
      .bind(5, p.bans).bind(6, p.last_ms).bind(7, p.reason);
  KP_GUARD(put.run());
  KP_GUARD(tx.commit());
  return started;
}

Result<std::vector<Penalty>> list_penalties(Db& db, const PenaltyRules& rules, int64_t now_ms) {
  KP_TRY(Stmt st, db.prepare(std::string("SELECT ") + kColumns +
                             " FROM penalties WHERE banned_until_ms >= ?1 OR last_ms >= ?1 "
                             "ORDER BY banned_until_ms > ?2 DESC, last_ms DESC"));
  st.bind(1, now_ms - rules.max_ms).bind(2, now_ms);
  std::vector<Penalty> out;
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) return out;
    out.push_back(read_penalty(st));
  }
}

Result<std::optional<Penalty>> lift_penalty(Db& db, const std::string& block) {
  KP_TRY(Stmt st, db.prepare(std::string("DELETE FROM penalties WHERE block = ? RETURNING ") + kColumns));
  st.bind(1, block);
  KP_TRY(bool row, st.step());
  if (!row) return std::optional<Penalty>();
  Penalty p = read_penalty(st);
  KP_TRY(bool more, st.step());
  (void)more;
  return std::optional<Penalty>(std::move(p));
}

}  // namespace kp::store

// `knooppunt ban list | lift`: the per-source penalties (store/penalties.h)
// as the operator sees them, and lifting one (audited as `ban.lifted`).
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <iostream>

#include "cli/context.h"
#include "cli/handlers.h"
#include "common/address.h"
#include "common/log.h"
#include "common/settings.h"
#include "store/audit_events.h"
#include "store/penalties.h"

namespace kp::cli {

namespace {

Poco::Dynamic::Var time_or_null(int64_t ms) {
  return ms ? Poco::Dynamic::Var(format_time(ms)) : Poco::Dynamic::Var();
}

Status list(const Args& a) {
  KP_TRY(DataDir d, data_dir_of(a));
  KP_TRY(Settings s, load_settings(d.settings()));
  KP_TRY(store::Db db, open_store(d));
  int64_t now = log::now_ms();
  store::PenaltyRules rules = store::penalty_rules(s);
  KP_TRY(auto rows, store::list_penalties(db, rules, now));
  if (a.has("--json")) {
    Poco::JSON::Array arr;
    for (const auto& p : rows) {
      bool banned = p.banned_until_ms > now;
      bool counting = now - p.window_start_ms < rules.window_ms;
      Poco::JSON::Object o;
      o.set("source", p.block);
      o.set("banned", banned);
      o.set("banned_until", banned ? Poco::Dynamic::Var(format_time(p.banned_until_ms)) : Poco::Dynamic::Var());
      o.set("banned_until_ms", banned ? Poco::Dynamic::Var(p.banned_until_ms) : Poco::Dynamic::Var());
      o.set("failures", counting ? p.failures : 0);
      o.set("failures_to_ban", rules.after_failures);
      o.set("bans", p.bans);
      o.set("last_failure", time_or_null(p.last_ms));
      o.set("last_reason", p.reason);
      arr.add(o);
    }
    arr.stringify(std::cout);
    std::cout << "\n";
    return ok_status();
  }
  if (rows.empty()) std::cout << "no source is banned or has failures counted\n";
  for (const auto& p : rows) {
    bool counting = now - p.window_start_ms < rules.window_ms;
    std::cout << p.block << "\t"
              << (p.banned_until_ms > now ? "banned until " + format_time(p.banned_until_ms)
                                          : std::to_string(counting ? p.failures : 0) + "/" +
                                                std::to_string(rules.after_failures) + " failures")
              << "\tbans " << p.bans << "\tlast " << format_time(p.last_ms) << " " << p.reason << "\n";
  }
  return ok_status();
}

Status lift(const Args& a) {
  const std::string& address = a.positional[0];
  auto block = source_block(address);
  KP_ENSURE(block, "address-invalid", "'" + address + "' is not an IPv4 or IPv6 address (or an IPv6 /64)");
  KP_TRY(DataDir d, data_dir_of(a));
  KP_TRY(store::Db db, open_store(d));
  KP_TRY(auto gone, store::lift_penalty(db, *block));
  KP_ENSURE(gone, "not-banned", "no ban or failure is recorded for " + *block);
  store::AuditEvent e;
  e.event = "ban.lifted";
  e.outcome = "success";
  e.actor = "operator";
  e.role = "operator";
  e.source = *block;
  e.channel = "cli";
  e.object = gone->banned_until_ms > log::now_ms()
                 ? "ban until " + format_time(gone->banned_until_ms) + " lifted"
                 : std::to_string(gone->failures) + " failures forgotten";
  KP_ENSURE(store::append_audit(db, e).ok(), "audit-failed", "ban.lifted");
  std::cout << *block << ": " << *e.object << "\n";
  return ok_status();
}

int exit_of(const Status& s) { return s.ok() ? kExitOk : fail(s.error()); }

}  // namespace

int cmd_ban_list(const Args& a) { return exit_of(list(a)); }
int cmd_ban_lift(const Args& a) { return exit_of(lift(a)); }

}  // namespace kp::cli

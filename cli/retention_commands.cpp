// `knooppunt retention show | sweep`: what the retention sweeper will delete
// and when, with the configured periods; and one sweep on demand (workers
// sweep by themselves every retention_sweep_interval). Rules in
// policy/retention.h, the sweeper in workers/retention.h.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <cstdio>
#include <iostream>

#include "cli/context.h"
#include "cli/handlers.h"
#include "common/log.h"
#include "common/settings.h"
#include "policy/retention.h"
#include "store/retention.h"
#include "workers/retention.h"

namespace kp::cli {

namespace {

using policy::RetentionKind;

// What a person recognises an item by: the case id for a case's package,
// else the file's name.
std::string object_of(const store::RetentionItem& item) {
  return item.source == "case" ? item.key : item.name;
}

Poco::JSON::Object period_json(const std::string& kind, std::string_view setting, int64_t ms,
                               std::string_view clock) {
  Poco::JSON::Object o;
  o.set("kind", kind);
  o.set("setting", std::string(setting));
  o.set("value", format_duration(ms / 1000));
  o.set("seconds", ms / 1000);
  o.set("clock_starts", std::string(clock));
  return o;
}

void print_json(const policy::RetentionPeriods& periods, const store::AuditLogSpan& log_span,
                const std::vector<workers::ScheduledItem>& schedule, std::size_t pending,
                int64_t now) {
  Poco::JSON::Object root;
  Poco::JSON::Array ps;
  for (RetentionKind k : policy::retention_kinds())
    ps.add(period_json(std::string(policy::retention_kind_name(k)),
                       policy::retention_setting_key(k), policy::period_ms(k, periods),
                       policy::retention_clock_name(k)));
  auto audit = period_json("audit_log", "retention_audit_log", periods.audit_log_ms, "recorded");
  audit.set("deleted_by_sweeper", false);
  ps.add(audit);
  root.set("periods", ps);
  Poco::JSON::Object log_o;
  log_o.set("records", log_span.records);
  log_o.set("oldest", log_span.oldest_ms
                          ? Poco::Dynamic::Var(log::format_iso8601(*log_span.oldest_ms))
                          : Poco::Dynamic::Var());
  log_o.set("review_due", log_span.oldest_ms ? Poco::Dynamic::Var(log::format_iso8601(
                                                   *log_span.oldest_ms + periods.audit_log_ms))
                                             : Poco::Dynamic::Var());
  root.set("audit_log", log_o);
  Poco::JSON::Array items;
  for (const auto& s : schedule) {
    Poco::JSON::Object o;
    o.set("due", log::format_iso8601(s.due_ms));
    o.set("due_ms", s.due_ms);
    o.set("overdue", s.due_ms <= now);
    o.set("kind", std::string(policy::retention_kind_name(s.item.kind)));
    o.set("municipality", s.item.municipality);
    o.set("object", object_of(s.item));
    o.set("file", s.item.name);
    o.set("ref", s.item.ref());
    o.set("clock", s.item.state);
    o.set("clock_start", log::format_iso8601(*s.item.clock_ms));
    o.set("clock_start_ms", *s.item.clock_ms);
    Poco::JSON::Array files;
    for (const auto& f : workers::retention_files(s.item)) files.add(f);
    o.set("files", files);
    items.add(o);
  }
  root.set("items", items);
  root.set("pending_unlinks", static_cast<int64_t>(pending));
  root.stringify(std::cout);
  std::cout << "\n";
}

void print_text(const policy::RetentionPeriods& periods, const store::AuditLogSpan& log_span,
                const std::vector<workers::ScheduledItem>& schedule, std::size_t pending) {
  std::cout << "retention periods (knooppunt.conf):\n";
  char line[256];
  for (RetentionKind k : policy::retention_kinds()) {
    std::snprintf(line, sizeof line, "  %-11s %-7s %-21s after: %s\n",
                  std::string(policy::retention_kind_name(k)).c_str(),
                  format_duration(policy::period_ms(k, periods) / 1000).c_str(),
                  std::string(policy::retention_setting_key(k)).c_str(),
                  std::string(policy::retention_clock_name(k)).c_str());
    std::cout << line;
  }
  std::snprintf(line, sizeof line, "  %-11s %-7s %-21s never deleted by the sweeper\n", "audit_log",
                format_duration(periods.audit_log_ms / 1000).c_str(), "retention_audit_log");
  std::cout << line;
  if (log_span.oldest_ms)
    std::cout << "  transfer log: " << log_span.records << " records since "
              << log::format_iso8601(*log_span.oldest_ms) << "; review for retirement by "
              << log::format_iso8601(*log_span.oldest_ms + periods.audit_log_ms) << "\n";
  std::cout << "\n";
  if (schedule.empty()) {
    std::cout << "nothing is scheduled: no item's retention clock is running\n";
  } else {
    std::snprintf(line, sizeof line, "%-24s  %-10s  %-6s  %-24s  %s\n", "due", "kind", "muni",
                  "clock start", "object");
    std::cout << line;
    for (const auto& s : schedule) {
      std::snprintf(line, sizeof line, "%-24s  %-10s  %-6s  %-24s  ",
                    log::format_iso8601(s.due_ms).c_str(),
                    std::string(policy::retention_kind_name(s.item.kind)).c_str(),
                    s.item.municipality.c_str(), log::format_iso8601(*s.item.clock_ms).c_str());
      std::cout << line << object_of(s.item) << " (" << s.item.state << ")\n";
    }
  }
  if (pending)
    std::cout << pending
              << " deletion(s) still have files to remove; the next sweep finishes them\n";
}

}  // namespace

int cmd_retention_show(const Args& a) {
  auto run = [&]() -> Status {
    KP_TRY(DataDir d, data_dir_of(a));
    KP_TRY(store::Db db, open_store(d));
    KP_TRY(Settings settings, load_settings(d.settings()));
    auto periods = policy::retention_periods(settings);
    KP_TRY(auto schedule, workers::retention_schedule(db, periods));
    KP_TRY(auto span, store::audit_log_span(db));
    KP_TRY(auto pending, store::pending_unlinks(db));
    if (a.has("--json"))
      print_json(periods, span, schedule, pending.size(), log::now_ms());
    else
      print_text(periods, span, schedule, pending.size());
    return ok_status();
  };
  Status s = run();
  return s.ok() ? kExitOk : fail(s.error());
}

int cmd_retention_sweep(const Args& a) {
  auto run = [&]() -> Status {
    KP_TRY(DataDir d, data_dir_of(a));
    KP_TRY(store::Db db, open_store(d));
    KP_TRY(Settings settings, load_settings(d.settings()));
    KP_TRY(auto report, workers::sweep_retention(d, db, policy::retention_periods(settings),
                                                 log::now_ms(), "cli"));
    if (a.has("--json")) {
      Poco::JSON::Object o;
      o.set("deleted", report.deleted);
      o.set("finished", report.finished);
      o.set("waiting", report.waiting);
      o.set("failed", report.failed);
      o.stringify(std::cout);
      std::cout << "\n";
    } else {
      std::cout << "retention sweep: " << report.deleted << " deleted, " << report.finished
                << " earlier deletion(s) finished, " << report.waiting
                << " expired but not yet placed, " << report.failed << " with files left\n";
    }
    KP_ENSURE(report.failed == 0, "retention-incomplete",
              std::to_string(report.failed) +
                  " deletion(s) could not remove every file (see the log); the next sweep "
                  "tries again");
    return ok_status();
  };
  Status s = run();
  return s.ok() ? kExitOk : fail(s.error());
}

}  // namespace kp::cli

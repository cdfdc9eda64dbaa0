// `knooppunt queue list|take|decline|close`: the hub's ranked queue of
// cases and the decisions on them. A case is taken for enrichment (within
// the yearly capacity, a setting), declined (the municipality gets a notice
// in its outbox, signed by the hub key, with the reason), or closed once
// its SIP went out. Each decision is one transaction with its audit record.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <ctime>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "common/dates.h"
#include "cli/context.h"
#include "cli/handlers.h"
#include "common/log.h"
#include "common/settings.h"
#include "keys/keystore.h"
#include "policy/identifiers.h"
#include "policy/manifest.h"
#include "policy/ranking.h"
#include "store/accepted_manifests.h"
#include "store/audit_events.h"
#include "store/cases.h"
#include "store/intake.h"
#include "store/notifications.h"
#include "store/outbox.h"
#include "store/registry.h"
#include "store/uploads.h"
#include "workers/publish.h"

namespace kp::cli {

namespace {

int64_t year_start_ms(int64_t now_ms, int* year) {
  *year = utc_year(now_ms);
  std::tm start{};
  start.tm_year = *year - 1900;
  start.tm_mday = 1;
  return static_cast<int64_t>(timegm(&start)) * 1000;
}

struct Capacity {
  int year = 0;
  int64_t taken = 0;
  int64_t per_year = 0;
};

Result<Capacity> capacity_of(const DataDir& d, store::Db& db) {
  KP_TRY(Settings s, load_settings(d.settings()));
  Capacity c;
  c.per_year = s.case_capacity_per_year;
  KP_TRY(c.taken, store::cases_taken_since(db, year_start_ms(log::now_ms(), &c.year)));
  return c;
}

// Who decides: a registered staff member (--staff ID) or the operator.
Result<std::string> decider(const Args& a, store::Db& db) {
  auto staff = a.get("--staff");
  if (!staff) return std::string("operator");
  KP_ENSURE(policy::valid_account_id(*staff), "id-invalid", "'" + *staff + "' is not a valid id");
  KP_TRY(auto acc, store::find_account(db, *staff));
  KP_ENSURE(acc && acc->role == "staff", "unknown-user",
            *staff + " is not a registered staff member");
  return *staff;
}

Result<store::Case> case_arg(const Args& a, store::Db& db) {
  const std::string& id = a.positional[0];
  KP_ENSURE(policy::valid_case_id(id), "case-id-invalid",
            "'" + id + "' is not a case id (KP-YYYY-NNNNNN)");
  KP_TRY(auto c, store::find_case(db, id));
  KP_ENSURE(c, "case-unknown", "there is no case " + id);
  return *c;
}

store::AuditEvent decision_event(const store::Case& c, const std::string& event,
                                 const std::string& by) {
  store::AuditEvent e;
  e.event = event;
  e.outcome = "success";
  e.actor = by;
  e.role = by == "operator" ? "operator" : "staff";
  e.municipality = c.municipality;
  e.object = "case/" + c.id;
  e.channel = "cli";
  return e;
}

// Changes the state in one transaction with its audit record; `extra` runs
// inside it (the decline notice).
Status decide(store::Db& db, const store::Case& c, const std::string& to, const std::string& by,
              const std::optional<std::string>& reason, const std::function<Status()>& extra = {}) {
  KP_TRY(store::Transaction tx, store::Transaction::begin(db));
  int64_t now = log::now_ms();
  KP_GUARD(store::set_case_state(db, c.id, c.state, to, by, reason, now));
  store::AuditEvent e = decision_event(c, "case." + to, by);
  e.reason = reason ? std::optional<std::string>("declined") : std::nullopt;
  KP_GUARD(store::append_audit(db, e).ok() ? ok_status() : make_error("audit-failed", e.event));
  if (extra) KP_GUARD(extra());
  return tx.commit();
}

Poco::JSON::Object case_json(store::Db& db, const store::Case& c) {
  Poco::JSON::Object o;
  o.set("case_id", c.id);
  o.set("municipality", c.municipality);
  o.set("kind", c.kind);
  Poco::JSON::Object provider;
  provider.set("kvk", c.provider_kvk);
  provider.set("name", c.provider_name);
  o.set("provider", provider);
  o.set("domain", c.domain);
  o.set("rank", c.score);
  try {
    Poco::JSON::Parser p;
    o.set("rank_parts", p.parse(c.score_parts));
  } catch (const Poco::Exception&) {
    o.set("rank_parts", Poco::Dynamic::Var());
  }
  Poco::JSON::Array matches;
  auto m = store::other_reports_of(db, c.provider_kvk, c.municipality);
  if (m.ok())
    for (const auto& x : *m) {
      Poco::JSON::Object mo;
      mo.set("municipality", x.municipality);
      mo.set("first_reported", format_time(x.first_ms));
      matches.add(mo);
    }
  o.set("matches", matches);
  Poco::JSON::Array same;
  auto same_files = store::same_files_as(db, c.id);
  if (same_files.ok())
    for (const auto& id : *same_files) same.add(id);
  o.set("same_files_as", same);
  o.set("state", c.state);
  o.set("created", format_time(c.created_ms));
  o.set("state_changed",
        c.state_ms ? Poco::Dynamic::Var(format_time(*c.state_ms)) : Poco::Dynamic::Var());
  o.set("state_by", c.state_by ? Poco::Dynamic::Var(*c.state_by) : Poco::Dynamic::Var());
  o.set("queue_file", c.queue_name);
  Poco::JSON::Array replies;
  auto rs = store::replies_of(db, c.id);
  if (rs.ok())
    for (const auto& r : *rs) replies.add(r.queue_name);
  o.set("replies", replies);
  Poco::JSON::Array sent;
  auto items = store::outbox_items_of_case(db, c.id);
  if (items.ok())
    for (const auto& i : *items)
      if (i.kind != "receipt") sent.add(i.name);
  o.set("sent", sent);
  return o;
}

}  // namespace

int cmd_queue_list(const Args& a) {
  auto run = [&]() -> Status {
    KP_TRY(DataDir d, data_dir_of(a));
    KP_TRY(store::Db db, open_store(d));
    KP_TRY(auto cases, store::list_cases(db));
    KP_TRY(Capacity cap, capacity_of(d, db));
    if (a.has("--json")) {
      Poco::JSON::Array arr;
      for (const auto& c : cases) arr.add(case_json(db, c));
      arr.stringify(std::cout);
      std::cout << "\n";
      return ok_status();
    }
    std::cout << "capacity " << cap.year << ": " << cap.taken << " of " << cap.per_year
              << " cases taken\n";
    if (!cases.empty()) std::cout << "case\tmunicipality\trank\tstate\tdomain\tprovider\tparts\tmatches\n";
    for (const auto& c : cases) {
      auto matches = store::other_reports_of(db, c.provider_kvk, c.municipality);
      std::string also;
      if (matches.ok())
        for (const auto& m : *matches) also += (also.empty() ? "" : ",") + m.municipality;
      std::string same;
      auto same_files = store::same_files_as(db, c.id);
      if (same_files.ok())
        for (const auto& id : *same_files) same += (same.empty() ? "" : ",") + id;
      // The rank as the queue file spells it (rank-045: rounded half up).
      std::cout << c.id << "\t" << c.municipality << "\t" << policy::rank_label(c.score) << "\t" << c.state << "\t"
                << c.domain << "\tkvk " << c.provider_kvk << " " << c.provider_name << "\t"
                << c.score_parts << (also.empty() ? "" : "\talso reported by " + also)
                << (same.empty() ? "" : "\tsame files as " + same) << "\n";
    }
    return ok_status();
  };
  Status s = run();
  return s.ok() ? kExitOk : fail(s.error());
}

int cmd_queue_take(const Args& a) {
  auto run = [&]() -> Status {
    KP_TRY(DataDir d, data_dir_of(a));
    KP_TRY(store::Db db, open_store(d));
    KP_TRY(store::Case c, case_arg(a, db));
    KP_ENSURE(c.state == "queued", "case-state",
              "case " + c.id + " is " + c.state + ", not queued");
    KP_TRY(std::string by, decider(a, db));
    KP_TRY(Capacity cap, capacity_of(d, db));
    KP_ENSURE(cap.taken < cap.per_year, "capacity-reached",
              "the hub took " + std::to_string(cap.taken) + " cases in " +
                  std::to_string(cap.year) + ", its capacity (case_capacity_per_year)");
    KP_GUARD(decide(db, c, "taken", by, std::nullopt));
    std::cout << "case " << c.id << " taken for enrichment (" << cap.taken + 1 << " of "
              << cap.per_year << " in " << cap.year << ")\n";
    return ok_status();
  };
  Status s = run();
  return s.ok() ? kExitOk : fail(s.error());
}

int cmd_queue_decline(const Args& a) {
  auto run = [&]() -> Status {
    auto reason = a.get("--reason");
    KP_ENSURE(reason, "usage", "--reason TEXT is required: the municipality is told why");
    Status text_ok = policy::check_line_text(*reason, "--reason", 1000);
    KP_ENSURE(text_ok.ok(), "reason-invalid", text_ok.ok() ? "" : text_ok.error().detail);
    KP_TRY(DataDir d, data_dir_of(a));
    KP_TRY(store::Db db, open_store(d));
    KP_TRY(store::Case c, case_arg(a, db));
    KP_ENSURE(c.state == "queued" || c.state == "taken", "case-state",
              "case " + c.id + " is already " + c.state);
    KP_TRY(std::string by, decider(a, db));
    KP_TRY(minisign::SecretKey hub, keys::load_hub_key(d));
    KP_TRY(auto upload, store::find_upload(db, c.upload_id));
    KP_ENSURE(upload, "store-failed", "the upload of case " + c.id + " is missing");
    int64_t now = log::now_ms();
    Poco::JSON::Object n;
    n.set("format", "knooppunt-notice/1");
    n.set("case_id", c.id);
    n.set("municipality", c.municipality);
    n.set("upload", upload->name);
    n.set("decision", "declined");
    n.set("reason", *reason);
    n.set("decided", log::format_iso8601(now));
    std::ostringstream body;
    n.stringify(body, 2);
    body << "\n";
    KP_TRY(std::string sig,
           minisign::sign(hub, body.str(), "knooppunt notice: case " + c.id + " declined",
                          "signed by the knooppunt hub key"));
    store::OutboxItem item;
    item.municipality = c.municipality;
    item.name = "notice-" + c.id + ".json";
    item.kind = "notice";
    item.case_id = c.id;
    item.upload_id = c.upload_id;
    item.body = body.str();
    item.signature = sig;
    item.created_ms = now;
    KP_GUARD(decide(db, c, "declined", by, *reason, [&]() -> Status {
      KP_TRY(item.id, store::insert_outbox_item(db, item));
      KP_TRY(int queued, store::enqueue_notifications(db, item, now));
      (void)queued;
      return ok_status();
    }));
    KP_GUARD(workers::place_outbox_item(d, db, item));
    std::cout << "case " << c.id << " declined; " << item.name << " placed in the outbox of "
              << c.municipality << "\n";
    return ok_status();
  };
  Status s = run();
  return s.ok() ? kExitOk : fail(s.error());
}

int cmd_queue_close(const Args& a) {
  auto run = [&]() -> Status {
    KP_TRY(DataDir d, data_dir_of(a));
    KP_TRY(store::Db db, open_store(d));
    KP_TRY(store::Case c, case_arg(a, db));
    KP_ENSURE(c.state == "taken", "case-state",
              "case " + c.id + " is " + c.state + "; only a taken case is closed");
    KP_TRY(auto items, store::outbox_items_of_case(db, c.id));
    bool sip = false;
    for (const auto& i : items) sip = sip || i.kind == "sip";
    KP_ENSURE(sip, "case-no-sip",
              "no SIP went out for case " + c.id + " yet; publish it first (sip publish)");
    KP_TRY(std::string by, decider(a, db));
    KP_GUARD(decide(db, c, "closed", by, std::nullopt));
    std::cout << "case " << c.id << " closed\n";
    return ok_status();
  };
  Status s = run();
  return s.ok() ? kExitOk : fail(s.error());
}

}  // namespace kp::cli

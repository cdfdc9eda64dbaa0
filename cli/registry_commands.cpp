// Registry subcommands: municipalities, persons, staff, auditors (and their
// web tokens), mandates.
// Every refusal names its reason; every change is audited.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <iostream>
#include <sstream>

#include "cli/context.h"
#include "cli/handlers.h"
#include "cli/key_checks.h"
#include "common/datadir.h"
#include "common/log.h"
#include "gateway/web_token.h"
#include "keys/ssh_key.h"
#include "policy/identifiers.h"
#include "policy/mandate.h"
#include "store/audit_events.h"
#include "store/auditor_tokens.h"
#include "store/eherkenning.h"
#include "store/registry.h"

namespace kp::cli {

namespace {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

Status audit_admin(store::Db& db, const std::string& event, const std::string& object,
                   const std::optional<std::string>& municipality) {
  store::AuditEvent e;
  e.event = event;
  e.outcome = "success";
  e.actor = "operator";
  e.role = "operator";
  e.municipality = municipality;
  e.object = object;
  e.channel = "cli";
  return append_audit(db, e).ok() ? ok_status() : make_error("audit-failed", event);
}

Status add_account_cmd(const Args& a, const std::string& role) {
  const std::string& id = a.positional[0];
  KP_ENSURE(policy::valid_account_id(id), "id-invalid",
            "'" + id + "' is not a valid id (lowercase letters, digits, . _ -; at most 64)");
  // Actors the gateway itself names in the log and in submissions.
  KP_ENSURE(id != "hub" && id != "operator" && id != "system", "id-reserved",
            "'" + id + "' is kept for the gateway's own actions");
  auto ssh_path = a.get("--ssh-key");
  KP_ENSURE(ssh_path, "usage", "--ssh-key FILE.pub is required");
  KP_TRY(store::SshKeyRecord key, keys::read_ssh_public_key(*ssh_path));
  store::Account acc;
  acc.id = id;
  acc.role = role;
  acc.email = a.get("--email");
  if (role != "auditor") {
    auto sign_path = a.get("--sign-key");
    KP_ENSURE(sign_path, "usage", "--sign-key MINISIGN.pub is required");
    KP_TRY(std::string sign_key, read_sign_key(*sign_path));
    acc.sign_key = sign_key;
  }
  if (role == "staff") {
    auto r = a.get("--recipient");
    KP_ENSURE(r, "usage", "--recipient age1... is required");
    KP_GUARD(check_recipient(*r));
    acc.recipient = *r;
  }
  if (acc.email) {
    KP_ENSURE(acc.email->find('@') != std::string::npos &&
                  acc.email->find_first_of(" \r\n<>") == std::string::npos,
              "email-invalid", "'" + *acc.email + "' is not an email address");
  }
  // Read and check the token before anything is stored, so a weak one
  // leaves no half-registered auditor behind.
  std::optional<store::TokenHash> token;
  if (auto token_path = a.get("--token-file")) {
    KP_ENSURE(role == "auditor", "usage", "--token-file is for auditors");
    KP_TRY(std::string text, gateway::read_token_file(*token_path));
    token = gateway::hash_token(text);
  }
  KP_TRY(DataDir d, data_dir_of(a));
  KP_TRY(store::Db db, open_store(d));
  KP_GUARD(store::add_account(db, acc, key, log::now_ms()));
  KP_GUARD(audit_admin(db, role + ".add", id, std::nullopt));
  if (token) {
    KP_GUARD(store::set_auditor_token(db, id, *token, log::now_ms()));
    KP_GUARD(audit_admin(db, "auditor.token_set", id, std::nullopt));
  }
  std::cout << role << " " << id << " added (" << key.key_type << " " << key.fingerprint << ")"
            << (token ? ", web token set" : "") << "\n";
  return ok_status();
}

int list_accounts_cmd(const Args& a, const std::string& role) {
  auto d = data_dir_of(a);
  if (!d.ok()) return fail(d.error());
  auto db = open_store(*d);
  if (!db.ok()) return fail(db.error());
  auto list = store::list_accounts(*db, role);
  if (!list.ok()) return fail(list.error());
  if (a.has("--json")) {
    Poco::JSON::Array arr;
    for (const auto& acc : *list) {
      Poco::JSON::Object o;
      o.set("id", acc.id);
      o.set("role", acc.role);
      o.set("email", acc.email ? Poco::Dynamic::Var(*acc.email) : Poco::Dynamic::Var());
      o.set("recipient", acc.recipient ? Poco::Dynamic::Var(*acc.recipient) : Poco::Dynamic::Var());
      o.set("disabled", acc.disabled_ms ? Poco::Dynamic::Var(format_time(*acc.disabled_ms))
                                        : Poco::Dynamic::Var());
      arr.add(o);
    }
    arr.stringify(std::cout);
    std::cout << "\n";
  } else {
    if (!list->empty()) std::cout << "id\temail\tstate\n";
    for (const auto& acc : *list)
      std::cout << acc.id << "\t" << (acc.email ? *acc.email : "-") << "\t"
                << (acc.disabled_ms ? "disabled" : "active") << "\n";
  }
  return kExitOk;
}

int status_to_exit(const Status& s) {
  return s.ok() ? kExitOk : fail(s.error());
}

std::string mandate_state(const policy::Mandate& m, int64_t now) {
  Status s = policy::check_mandate(m, now, std::nullopt);
  if (s.ok()) return m.activated_ms ? "active" : "granted";
  return s.error().code.substr(std::string("mandate-").size());
}

}  // namespace

int cmd_municipality_add(const Args& a) {
  auto run = [&]() -> Status {
    const std::string& code = a.positional[0];
    KP_ENSURE(policy::valid_municipality_code(code), "municipality-code-invalid",
              "'" + code + "' is not a CBS municipality code (GM followed by 4 digits)");
    auto name = a.get("--name");
    KP_ENSURE(name && !name->empty(), "usage", "--name NAME is required");
    store::Municipality m{code, *name, split_commas(a.get_or("--recipient", ""))};
    for (const auto& r : m.recipients) KP_GUARD(check_recipient(r));
    KP_TRY(DataDir d, data_dir_of(a));
    KP_TRY(store::Db db, open_store(d));
    KP_GUARD(ensure_box(d, code));
    auto kvk = a.get("--kvk");
    auto rsin = a.get("--rsin");
    KP_ENSURE(!kvk || policy::valid_kvk(*kvk), "kvk-invalid", "--kvk wants a KvK number (8 digits)");
    KP_ENSURE(!rsin || policy::valid_bsn(*rsin), "rsin-invalid", "--rsin wants an RSIN (9 digits, 11-test)");
    for (const auto& [kind, number] : {std::pair{"kvk", kvk}, std::pair{"rsin", rsin}}) {
      if (!number) continue;
      KP_TRY(auto holder, store::municipality_by_org(db, kind, *number));
      KP_ENSURE(!holder, "already-exists", *number + " is already the " + kind + " of " + holder.value_or(""));
    }
    KP_GUARD(store::add_municipality(db, m, log::now_ms()));
    if (kvk || rsin) KP_GUARD(store::set_municipality_org(db, code, kvk, rsin));
    KP_GUARD(audit_admin(db, "municipality.add", code, code));
    std::cout << "municipality " << code << " (" << *name << ") added\n";
    return ok_status();
  };
  return status_to_exit(run());
}

int cmd_municipality_recipients(const Args& a) {
  auto run = [&]() -> Status {
    const std::string& code = a.positional[0];
    KP_ENSURE(policy::valid_municipality_code(code), "municipality-code-invalid",
              "'" + code + "' is not a CBS municipality code (GM followed by 4 digits)");
    auto set = a.get("--set");
    KP_ENSURE(set, "usage", "--set age1...[,age1...] is required");
    auto recipients = split_commas(*set);
    KP_ENSURE(!recipients.empty(), "usage", "give at least one recipient");
    for (const auto& r : recipients) KP_GUARD(check_recipient(r));
    KP_TRY(DataDir d, data_dir_of(a));
    KP_TRY(store::Db db, open_store(d));
    KP_TRY(auto m, store::find_municipality(db, code));
    KP_ENSURE(m, "not-found", "municipality " + code + " is not registered");
    store::AuditEvent e;
    e.event = "municipality.recipients";
    e.outcome = "success";
    e.actor = "operator";
    e.role = "operator";
    e.municipality = code;
    e.object = code + " " + std::to_string(recipients.size()) + " recipient(s)";
    e.channel = "cli";
    KP_GUARD(store::set_municipality_recipients(db, code, recipients, log::now_ms(), e));
    std::cout << "municipality " << code << " now has " << recipients.size()
              << " recipient(s); new SIPs and requests are sealed to them\n";
    return ok_status();
  };
  return status_to_exit(run());
}

int cmd_municipality_list(const Args& a) {
  auto d = data_dir_of(a);
  if (!d.ok()) return fail(d.error());
  auto db = open_store(*d);
  if (!db.ok()) return fail(db.error());
  auto list = store::list_municipalities(*db);
  if (!list.ok()) return fail(list.error());
  if (a.has("--json")) {
    Poco::JSON::Array arr;
    for (const auto& m : *list) {
      Poco::JSON::Object o;
      o.set("code", m.code);
      o.set("name", m.name);
      Poco::JSON::Array rs;
      for (const auto& r : m.recipients) rs.add(r);
      o.set("recipients", rs);
      arr.add(o);
    }
    arr.stringify(std::cout);
    std::cout << "\n";
  } else {
    if (!list->empty()) std::cout << "code\tname\n";
    for (const auto& m : *list) std::cout << m.code << "\t" << m.name << "\n";
  }
  return kExitOk;
}

int cmd_person_add(const Args& a) { return status_to_exit(add_account_cmd(a, "person")); }
int cmd_staff_add(const Args& a) { return status_to_exit(add_account_cmd(a, "staff")); }
int cmd_auditor_add(const Args& a) { return status_to_exit(add_account_cmd(a, "auditor")); }
int cmd_auditor_token(const Args& a) {
  auto run = [&]() -> Status {
    const std::string& id = a.positional[0];
    KP_ENSURE(policy::valid_account_id(id), "id-invalid", "'" + id + "' is not a valid id");
    auto token_path = a.get("--token-file");
    KP_ENSURE(token_path, "usage", "--token-file FILE is required");
    KP_TRY(std::string text, gateway::read_token_file(*token_path));
    KP_TRY(DataDir d, data_dir_of(a));
    KP_TRY(store::Db db, open_store(d));
    KP_GUARD(store::set_auditor_token(db, id, gateway::hash_token(text), log::now_ms()));
    KP_GUARD(audit_admin(db, "auditor.token_set", id, std::nullopt));
    std::cout << "web token of auditor " << id << " set\n";
    return ok_status();
  };
  return status_to_exit(run());
}
int cmd_person_list(const Args& a) { return list_accounts_cmd(a, "person"); }
int cmd_staff_list(const Args& a) { return list_accounts_cmd(a, "staff"); }
int cmd_auditor_list(const Args& a) { return list_accounts_cmd(a, "auditor"); }

int cmd_mandate_grant(const Args& a) {
  auto run = [&]() -> Status {
    const std::string& person = a.positional[0];
    const std::string& code = a.positional[1];
    KP_ENSURE(policy::valid_account_id(person), "id-invalid", "'" + person + "' is not a valid id");
    KP_ENSURE(policy::valid_municipality_code(code), "municipality-code-invalid",
              "'" + code + "' is not a CBS municipality code (GM followed by 4 digits)");
    std::string level_text = a.get_or("--level", "EH3");
    auto level = policy::parse_level(level_text);
    KP_ENSURE(level, "level-invalid", "'" + level_text + "' is not an assurance level (EH1..EH4)");
    KP_ENSURE(*level >= policy::kMinimumLevel, "mandate-level-too-low",
              "assurance level " + level_text + " is below EH3; mandates need EH3 or higher");
    auto scopes = policy::normalise_scopes(a.get_or("--scope", "upload,download"));
    KP_ENSURE(scopes, "scope-invalid", "--scope takes upload, download or upload,download");
    int64_t now = log::now_ms();
    policy::Mandate m;
    m.person = person;
    m.municipality = code;
    m.scopes = *scopes;
    m.level = policy::level_name(*level);
    m.granted_ms = now;
    m.valid_from_ms = now;
    if (auto from = a.get("--from")) {
      KP_TRY(int64_t from_ms, parse_date_ms(*from));
      m.valid_from_ms = from_ms;
    }
    if (auto until = a.get("--until")) {
      KP_TRY(int64_t until_day, parse_date_ms(*until));
      m.valid_until_ms = until_day + 86400000;  // the whole last day is valid
      KP_ENSURE(*m.valid_until_ms > now, "until-in-past",
                "--until " + *until + " lies in the past");
      KP_ENSURE(*m.valid_until_ms > m.valid_from_ms, "until-before-from",
                "--until is before --from");
    }
    KP_TRY(DataDir d, data_dir_of(a));
    KP_TRY(store::Db db, open_store(d));
    KP_TRY(auto person_row, store::find_account(db, person));
    KP_ENSURE(person_row && person_row->role == "person", "not-found", "no person " + person);
    KP_TRY(auto muni, store::find_municipality(db, code));
    KP_ENSURE(muni, "not-found", "no municipality " + code);
    KP_TRY(int64_t id, store::grant_mandate(db, m));
    KP_GUARD(audit_admin(db, "mandate.grant", person + "@" + code, code));
    std::cout << "mandate " << id << ": " << person << " for " << code << " (" << m.level << ", "
              << m.scopes << ")\n";
    return ok_status();
  };
  return status_to_exit(run());
}

int cmd_account_disable(const Args& a) {
  auto run = [&]() -> Status {
    const std::string& id = a.positional[0];
    KP_ENSURE(policy::valid_account_id(id), "id-invalid", "'" + id + "' is not a valid id");
    KP_TRY(DataDir d, data_dir_of(a));
    KP_TRY(store::Db db, open_store(d));
    KP_GUARD(store::disable_account(db, id, log::now_ms()));
    KP_GUARD(audit_admin(db, "account.disable", id, std::nullopt));
    std::cout << "account " << id << " disabled\n";
    return ok_status();
  };
  return status_to_exit(run());
}

int cmd_mandate_revoke(const Args& a) {
  auto run = [&]() -> Status {
    const std::string& person = a.positional[0];
    const std::string& code = a.positional[1];
    KP_ENSURE(policy::valid_account_id(person), "id-invalid", "'" + person + "' is not a valid id");
    KP_ENSURE(policy::valid_municipality_code(code), "municipality-code-invalid",
              "'" + code + "' is not a CBS municipality code");
    KP_TRY(DataDir d, data_dir_of(a));
    KP_TRY(store::Db db, open_store(d));
    KP_GUARD(store::revoke_mandate(db, person, code, log::now_ms()));
    KP_GUARD(audit_admin(db, "mandate.revoke", person + "@" + code, code));
    std::cout << "mandate of " << person << " for " << code << " revoked\n";
    return ok_status();
  };
  return status_to_exit(run());
}

int cmd_mandate_list(const Args& a) {
  auto d = data_dir_of(a);
  if (!d.ok()) return fail(d.error());
  auto db = open_store(*d);
  if (!db.ok()) return fail(db.error());
  auto list = store::list_mandates(*db);
  if (!list.ok()) return fail(list.error());
  int64_t now = log::now_ms();
  if (a.has("--json")) {
    Poco::JSON::Array arr;
    for (const auto& m : *list) {
      Poco::JSON::Object o;
      o.set("id", m.id);
      o.set("person", m.person);
      o.set("municipality", m.municipality);
      o.set("scopes", m.scopes);
      o.set("level", m.level);
      o.set("valid_from", format_time(m.valid_from_ms));
      o.set("valid_until", m.valid_until_ms ? Poco::Dynamic::Var(format_time(*m.valid_until_ms))
                                            : Poco::Dynamic::Var());
      o.set("activated", m.activated_ms ? Poco::Dynamic::Var(format_time(*m.activated_ms))
                                        : Poco::Dynamic::Var());
      o.set("revoked",
            m.revoked_ms ? Poco::Dynamic::Var(format_time(*m.revoked_ms)) : Poco::Dynamic::Var());
      o.set("state", mandate_state(m, now));
      arr.add(o);
    }
    arr.stringify(std::cout);
    std::cout << "\n";
  } else {
    if (!list->empty()) std::cout << "person\tmunicipality\tlevel\tscopes\tstate\n";
    for (const auto& m : *list)
      std::cout << m.person << "\t" << m.municipality << "\t" << m.level << "\t" << m.scopes << "\t"
                << mandate_state(m, now) << "\n";
  }
  return kExitOk;
}

}  // namespace kp::cli

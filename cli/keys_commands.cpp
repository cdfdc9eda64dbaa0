// `knooppunt keys show | rotate | verify-announcement`: the public keys a
// municipality or auditor needs -- the gateway's intake recipient (seal
// packages to it), the hub's minisign key (verify receipts and SIPs), the
// log's signed-note key (verify checkpoints and proofs), the SSH host keys
// (pin them in known_hosts) -- their rotation, and the signed statements
// that announce a new key (keys/announcement.h).
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "audit/log.h"
#include "cli/context.h"
#include "cli/handlers.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "common/settings.h"
#include "keys/announcement.h"
#include "keys/keystore.h"
#include "keys/ssh_key.h"
#include "store/audit_events.h"

namespace kp::cli {

namespace {

// The host and port clients use: host_name, else the listen address's host
// (the machine's name for a wildcard address).
std::pair<std::string, int> client_address(const Settings& s, const std::string& listen) {
  std::string host = listen.substr(0, listen.rfind(':'));
  int port = std::atoi(listen.substr(listen.rfind(':') + 1).c_str());
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (!s.host_name.empty()) host = s.host_name;
  else if (host.empty() || host == "0.0.0.0" || host == "::") host = keys::machine_host_name();
  return {host, port};
}

// One line per announcement: "rotation-hub-0001.txt  hub key A -> B, valid from T".
std::string announcement_summary(const DataDir& d, const std::string& name) {
  auto text = read_small_file(d.public_keys() + "/" + name, 1 << 16);
  if (!text.ok()) return "unreadable";
  std::string body = *text;
  if (name.size() > 5 && name.compare(name.size() - 5, 5, ".note") == 0) {
    auto parsed = note::parse(body);
    if (!parsed.ok()) return "malformed";
    body = parsed->text;
  }
  auto a = keys::parse_announcement(body);
  if (!a.ok()) return "malformed";
  auto id = [](const std::string& id, const std::string& key) { return id.empty() ? key : id; };
  return a->key + " key " + id(a->old_id, a->old_key) + " -> " + id(a->new_id, a->new_key) + ", valid from " +
         log::format_iso8601(a->valid_from_ms) + ", old key accepted until " +
         log::format_iso8601(a->grace_until_ms);
}

Status hand_new_keys_to_worker(const DataDir& d) {
  if (::geteuid() != 0) return ok_status();
  // New keys go to the worker user like the others (when `init` made that
  // user; an older data directory stays root's).
  KP_TRY(auto worker, sandbox::lookup_user(sandbox::kWorkerUser));
  struct stat st {};
  if (worker && ::stat(d.keys().c_str(), &st) == 0 && st.st_gid == worker->gid)
    KP_GUARD(keys::hand_keys_to(d, worker->uid, worker->gid));
  return ok_status();
}

store::AuditEvent rotation_event(const std::string& object) {
  store::AuditEvent e;
  e.event = "keys.rotate";
  e.outcome = "success";
  e.actor = "operator";
  e.role = "operator";
  e.object = object;
  e.channel = "cli";
  return e;
}

Status rotate_intake_key(const DataDir& d, store::Db& db, const Settings& s) {
  const int64_t now = log::now_ms();
  const int64_t grace = s.intake_rotation_grace_days * 86400000LL;
  KP_TRY(auto old_keys, keys::public_keys(d));
  KP_TRY(std::string recipient, keys::rotate_intake(d, now, grace));
  KP_GUARD(keys::publish_public_keys(d));
  KP_GUARD(hand_new_keys_to_worker(d));
  // Announced under the hub key, which municipalities already trust.
  KP_TRY(minisign::SecretKey hub, keys::load_hub_key(d));
  keys::Announcement a;
  a.key = "intake";
  a.old_key = old_keys.intake_recipient;
  a.new_key = recipient;
  a.valid_from_ms = now;
  a.grace_until_ms = now + grace;
  KP_TRY(std::string name, keys::publish_minisign_announcement(d, a, hub));
  KP_GUARD(store::append_audit(db, rotation_event("intake " + recipient)).ok()
               ? ok_status()
               : make_error("audit-failed", "keys.rotate"));
  std::cout << "new intake recipient: " << recipient << "\n"
            << "the previous identity opens packages until " << log::format_iso8601(now + grace) << "\n"
            << "announced in " << name << " (signed by the hub key)\n";
  return ok_status();
}

// The files are swapped while this holds the store's write lock: a worker
// checks for new keys inside its own write transaction before it signs
// (workers::refresh_signing_keys), so nothing it signs after this commit
// uses the replaced key.
Status rotate_hub_key(const DataDir& d, store::Db& db, const Settings& s) {
  const int64_t now = log::now_ms();
  const int64_t grace = s.hub_key_grace_seconds * 1000;
  KP_TRY(store::Transaction tx, store::Transaction::begin(db));
  KP_TRY(keys::HubRotation r, keys::rotate_hub(d, now, grace));
  const minisign::PublicKey old_pk = r.old_key.public_key(), new_pk = r.new_key.public_key();
  keys::Announcement a;
  a.key = "hub";
  a.old_id = minisign::key_id_hex(old_pk.key_id);
  a.old_key = minisign::public_key_base64(old_pk);
  a.new_id = minisign::key_id_hex(new_pk.key_id);
  a.new_key = minisign::public_key_base64(new_pk);
  a.valid_from_ms = now;
  a.grace_until_ms = now + grace;
  KP_TRY(std::string name, keys::publish_minisign_announcement(d, a, r.old_key));
  KP_TRY(int64_t id, store::append_audit(db, rotation_event("hub " + a.new_id + " " + name)));
  (void)id;
  // Published before the commit: no receipt signed with the new key is
  // out before the key is.
  KP_GUARD(keys::publish_public_keys(d));
  KP_GUARD(tx.commit());
  KP_GUARD(hand_new_keys_to_worker(d));
  std::cout << "new hub minisign key: " << a.new_key << " (key id " << a.new_id << ")\n"
            << "the previous key " << a.old_id << " stays published and accepted until "
            << log::format_iso8601(now + grace) << "\n"
            << "announced in " << name << " (signed by the previous key; check it with "
            << "`minisign -V -P " << a.old_key << " -m " << name << "`)\n";
  return ok_status();
}

// As the hub key; the announcement also names the first checkpoint size
// the new key signs (the size that includes this rotation's record), and
// a checkpoint of that size, signed by both keys, is stored at once.
Status rotate_log_key(const DataDir& d, store::Db& db, const Settings& s) {
  const int64_t now = log::now_ms();
  const int64_t grace = s.log_key_grace_seconds * 1000;
  KP_TRY(std::string origin, keys::log_origin(d));
  KP_TRY(store::Transaction tx, store::Transaction::begin(db));
  KP_TRY(keys::LogRotation r, keys::rotate_log(d, now, grace));
  const std::string new_vkey = note::format_verifier_key(r.new_key.verifier());
  KP_TRY(int64_t id, store::append_audit(db, rotation_event("log " + new_vkey)));
  keys::Announcement a;
  a.key = "log";
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", r.old_key.key_id);
  a.old_id = hex;
  a.old_key = note::format_verifier_key(r.old_key.verifier());
  std::snprintf(hex, sizeof hex, "%08x", r.new_key.key_id);
  a.new_id = hex;
  a.new_key = new_vkey;
  a.valid_from_ms = now;
  a.grace_until_ms = now + grace;
  a.first_size = static_cast<uint64_t>(id);  // the log's size with this record
  KP_TRY(std::string name, keys::publish_log_announcement(d, a, r.old_key, r.new_key));
  const note::SignerKey* cosigner = grace > 0 ? &r.old_key : nullptr;
  KP_TRY(auto cp, audit::sign_checkpoint(db, r.new_key, origin, audit::Persist::always, cosigner));
  (void)cp;
  KP_GUARD(keys::publish_public_keys(d));
  KP_GUARD(tx.commit());
  KP_GUARD(hand_new_keys_to_worker(d));
  std::cout << "new log verifier key: " << new_vkey << "\n"
            << "it signs every checkpoint from size " << *a.first_size << " on; the previous key cosigns them until "
            << log::format_iso8601(now + grace) << "\n"
            << "announced in " << name << " (signed by the previous key)\n"
            << "restart `knooppunt serve` so that the auditors' page verifies with the new key too\n";
  return ok_status();
}

}  // namespace

int cmd_keys_show(const Args& a) {
  auto run = [&]() -> Status {
    KP_TRY(DataDir d, data_dir_of(a));
    if (!keys::public_keys_published(d)) {
      // A data directory made before DATA/public existed: this command runs
      // on the hub host as the operator, who may read the identity.
      KP_GUARD(keys::publish_public_keys(d));
    }
    KP_TRY(Settings s, load_settings(d.settings()));
    KP_TRY(auto pub, keys::public_keys(d));
    // The host keys are private files: an operator who may not read them
    // still gets the rest (--known-hosts needs them).
    auto read_host_keys = keys::host_keys(d.keys());
    if (!read_host_keys.ok() && a.has("--known-hosts")) return read_host_keys.error();
    const std::vector<keys::HostKey> host_keys = read_host_keys.ok() ? *read_host_keys : std::vector<keys::HostKey>{};
    auto [host, port] = client_address(s, a.get_or("--listen", s.listen));
    const std::string pattern = keys::known_hosts_host(host, port);
    const auto names = keys::announcement_names(d);
    if (a.has("--known-hosts")) {
      for (const auto& k : host_keys) std::cout << pattern << " " << k.type << " " << k.base64 << "\n";
      return ok_status();
    }
    if (a.has("--json")) {
      Poco::JSON::Object o;
      o.set("intake_recipient", pub.intake_recipient);
      o.set("hub_minisign_public_key", pub.hub_minisign_base64);
      o.set("log_verifier_key", pub.log_verifier_key);
      o.set("log_origin", pub.log_origin);
      if (!pub.hub_previous_base64.empty()) o.set("hub_minisign_previous_key", pub.hub_previous_base64);
      if (!pub.log_previous_verifier_key.empty()) o.set("log_previous_verifier_key", pub.log_previous_verifier_key);
      Poco::JSON::Array hk, kh, ann;
      for (const auto& k : host_keys) {
        Poco::JSON::Object one;
        one.set("type", k.type);
        one.set("bits", k.bits);
        one.set("fingerprint", k.fingerprint);
        one.set("ssh_keygen_l", std::to_string(k.bits) + " " + k.fingerprint + " " + pattern + " (" + k.label + ")");
        hk.add(one);
        kh.add(pattern + " " + k.type + " " + k.base64);
      }
      for (const auto& n : names) {
        Poco::JSON::Object one;
        one.set("file", n);
        one.set("summary", announcement_summary(d, n));
        ann.add(one);
      }
      o.set("ssh_host_keys", hk);
      o.set("known_hosts", kh);
      o.set("announcements", ann);
      o.stringify(std::cout);
      std::cout << "\n";
      return ok_status();
    }
    std::cout << "intake recipient (seal packages to):   " << pub.intake_recipient << "\n"
              << "hub minisign public key (receipts, SIPs): " << pub.hub_minisign_base64 << "\n"
              << "log verifier key (checkpoints, proofs):   " << pub.log_verifier_key << "\n"
              << "log origin:                               " << pub.log_origin << "\n";
    if (!pub.hub_previous_base64.empty()) {
      auto until = keys::previous_hub_until(d);
      std::cout << "previous hub minisign key (accepted until " << log::format_iso8601(until.value_or(0))
                << "): " << pub.hub_previous_base64 << "\n";
    }
    if (!pub.log_previous_verifier_key.empty()) {
      auto until = keys::previous_log_until(d);
      std::cout << "previous log verifier key (cosigns until " << log::format_iso8601(until.value_or(0))
                << "): " << pub.log_previous_verifier_key << "\n";
    }
    if (!read_host_keys.ok())
      std::cout << "SSH host keys: " << read_host_keys.error().message() << "\n";
    else
      std::cout << "SSH host key fingerprints (as ssh-keygen -l prints them):\n";
    for (const auto& k : host_keys)
      std::cout << "  " << k.bits << " " << k.fingerprint << " " << pattern << " (" << k.label << ")\n";
    if (read_host_keys.ok()) std::cout << "known_hosts lines (append to ~/.ssh/known_hosts):\n";
    for (const auto& k : host_keys) std::cout << pattern << " " << k.type << " " << k.base64 << "\n";
    std::cout << "rotation announcements (DATA/public; /keys over SFTP):" << (names.empty() ? " none" : "") << "\n";
    for (const auto& n : names) std::cout << "  " << n << "  " << announcement_summary(d, n) << "\n";
    return ok_status();
  };
  Status s = run();
  return s.ok() ? kExitOk : fail(s.error());
}

int cmd_keys_rotate(const Args& a) {
  auto run = [&]() -> Status {
    const int chosen = int(a.has("--intake")) + int(a.has("--hub")) + int(a.has("--log"));
    KP_ENSURE(chosen <= 1, "usage", "rotate one key at a time: --intake, --hub or --log");
    KP_TRY(DataDir d, data_dir_of(a));
    KP_TRY(store::Db db, open_store(d));
    KP_TRY(Settings s, load_settings(d.settings()));
    if (!keys::public_keys_published(d)) KP_GUARD(keys::publish_public_keys(d));
    if (a.has("--hub")) return rotate_hub_key(d, db, s);
    if (a.has("--log")) return rotate_log_key(d, db, s);
    return rotate_intake_key(d, db, s);
  };
  Status s = run();
  return s.ok() ? kExitOk : fail(s.error());
}

int cmd_keys_verify_announcement(const Args& a) {
  auto run = [&]() -> Status {
    const std::string path = a.positional.at(0);
    KP_ENSURE(a.get("--old-key"), "usage", "--old-key OLD.pub is required: the key the announcement replaces");
    KP_TRY(std::string old_text, read_small_file(*a.get("--old-key"), 4096));
    KP_TRY(std::string text, read_small_file(path, 1 << 16));
    keys::Announcement ann;
    if (path.size() > 5 && path.compare(path.size() - 5, 5, ".note") == 0) {
      auto old_key = note::parse_verifier_key(old_text);
      KP_ENSURE(old_key.ok(), "key-malformed", "--old-key is not a log verifier key (NAME+ID+KEY)");
      KP_TRY(ann, keys::verify_log_announcement(text, *old_key));
    } else {
      auto old_key = minisign::parse_public_key(old_text);
      KP_ENSURE(old_key.ok(), "key-malformed", "--old-key is not a minisign public key");
      KP_TRY(std::string sig, read_small_file(a.get_or("--signature", path + ".minisig"), 1 << 14));
      KP_TRY(ann, keys::verify_minisign_announcement(text, sig, *old_key));
    }
    std::cout << "announcement verified: the " << ann.key << " key " << (ann.new_id.empty() ? "" : ann.new_id + " ")
              << "replaces " << (ann.old_id.empty() ? ann.old_key : ann.old_id) << " from "
              << log::format_iso8601(ann.valid_from_ms) << "\n"
              << "new key: " << ann.new_key << "\n";
    return ok_status();
  };
  Status s = run();
  return s.ok() ? kExitOk : fail(s.error());
}

}  // namespace kp::cli

// Key files in DATA/keys; see keystore.h.
#include "keys/keystore.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/atomic_file.h"
#include "common/fsio.h"
#include "common/handles.h"
#include "common/log.h"

#include <cstdlib>
#include <optional>

namespace kp::keys {

namespace {

std::string path_of(const DataDir& d, const char* name) { return d.keys() + "/" + name; }

bool exists(const std::string& p) { return ::access(p.c_str(), F_OK) == 0; }

// Removes `path`; one that is not there is fine.
Status unlink_if_there(const std::string& path) {
  if (fsio::unlink(path.c_str()) == 0 || errno == ENOENT) return ok_status();
  return make_error("io-failed", "cannot remove " + path + ": " + std::strerror(errno));
}

// Makes the entries of DATA/keys durable (renames, links, unlinks).
Status sync_dir(const DataDir& d) {
  Fd dir(fsio::open(d.keys().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  KP_ENSURE(dir.valid() && fsio::fsync(dir.get()) == 0, "io-failed",
            "cannot sync " + d.keys() + ": " + std::strerror(errno));
  return ok_status();
}

Status rename_and_sync(const DataDir& d, const std::string& from, const std::string& to) {
  KP_ENSURE(fsio::rename(from.c_str(), to.c_str()) == 0, "io-failed",
            "cannot move " + from + " to " + to + ": " + std::strerror(errno));
  return sync_dir(d);
}

// Writes a new file with `mode`, refusing to replace an existing one.
Status write_new(const std::string& path, const uint8_t* p, std::size_t n, mode_t mode) {
  Fd fd(fsio::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
  KP_ENSURE(fd.valid(), "key-generation-failed", "cannot create " + path + ": " + std::strerror(errno));
  if (!fsio::write_all(fd.get(), p, n) || fsio::fsync(fd.get()) != 0) {
    const std::string why = std::strerror(errno);
    fd.reset();
    // A half-written key file must not stay; if it does, the error says so.
    const bool removed = fsio::unlink(path.c_str()) == 0;
    return make_error("key-generation-failed",
                      "cannot write " + path + ": " + why + (removed ? "" : " (the partial file stays; remove it)"));
  }
  return ok_status();
}
Status write_new(const std::string& path, std::string_view s, mode_t mode) {
  return write_new(path, reinterpret_cast<const uint8_t*>(s.data()), s.size(), mode);
}
Status write_secret(const std::string& path, const SecretBytes& s) {
  return write_new(path, s.data(), s.size(), 0600);
}

// Reads a key file into guarded memory (secrets never sit in std::string).
Result<SecretBytes> read_secret(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  KP_ENSURE(fd.valid(), "key-unreadable", "cannot read " + path + ": " + std::strerror(errno));
  struct stat st {};
  KP_ENSURE(::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size < 65536, "key-unreadable",
            path + " is not a key file");
  KP_ENSURE((st.st_mode & 077) == 0, "key-unreadable", path + " is readable by others (want mode 0600)");
  SecretBytes buf(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < buf.size()) {
    ssize_t r = ::read(fd.get(), buf.data() + got, buf.size() - got);
    if (r < 0 && errno == EINTR) continue;
    KP_ENSURE(r > 0, "key-unreadable", "cannot read " + path);
    got += static_cast<std::size_t>(r);
  }
  return buf;
}

Result<std::string> read_public(const std::string& path) {
  KP_TRY(SecretBytes b, read_secret(path));
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// Reads a small public file (no mode check: these are meant to be read).
Result<std::string> read_published(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  KP_ENSURE(fd.valid(), "key-unreadable", "cannot read " + path + ": " + std::strerror(errno));
  struct stat st {};
  KP_ENSURE(::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size < 65536, "key-unreadable",
            path + " is not a key file");
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    ssize_t r = ::read(fd.get(), text.data() + got, text.size() - got);
    if (r < 0 && errno == EINTR) continue;
    KP_ENSURE(r > 0, "key-unreadable", "cannot read " + path);
    got += static_cast<std::size_t>(r);
  }
  return text;
}

std::string chomp(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

constexpr const char* kPublicFiles[] = {"intake.recipient", "hub.minisign.pub", "log.note.vkey", "log.origin"};

std::string_view view(const SecretBytes& b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

}  // namespace

Status publish_previous_keys(const DataDir& d);  // below, with the rotation

Status ensure_keys(const DataDir& d, const std::string& origin_wanted) {
  KP_GUARD(ensure_dir(d.keys()));
  std::string intake = path_of(d, "intake.age");
  if (!exists(intake)) {
    KP_TRY(age::Identity id, age::generate_identity());
    KP_GUARD(write_secret(intake, age::format_identity(id)));
  }
  std::string hub = path_of(d, "hub.minisign.key");
  if (!exists(hub)) {
    KP_TRY(minisign::SecretKey key, minisign::generate());
    KP_TRY(SecretBytes text, minisign::format_secret_key(key));
    KP_GUARD(write_secret(hub, text));
    KP_GUARD(write_new(path_of(d, "hub.minisign.pub"), minisign::format_public_key(key.public_key()), 0600));
  }
  std::string origin_path = path_of(d, "log.origin");
  if (!exists(origin_path))
    KP_GUARD(write_new(origin_path,
                       (origin_wanted.empty() ? default_log_origin(machine_host_name()) : origin_wanted) + "\n",
                       0600));
  std::string log = path_of(d, "log.note.key");
  if (!exists(log)) {
    KP_TRY(std::string origin, log_origin(d));
    KP_TRY(note::SignerKey key, note::generate(origin));
    KP_TRY(SecretBytes text, note::format_signer_key(key));
    KP_GUARD(write_secret(log, text));
    KP_GUARD(write_new(path_of(d, "log.note.vkey"), note::format_verifier_key(key.verifier()) + "\n", 0600));
  }
  return ok_status();
}

Result<std::string> log_origin(const DataDir& d) {
  KP_TRY(std::string text, read_public(path_of(d, "log.origin")));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

Result<PublicKeys> public_keys(const DataDir& d) {
  const std::string dir = d.public_keys() + "/";
  PublicKeys out;
  KP_TRY(std::string recipient, read_published(dir + "intake.recipient"));
  out.intake_recipient = chomp(recipient);
  KP_TRY(age::PublicKey parsed, age::parse_recipient(out.intake_recipient));
  (void)parsed;  // checked: a damaged file is refused here, not by whoever seals to it
  KP_TRY(out.hub_minisign_public, read_published(dir + "hub.minisign.pub"));
  KP_TRY(minisign::PublicKey pk, minisign::parse_public_key(out.hub_minisign_public));
  out.hub_minisign_base64 = minisign::public_key_base64(pk);
  KP_TRY(std::string vkey, read_published(dir + "log.note.vkey"));
  out.log_verifier_key = chomp(vkey);
  KP_TRY(std::string origin, read_published(dir + "log.origin"));
  out.log_origin = chomp(origin);
  if (auto prev = read_published(dir + "hub.minisign.previous.pub"); prev.ok()) {
    KP_TRY(minisign::PublicKey ppk, minisign::parse_public_key(*prev));
    out.hub_previous_base64 = minisign::public_key_base64(ppk);
  }
  if (auto prev = read_published(dir + "log.note.previous.vkey"); prev.ok()) out.log_previous_verifier_key = chomp(*prev);
  return out;
}

bool public_keys_published(const DataDir& d) {
  for (const char* name : kPublicFiles)
    if (!exists(d.public_keys() + "/" + name)) return false;
  return true;
}

Status publish_public_keys(const DataDir& d) {
  // The recipient is derived from the identity: this reads the secret
  // briefly in guarded memory, in a process allowed to (see keystore.h).
  KP_TRY(auto ids, load_intake_identities(d));
  const std::string recipient = age::recipient_of(ids.front());
  KP_TRY(std::string hub_pub, read_public(path_of(d, "hub.minisign.pub")));
  KP_TRY(minisign::PublicKey pk, minisign::parse_public_key(hub_pub));
  (void)pk;
  KP_TRY(std::string vkey, read_public(path_of(d, "log.note.vkey")));
  KP_TRY(std::string origin, log_origin(d));
  const std::string dir = d.public_keys();
  if (::mkdir(dir.c_str(), 0755) != 0)
    KP_ENSURE(errno == EEXIST, "io-failed", "cannot create " + dir + ": " + std::strerror(errno));
  KP_ENSURE(::chmod(dir.c_str(), 0755) == 0, "io-failed", "cannot set the mode of " + dir);
  KP_GUARD(write_file_atomic(dir + "/intake.recipient", recipient + "\n", 0644));
  KP_GUARD(write_file_atomic(dir + "/hub.minisign.pub", hub_pub, 0644));
  KP_GUARD(write_file_atomic(dir + "/log.note.vkey", chomp(vkey) + "\n", 0644));
  KP_GUARD(write_file_atomic(dir + "/log.origin", origin + "\n", 0644));
  return publish_previous_keys(d);
}

Status hand_keys_to(const DataDir& d, uid_t uid, gid_t gid) {
  Fd dir(::open(d.keys().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  KP_ENSURE(dir.valid(), "io-failed", "cannot open " + d.keys());
  // Every key file but the SSH host keys (the accepting parent's).
  for (const char* name : {"intake.age", "intake.previous.age", "intake.previous.expires", "hub.minisign.key",
                           "hub.minisign.pub", "log.note.key", "log.note.vkey", "log.origin",
                           "hub.previous.minisign.key", "hub.previous.minisign.pub", "hub.previous.expires",
                           "log.previous.note.key", "log.previous.note.vkey", "log.previous.expires"}) {
    if (::fchownat(dir.get(), name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
      KP_ENSURE(errno == ENOENT, "io-failed", "cannot hand " + path_of(d, name) + " to the worker user");
      continue;
    }
    KP_ENSURE(::fchmodat(dir.get(), name, 0600, 0) == 0, "io-failed", "cannot set the mode of " + path_of(d, name));
  }
  KP_ENSURE(::fchown(dir.get(), 0, gid) == 0 && ::fchmod(dir.get(), 0710) == 0, "io-failed",
            "cannot set the owner and mode of " + d.keys());
  return ok_status();
}

namespace {

// When a previous key stops being used (ms), or nothing.
std::optional<int64_t> expiry_of(const DataDir& d, const char* name) {
  auto text = read_public(path_of(d, name));
  if (!text.ok()) return std::nullopt;
  return std::atoll(text->c_str());
}
std::optional<int64_t> previous_expiry(const DataDir& d) { return expiry_of(d, "intake.previous.expires"); }

// Overwrites a secret key file before unlinking it, so the key does not
// linger in free blocks longer than the file system must keep it. A failed
// overwrite is reported; the key is removed all the same (it must stop
// being used).
Status destroy_key_file(const std::string& path) {
  {
    Fd fd(fsio::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
    struct stat st {};
    bool wiped = fd.valid() && ::fstat(fd.get(), &st) == 0;
    if (wiped) {
      std::string zeros(static_cast<std::size_t>(st.st_size), '\0');
      wiped = fsio::pwrite_all(fd.get(), zeros.data(), zeros.size(), 0) && fsio::fsync(fd.get()) == 0;
    }
    if (!wiped) log::event("keys.wipe_failed", {{"file", path}, {"error", std::strerror(errno)}});
  }
  KP_ENSURE(fsio::unlink(path.c_str()) == 0, "io-failed", "cannot remove " + path + ": " + std::strerror(errno));
  return ok_status();
}

}  // namespace

Result<std::string> rotate_intake(const DataDir& d, int64_t now_ms, int64_t grace_ms) {
  KP_TRY(bool expired, expire_previous_intake(d, now_ms));
  (void)expired;  // nothing to do either way: a destroyed identity is gone
  std::string previous = path_of(d, "intake.previous.age");
  std::string current = path_of(d, "intake.age");
  std::string fresh = path_of(d, "intake.age.new");
  if (exists(previous) && exists(fresh)) {
    // A rotation cut short after the old key became the previous one:
    // finish it (the new key was written and synced before that step).
    KP_GUARD(rename_and_sync(d, fresh, current));
    KP_TRY(SecretBytes text, read_secret(current));
    KP_TRY(age::Identity id, age::parse_identity(view(text)));
    return age::recipient_of(id);
  }
  if (exists(previous)) {
    auto until = previous_expiry(d);
    return make_error("rotation-in-progress", "the previous intake identity is still valid until " +
                                                  log::format_iso8601(until ? *until : 0) +
                                                  "; rotate again after that");
  }
  // The order keeps a usable identity under intake.age at every moment: the
  // new key is written and synced first; the old one gets its second name
  // (a link, never a move) and only then is replaced, atomically, by the new.
  std::string expires = path_of(d, "intake.previous.expires");
  KP_GUARD(unlink_if_there(fresh));
  KP_TRY(age::Identity id, age::generate_identity());
  KP_GUARD(write_secret(fresh, age::format_identity(id)));
  KP_GUARD(unlink_if_there(expires));
  KP_GUARD(write_new(expires, std::to_string(now_ms + grace_ms) + "\n", 0600));
  KP_GUARD(sync_dir(d));
  KP_ENSURE(fsio::link(current.c_str(), previous.c_str()) == 0, "io-failed",
            "cannot keep " + current + " as " + previous + ": " + std::strerror(errno));
  KP_GUARD(rename_and_sync(d, fresh, current));
  return age::recipient_of(id);
}

Result<bool> expire_previous_intake(const DataDir& d, int64_t now_ms) {
  std::string previous = path_of(d, "intake.previous.age");
  if (!exists(previous)) return false;
  auto until = previous_expiry(d);
  if (until && *until > now_ms) return false;
  KP_GUARD(destroy_key_file(previous));
  KP_GUARD(unlink_if_there(path_of(d, "intake.previous.expires")));
  KP_GUARD(sync_dir(d));
  return true;
}

std::string intake_generation(const DataDir& d) {
  std::string gen;
  for (const char* name : {"intake.age", "intake.previous.age"}) {
    struct stat st {};
    if (::stat(path_of(d, name).c_str(), &st) == 0)
      gen += std::to_string(st.st_ino) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
             std::to_string(st.st_mtim.tv_nsec) + ";";
    else
      gen += "-;";
  }
  return gen;
}

Result<std::vector<age::Identity>> load_intake_identities(const DataDir& d) {
  std::vector<age::Identity> ids;
  KP_TRY(SecretBytes current, read_secret(path_of(d, "intake.age")));
  KP_TRY(age::Identity id, age::parse_identity(view(current)));
  ids.push_back(std::move(id));
  std::string previous = path_of(d, "intake.previous.age");
  auto until = previous_expiry(d);
  if (exists(previous) && (!until || *until > log::now_ms())) {
    KP_TRY(SecretBytes prev, read_secret(previous));
    KP_TRY(age::Identity pid, age::parse_identity(view(prev)));
    ids.push_back(std::move(pid));
  }
  return ids;
}

Result<minisign::SecretKey> load_hub_key(const DataDir& d) {
  KP_TRY(SecretBytes text, read_secret(path_of(d, "hub.minisign.key")));
  return minisign::parse_secret_key(view(text));
}

Result<note::SignerKey> load_log_key(const DataDir& d) {
  KP_TRY(SecretBytes text, read_secret(path_of(d, "log.note.key")));
  return note::parse_signer_key(view(text));
}

// ---------------------------------------------------------------- hub and log key rotation

namespace {

// The files of a signing key that can be rotated: the current pair, the
// previous pair during its grace period and when that ends.
struct PairNames {
  const char* key;
  const char* pub;
  const char* previous_key;
  const char* previous_pub;
  const char* expires;
  const char* published_previous;  // in DATA/public
};
constexpr PairNames kHubPair{"hub.minisign.key",          "hub.minisign.pub",      "hub.previous.minisign.key",
                             "hub.previous.minisign.pub", "hub.previous.expires",  "hub.minisign.previous.pub"};
constexpr PairNames kLogPair{"log.note.key",          "log.note.vkey",         "log.previous.note.key",
                             "log.previous.note.vkey", "log.previous.expires", "log.note.previous.vkey"};

bool in_grace(const DataDir& d, const PairNames& n, int64_t now_ms) {
  if (!exists(path_of(d, n.previous_key))) return false;
  auto until = expiry_of(d, n.expires);
  return !until || *until > now_ms;
}

Result<bool> expire_previous_pair(const DataDir& d, const PairNames& n, int64_t now_ms) {
  const std::string prev_key = path_of(d, n.previous_key);
  if (!exists(prev_key)) return false;
  auto until = expiry_of(d, n.expires);
  if (until && *until > now_ms) return false;
  KP_GUARD(destroy_key_file(prev_key));
  KP_GUARD(unlink_if_there(path_of(d, n.previous_pub)));
  KP_GUARD(unlink_if_there(path_of(d, n.expires)));
  KP_GUARD(sync_dir(d));
  return true;
}

// Makes `secret`/`pub` the current pair and keeps the old one as the
// previous pair until now + grace. The order keeps a usable key under the
// current name at every moment (as rotate_intake).
Status rotate_pair(const DataDir& d, const PairNames& n, const SecretBytes& secret, const std::string& pub,
                   int64_t now_ms, int64_t grace_ms) {
  KP_TRY(bool expired, expire_previous_pair(d, n, now_ms));
  (void)expired;
  const std::string key = path_of(d, n.key), pub_path = path_of(d, n.pub);
  const std::string prev_key = path_of(d, n.previous_key), prev_pub = path_of(d, n.previous_pub);
  if (exists(prev_key)) {
    auto until = expiry_of(d, n.expires);
    return make_error("rotation-in-progress", std::string("the previous ") + n.key +
                                                  " is still accepted until " +
                                                  log::format_iso8601(until ? *until : 0) + "; rotate again after that");
  }
  const std::string fresh_key = key + ".new", fresh_pub = pub_path + ".new", expires = path_of(d, n.expires);
  KP_GUARD(unlink_if_there(fresh_key));
  KP_GUARD(unlink_if_there(fresh_pub));
  KP_GUARD(unlink_if_there(prev_pub));
  KP_GUARD(write_secret(fresh_key, secret));
  KP_GUARD(write_new(fresh_pub, pub, 0600));
  KP_GUARD(unlink_if_there(expires));
  KP_GUARD(write_new(expires, std::to_string(now_ms + grace_ms) + "\n", 0600));
  KP_GUARD(sync_dir(d));
  KP_ENSURE(fsio::link(key.c_str(), prev_key.c_str()) == 0 && fsio::link(pub_path.c_str(), prev_pub.c_str()) == 0,
            "io-failed", "cannot keep " + key + " as " + prev_key + ": " + std::strerror(errno));
  KP_ENSURE(fsio::rename(fresh_pub.c_str(), pub_path.c_str()) == 0, "io-failed",
            "cannot move " + fresh_pub + ": " + std::strerror(errno));
  return rename_and_sync(d, fresh_key, key);
}

}  // namespace

Status publish_previous_keys(const DataDir& d) {
  const int64_t now = log::now_ms();
  for (const PairNames* n : {&kHubPair, &kLogPair}) {
    const std::string published = d.public_keys() + "/" + n->published_previous;
    if (in_grace(d, *n, now)) {
      KP_TRY(std::string text, read_public(path_of(d, n->previous_pub)));
      KP_GUARD(write_file_atomic(published, chomp(text) + "\n", 0644));
    } else {
      KP_GUARD(unlink_if_there(published));
    }
  }
  return ok_status();
}

Result<HubRotation> rotate_hub(const DataDir& d, int64_t now_ms, int64_t grace_ms) {
  HubRotation r;
  KP_TRY(r.old_key, load_hub_key(d));
  KP_TRY(r.new_key, minisign::generate());
  KP_TRY(SecretBytes text, minisign::format_secret_key(r.new_key));
  KP_GUARD(rotate_pair(d, kHubPair, text, minisign::format_public_key(r.new_key.public_key()), now_ms, grace_ms));
  return r;
}

Result<LogRotation> rotate_log(const DataDir& d, int64_t now_ms, int64_t grace_ms) {
  LogRotation r;
  KP_TRY(r.old_key, load_log_key(d));
  KP_TRY(r.new_key, note::generate(r.old_key.name));
  KP_TRY(SecretBytes text, note::format_signer_key(r.new_key));
  KP_GUARD(rotate_pair(d, kLogPair, text, note::format_verifier_key(r.new_key.verifier()) + "\n", now_ms, grace_ms));
  return r;
}

Result<bool> expire_previous_signing_keys(const DataDir& d, int64_t now_ms) {
  KP_TRY(bool hub, expire_previous_pair(d, kHubPair, now_ms));
  KP_TRY(bool log, expire_previous_pair(d, kLogPair, now_ms));
  if (hub || log) {
    // Best effort: the secret is gone either way; the next publish
    // (`keys rotate`, `keys show`) removes a public half left behind.
    Status published = publish_previous_keys(d);
    if (!published.ok()) log::event("keys.publish_failed", {{"error", published.error().message()}});
  }
  return hub || log;
}

Result<std::optional<minisign::PublicKey>> load_previous_hub_public(const DataDir& d) {
  if (!in_grace(d, kHubPair, log::now_ms())) return std::optional<minisign::PublicKey>();
  KP_TRY(std::string text, read_public(path_of(d, kHubPair.previous_pub)));
  KP_TRY(minisign::PublicKey pk, minisign::parse_public_key(text));
  return std::optional<minisign::PublicKey>(pk);
}

Result<std::optional<note::SignerKey>> load_previous_log_key(const DataDir& d) {
  if (!in_grace(d, kLogPair, log::now_ms())) return std::optional<note::SignerKey>();
  KP_TRY(SecretBytes text, read_secret(path_of(d, kLogPair.previous_key)));
  KP_TRY(note::SignerKey key, note::parse_signer_key(view(text)));
  return std::optional<note::SignerKey>(std::move(key));
}

std::optional<int64_t> previous_hub_until(const DataDir& d) {
  return exists(path_of(d, kHubPair.previous_key)) ? expiry_of(d, kHubPair.expires) : std::nullopt;
}
std::optional<int64_t> previous_log_until(const DataDir& d) {
  return exists(path_of(d, kLogPair.previous_key)) ? expiry_of(d, kLogPair.expires) : std::nullopt;
}

std::string signing_generation(const DataDir& d) {
  std::string gen;
  for (const char* name : {kHubPair.key, kHubPair.previous_key, kLogPair.key, kLogPair.previous_key}) {
    struct stat st {};
    if (::stat(path_of(d, name).c_str(), &st) == 0)
      gen += std::to_string(st.st_ino) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
             std::to_string(st.st_mtim.tv_nsec) + ";";
    else
      gen += "-;";
  }
  return gen;
}

// ---------------------------------------------------------------- the log's origin

std::string machine_host_name() {
  char host[256] = "localhost";
  if (::gethostname(host, sizeof host - 1) != 0) return "localhost";
  host[sizeof host - 1] = '\0';
  return host;
}

std::string default_log_origin(const std::string& host_name) {
  std::string origin = host_name + "/transfer-log";
  for (char& c : origin)
    if (c == ' ' || c == '+' || static_cast<unsigned char>(c) < 0x21 || c == 0x7f) c = '-';
  return origin;
}

Status set_log_origin(const DataDir& d, const std::string& origin) {
  KP_ENSURE(note::valid_key_name(origin), "settings-bad-value",
            "log_origin \"" + origin + "\" cannot name a log (no spaces, '+' or control characters)");
  KP_ENSURE(!exists(path_of(d, kLogPair.previous_key)), "rotation-in-progress",
            "the log key is in a rotation grace period");
  // The key is named after the origin (receipt verify and witnesses take
  // the origin from the key's name): a new key for the new name. Only for
  // a log that signed nothing yet (the caller checks).
  KP_TRY(note::SignerKey key, note::generate(origin));
  KP_TRY(SecretBytes text, note::format_signer_key(key));
  const std::string fresh_key = path_of(d, "log.note.key.new"), fresh_pub = path_of(d, "log.note.vkey.new");
  KP_GUARD(unlink_if_there(fresh_key));
  KP_GUARD(unlink_if_there(fresh_pub));
  KP_GUARD(write_secret(fresh_key, text));
  KP_GUARD(write_new(fresh_pub, note::format_verifier_key(key.verifier()) + "\n", 0600));
  KP_GUARD(write_file_atomic(path_of(d, "log.origin"), origin + "\n", 0600));
  KP_ENSURE(fsio::rename(fresh_pub.c_str(), path_of(d, "log.note.vkey").c_str()) == 0, "io-failed",
            "cannot move " + fresh_pub + ": " + std::strerror(errno));
  KP_GUARD(rename_and_sync(d, fresh_key, path_of(d, "log.note.key")));
  return publish_public_keys(d);
}

}  // namespace kp::keys

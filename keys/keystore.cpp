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

Status ensure_keys(const DataDir& d) {
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
  if (!exists(origin_path)) {
    char host[256] = "localhost";
    ::gethostname(host, sizeof host - 1);
    std::string origin = "knooppunt.example/" + std::string(host) + "/transfer-log";
    for (char& c : origin)
      if (c == ' ' || c == '+') c = '-';
    KP_GUARD(write_new(origin_path, origin + "\n", 0600));
  }
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
  return ok_status();
}

Status hand_keys_to(const DataDir& d, uid_t uid, gid_t gid) {
  Fd dir(::open(d.keys().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  KP_ENSURE(dir.valid(), "io-failed", "cannot open " + d.keys());
  // Every key file but the SSH host keys (the accepting parent's).
  for (const char* name : {"intake.age", "intake.previous.age", "intake.previous.expires", "hub.minisign.key",
                           "hub.minisign.pub", "log.note.key", "log.note.vkey", "log.origin"}) {
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

// When the previous identity stops being used (ms), or nothing.
std::optional<int64_t> previous_expiry(const DataDir& d) {
  auto text = read_public(path_of(d, "intake.previous.expires"));
  if (!text.ok()) return std::nullopt;
  return std::atoll(text->c_str());
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
  // Overwrite before unlinking, so the key does not linger in free blocks
  // longer than the file system must keep it. A failed overwrite is
  // reported; the key is removed all the same (it must stop opening uploads).
  {
    Fd fd(fsio::open(previous.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
    struct stat st {};
    bool wiped = fd.valid() && ::fstat(fd.get(), &st) == 0;
    if (wiped) {
      std::string zeros(static_cast<std::size_t>(st.st_size), '\0');
      wiped = fsio::pwrite_all(fd.get(), zeros.data(), zeros.size(), 0) && fsio::fsync(fd.get()) == 0;
    }
    if (!wiped) log::event("keys.wipe_failed", {{"file", previous}, {"error", std::strerror(errno)}});
  }
  KP_ENSURE(fsio::unlink(previous.c_str()) == 0, "io-failed", "cannot remove " + previous + ": " + std::strerror(errno));
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

}  // namespace kp::keys

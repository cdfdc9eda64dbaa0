// `knooppunt seal` and `knooppunt open`: what a municipality (or hub staff)
// runs on its own machine to build a signal package and to open a SIP,
// receipt package or queued package. Both are the same format code the
// workers use (workers/package.h).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "cli/context.h"
#include "cli/handlers.h"
#include "common/handles.h"
#include "common/confine.h"
#include "keys/age.h"
#include "keys/age_armor.h"
#include "keys/minisign.h"
#include "policy/package_rules.h"
#include "workers/package.h"
#include "cli/terminal.h"

namespace kp::cli {

namespace {

std::string_view text_of(const SecretBytes& b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

Result<SecretBytes> read_secret_file(const std::string& path) {
  KP_TRY(std::string text, read_small_file(path, 65536));
  SecretBytes b(text.size());
  std::copy(text.begin(), text.end(), b.data());
  sodium_memzero(text.data(), text.size());
  return b;
}

// An unnamed file in $TMPDIR (or /tmp), gone when closed.
Result<Fd> temporary_file() {
  const char* tmpdir = std::getenv("TMPDIR");
  Fd tmp(::open(tmpdir && *tmpdir ? tmpdir : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  KP_ENSURE(tmp.valid(), "io-failed", "cannot create a temporary file");
  return tmp;
}

// The binary age file behind `in`: `in` itself, or, when it is armored
// (`age -a`), an unnamed temporary file holding the decoded bytes.
Result<Fd> binary_age(Fd in, const std::string& path) {
  KP_TRY(bool armored, age::fd_looks_armored(in.get()));
  if (!armored) return in;
  KP_TRY(Fd tmp, temporary_file());
  Status s = age::dearmor_fd(in.get(), tmp.get());
  if (!s.ok()) return make_error(s.error().code, path + ": " + s.error().detail);
  KP_ENSURE(::lseek(tmp.get(), 0, SEEK_SET) == 0, "io-failed", "cannot rewind the decoded file");
  return tmp;
}

// Creates `path`, or accepts it when it is an existing empty directory.
Status make_empty_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) == 0) return ok_status();
  KP_ENSURE(errno == EEXIST, "io-failed", "cannot create " + path + ": " + std::strerror(errno));
  std::error_code ec;
  const bool dir = std::filesystem::is_directory(path, ec);
  KP_ENSURE(dir && !ec, "io-failed", path + " exists and is not a directory");
  const bool empty = std::filesystem::is_empty(path, ec);
  KP_ENSURE(!ec, "io-failed", "cannot read " + path);
  KP_ENSURE(empty, "dir-not-empty", path + " exists and is not empty; name a new or empty directory");
  return ok_status();
}

// The signing key; a password-protected one is opened with the first line
// of --password-file, or with a password typed on the terminal.
Result<minisign::SecretKey> load_sign_key(const std::string& path, const std::optional<std::string>& password_file) {
  KP_TRY(SecretBytes key_text, read_secret_file(path));
  auto plain = minisign::parse_secret_key(text_of(key_text));
  if (plain.ok() || plain.error().code != "key-encrypted") return plain;
  SecretBytes password;
  if (password_file) {
    KP_TRY(password, read_secret_file(*password_file));
  } else {
    KP_TRY(password, read_password_from_terminal("password of " + path + ": "));
  }
  std::string_view pw = text_of(password);
  if (std::size_t nl = pw.find_first_of("\r\n"); nl != std::string_view::npos) pw = pw.substr(0, nl);
  auto key = minisign::parse_secret_key(text_of(key_text), pw);
  if (!key.ok()) return make_error(key.error().code, path + ": " + key.error().detail);
  return key;
}

// What the gateway's package rules say about these files, as tar entries.
Status check_package_files(const std::vector<workers::PackageFile>& files) {
  policy::PackageChecker checker;
  KP_GUARD(checker.on_entry({"manifest.json", policy::EntryInfo::regular, 0}));
  KP_GUARD(checker.on_entry({"manifest.json.minisig", policy::EntryInfo::regular, 0}));
  for (const auto& f : files) {
    struct stat st {};
    KP_ENSURE(::stat(f.path.c_str(), &st) == 0 && S_ISREG(st.st_mode), "file-unreadable", f.path + " is not a readable file");
    KP_GUARD(checker.on_entry({f.name, policy::EntryInfo::regular, static_cast<uint64_t>(st.st_size)}));
  }
  return ok_status();
}

// seal_package into an unnamed temporary file, then its armor onto `out`.
Status seal_armored(const std::string& manifest, const std::vector<workers::PackageFile>& files,
                    const minisign::SecretKey& key, const std::vector<age::PublicKey>& recipients, int out,
                    const workers::ManifestCheck& check) {
  KP_TRY(Fd tmp, temporary_file());
  KP_GUARD(workers::seal_package(manifest, files, key, recipients, tmp.get(), check));
  KP_ENSURE(::lseek(tmp.get(), 0, SEEK_SET) == 0, "io-failed", "cannot rewind the sealed package");
  return age::armor_fd(tmp.get(), out);
}

}  // namespace

int cmd_seal(const Args& a) {
  auto run = [&]() -> Status {
    auto to = a.get("--to");
    auto sign_path = a.get("--sign-key");
    auto manifest_path = a.get("--manifest");
    auto out_path = a.get("-o");
    KP_ENSURE(to && sign_path && manifest_path && out_path, "usage",
              "--to, --sign-key, --manifest and -o are required");
    std::vector<age::PublicKey> recipients;
    for (std::size_t start = 0; start <= to->size();) {
      std::size_t comma = to->find(',', start);
      std::string one = to->substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      auto pk = age::parse_recipient(one);
      KP_ENSURE(pk.ok(), "recipient-invalid", "'" + one + "' is not an age recipient");
      recipients.push_back(*pk);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    KP_TRY(minisign::SecretKey key, load_sign_key(*sign_path, a.get("--password-file")));
    KP_TRY(std::string manifest, read_small_file(*manifest_path, 1 << 20));
    KP_TRY(std::vector<workers::PackageFile> files, package_files(a.positional));
    // Every check the gateway makes that can be made here, before anything
    // is signed: the files' names and types, then (once seal filled in the
    // file list) the manifest.
    KP_GUARD(check_package_files(files));
    auto check = [&](const std::string& filled) -> Status {
      auto checked = check_manifest_text(filled);
      if (!checked.ok()) return make_error(checked.error().code, *manifest_path + ": " + checked.error().detail);
      return ok_status();
    };
    std::string tmp = *out_path + ".partial";
    Fd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    KP_ENSURE(out.valid(), "io-failed", "cannot create " + tmp);
    Status s = a.has("--armor") ? seal_armored(manifest, files, key, recipients, out.get(), check)
                                : workers::seal_package(manifest, files, key, recipients, out.get(), check);
    if (!s.ok()) {
      if (::unlink(tmp.c_str()) != 0) s = make_error(s.error().code, s.error().detail + "; " + tmp + " stays");
      return s.error();
    }
    KP_ENSURE(::rename(tmp.c_str(), out_path->c_str()) == 0, "io-failed", "cannot write " + *out_path);
    std::cout << "sealed " << files.size() << " file(s) into " << *out_path << (a.has("--armor") ? " (armored)" : "")
              << "\n";
    return ok_status();
  };
  Status s = run();
  return s.ok() ? kExitOk : fail(s.error());
}

int cmd_open(const Args& a) {
  auto run = [&]() -> Status {
    const std::string& in_path = a.positional[0];
    auto id_path = a.get("-i");
    auto verify_path = a.get("--verify-key");
    auto out_dir = a.get("-o");
    KP_ENSURE(id_path && verify_path && out_dir, "usage", "-i, --verify-key and -o are required");
    KP_TRY(SecretBytes id_text, read_secret_file(*id_path));
    KP_TRY(auto identities, age::parse_identities(text_of(id_text)));
    KP_TRY(std::string vk_text, read_small_file(*verify_path, 4096));
    KP_TRY(minisign::PublicKey vk, minisign::parse_public_key(vk_text));
    Fd raw(::open(in_path.c_str(), O_RDONLY | O_CLOEXEC));
    KP_ENSURE(raw.valid(), "file-unreadable", "cannot read " + in_path);
    KP_TRY(Fd in, binary_age(std::move(raw), in_path));
    std::vector<const age::Identity*> ids;
    for (const auto& i : identities) ids.push_back(&i);
    KP_GUARD(make_empty_dir(*out_dir));
    KP_TRY(Fd dir, confine::open_dir(*out_dir));
    KP_TRY(workers::OpenedPackage pkg, workers::open_package_to_dir(in.get(), ids, policy::PackageRules{}, dir.get()));
    auto verified = minisign::verify(vk, pkg.manifest, pkg.signature);
    KP_ENSURE(verified.ok(), "manifest-signature-invalid",
              "the manifest's signature does not verify with " + *verify_path + " (" +
                  (verified.ok() ? "" : verified.error().code) + ")");
    // A signal package, or a SIP / enrichment request from the hub.
    auto signal = policy::parse_manifest(pkg.manifest);
    if (signal.ok()) {
      KP_GUARD(workers::check_files(signal->files, pkg));
    } else {
      KP_ENSURE(signal.error().code == "manifest-format-unknown", signal.error().code, signal.error().detail);
      KP_TRY(policy::HubManifest m, policy::parse_hub_manifest(pkg.manifest));
      KP_GUARD(workers::check_files(m.files, pkg));
    }
    std::cout << "opened and verified " << pkg.files.size() << " file(s) into " << *out_dir
              << " (signed: " << *verified << ")\n";
    return ok_status();
  };
  Status s = run();
  return s.ok() ? kExitOk : fail(s.error());
}

}  // namespace kp::cli

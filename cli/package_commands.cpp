// `knooppunt seal` and `knooppunt open`: what a municipality (or hub staff)
// runs on its own machine to build a signal package and to open a SIP,
// receipt package or queued package. Both are the same format code the
// workers use (workers/package.h).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <iostream>

#include "cli/context.h"
#include "cli/handlers.h"
#include "common/handles.h"
#include "gateway/confine.h"
#include "keys/age.h"
#include "keys/minisign.h"
#include "policy/package_rules.h"
#include "workers/package.h"

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
    KP_TRY(SecretBytes key_text, read_secret_file(*sign_path));
    KP_TRY(minisign::SecretKey key, minisign::parse_secret_key(text_of(key_text)));
    KP_TRY(std::string manifest, read_small_file(*manifest_path, 1 << 20));
    KP_TRY(std::vector<workers::PackageFile> files, package_files(a.positional));
    std::string tmp = *out_path + ".partial";
    Fd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    KP_ENSURE(out.valid(), "io-failed", "cannot create " + tmp);
    Status s = workers::seal_package(manifest, files, key, recipients, out.get());
    if (!s.ok()) {
      ::unlink(tmp.c_str());
      return s.error();
    }
    KP_ENSURE(::rename(tmp.c_str(), out_path->c_str()) == 0, "io-failed", "cannot write " + *out_path);
    std::cout << "sealed " << files.size() << " file(s) into " << *out_path << "\n";
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
    Fd in(::open(in_path.c_str(), O_RDONLY | O_CLOEXEC));
    KP_ENSURE(in.valid(), "file-unreadable", "cannot read " + in_path);
    std::vector<const age::Identity*> ids;
    for (const auto& i : identities) ids.push_back(&i);
    KP_ENSURE(::mkdir(out_dir->c_str(), 0700) == 0, "io-failed", "cannot create " + *out_dir + " (it must not exist)");
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

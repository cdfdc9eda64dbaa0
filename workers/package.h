// Signal packages: age( tar{ manifest.json, manifest.json.minisig, files/... } ).
//
// Sealing (seal_package) builds one from a manifest and files. Opening
// (open_package) reads one in one streaming pass: age (intake identities)
// -> tar (libarchive) -> every entry checked against the package rules ->
// every file hashed (SHA-256) and counted -> copied into a TarSealer for
// the next recipients. Returns what the caller needs to verify the package:
// the manifest and its signature (small, in memory) and each file's size
// and hash. Nothing is trusted yet: the caller verifies the signature and
// the manifest, and discards the resealed output unless everything holds.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "keys/age.h"
#include "keys/minisign.h"
#include "policy/manifest.h"
#include "policy/package_rules.h"
#include "workers/reseal.h"

namespace kp::workers {

struct SeenFile {
  uint64_t size = 0;
  std::string sha256;  // hex
};

struct OpenedPackage {
  std::string manifest;   // manifest.json bytes
  std::string signature;  // manifest.json.minisig text
  std::map<std::string, SeenFile> files;  // "files/..." -> what was read
  uint64_t sealed_bytes = 0;
};

// Reads the sealed package from `fd` (not owned). Errors carry the reason
// codes of keys/age ("age-*"), policy/package_rules ("package-*"), and
// "package-not-tar", "package-manifest-missing", "package-signature-missing".
// `sink` (may be null) receives every file below files/ as it streams.
Result<OpenedPackage> open_package(int fd, const std::vector<const age::Identity*>& identities,
                                   const policy::PackageRules& rules, EntrySink* sink);

// open_package for the payload alone: `fd` is positioned at the first
// payload chunk (after the header and nonce, which the caller opened with
// age::open_header), `payload_key` is that file's payload key
// (age::kPayloadKeySize bytes) and `header_bytes` what precedes the chunks
// (counted against max_package_bytes). The parser child's entry point: it
// needs no identity. Same errors as open_package from the payload on.
// helper_thread false: hashing and the sink run on the calling thread.
Result<OpenedPackage> open_payload(int fd, const uint8_t* payload_key, uint64_t header_bytes,
                                   const policy::PackageRules& rules, EntrySink* sink, bool helper_thread = true);

// open_package writing the files below `dirfd` (files/<name>; nested
// folders are refused). For `knooppunt open` on the recipient's machine.
Result<OpenedPackage> open_package_to_dir(int fd, const std::vector<const age::Identity*>& identities,
                                          const policy::PackageRules& rules, int dirfd);

// Compares what was read with a manifest's file list. Errors:
// "manifest-file-missing", "manifest-hash-mismatch" (naming the file and
// both sizes or hashes), "manifest-file-extra".
Status check_files(const std::vector<policy::ManifestFile>& files, const OpenedPackage& pkg);

struct PackageFile {
  std::string path;  // on the local disk (the sender's machine)
  std::string name;  // "files/<basename>"
};

// Builds a package: computes each file's size and SHA-256 into the
// manifest's "files" list (replacing any given), signs the manifest with
// `sign_key`, and seals manifest, signature and files (streamed) to
// `recipients` into `out_fd`. Errors: "manifest-not-json", "file-unreadable",
// "io-failed".
// `check` (may be empty) sees the manifest with its file list filled in,
// before it is signed; its error stops the seal.
using ManifestCheck = std::function<Status(const std::string& manifest)>;
Status seal_package(const std::string& manifest_json, const std::vector<PackageFile>& files,
                    const minisign::SecretKey& sign_key, const std::vector<age::PublicKey>& recipients,
                    int out_fd, const ManifestCheck& check = {});

}  // namespace kp::workers

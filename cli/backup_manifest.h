// The manifest of a backup: DIR/knooppunt-backup.manifest, one line per
// folder, file and hard link of the backup, written last (its presence
// marks a complete backup), read first by `knooppunt restore`.
//
//   knooppunt-backup/1
//   created<TAB>MS<TAB>ISO-TIME        when the database was copied
//   schema<TAB>N                       the copied database's schema version
//   d<TAB>MODE<TAB>PATH                a folder (MODE in octal, as in the data directory)
//   f<TAB>MODE<TAB>SIZE<TAB>SHA256<TAB>PATH
//   l<TAB>PATH<TAB>TARGET              PATH is a hard link of the earlier file TARGET
//   end<TAB>COUNT<TAB>SHA256           COUNT entries; SHA-256 of every byte before this line
//
// Paths are relative to the backup (and to the data directory it restores),
// depth first with the names of a folder in byte order (so each folder
// comes before what it holds, and a hard link after its target); '%', TAB, newline and
// other control bytes in a name are written %XX. The last line catches a
// truncated or hand-edited manifest; it is no signature: whoever can write
// the backup can write a matching manifest (keep backups where only the
// operator can write).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace kp::cli {

inline constexpr const char* kManifestName = "knooppunt-backup.manifest";

struct ManifestEntry {
  char type = 'f';  // 'd', 'f' or 'l'
  std::string path;
  mode_t mode = 0600;      // 'd', 'f'
  int64_t size = 0;        // 'f'
  std::string sha256;      // 'f'
  std::string link_to;     // 'l'
  bool operator==(const ManifestEntry&) const = default;
};

struct Manifest {
  int64_t created_ms = 0;
  int64_t schema = 0;
  std::vector<ManifestEntry> entries;
};

std::string format_manifest(const Manifest& m);

// Errors: "backup-incomplete" (no end line, or fewer entries than it
// counts), "backup-invalid" (anything else that is not the format above,
// or a checksum that does not match).
Result<Manifest> parse_manifest(std::string_view text);

// Every folder, file and hard link below `dir` but the manifest, in
// manifest order, each file hashed; modes are taken from `modes` (relative
// path -> mode) where it has one, else from the file itself. Errors:
// "backup-unsupported-file" (a symbolic link, device, socket or FIFO),
// "io-failed".
Result<std::vector<ManifestEntry>> describe_tree(const std::string& dir, const std::map<std::string, mode_t>& modes);

// Checks that `dir` holds exactly what `m` lists, byte for byte. Errors:
// "backup-file-missing", "backup-unexpected-file", "backup-file-damaged"
// (naming the first difference), and describe_tree's.
Status verify_tree(const std::string& dir, const Manifest& m);

}  // namespace kp::cli

// The data directory's layout. Only server-side paths live here; client
// input never reaches these functions (see common/confine.h for that).
//
//   DATA/knooppunt.conf        settings
//   DATA/knooppunt.db          SQLite store
//   DATA/keys/                 host keys, intake identity, hub and log keys (0700, or root:worker 0710 when
//                              init ran as root; files 0600)
//   DATA/public/               the public halves of those keys (0755, files 0644; keys/keystore.h)
//   DATA/boxes/GMxxxx/inbox    completed uploads of one municipality
//   DATA/boxes/GMxxxx/outbox   receipts, SIPs, requests for the municipality
//   DATA/boxes/GMxxxx/archive  outbox items the municipality acknowledged
//   DATA/boxes/GMxxxx/partial  uploads in progress (never visible over SFTP)
//   DATA/queue, DATA/quarantine, DATA/outgoing
//   DATA/audit                 checkpoint and export-YYYY-MM-DD.jsonl (the auditors' /audit)
//   DATA/outgoing-partial      staff uploads in progress (never visible over SFTP)
#pragma once

#include <string>

#include "common/result.h"

namespace kp {

struct DataDir {
  std::string root;

  std::string settings() const { return root + "/knooppunt.conf"; }
  std::string db() const { return root + "/knooppunt.db"; }
  std::string keys() const { return root + "/keys"; }
  std::string public_keys() const { return root + "/public"; }
  std::string boxes() const { return root + "/boxes"; }
  // `code` must have passed policy::valid_municipality_code.
  std::string box(const std::string& code) const { return boxes() + "/" + code; }
  std::string queue() const { return root + "/queue"; }
  // Payloads of the queue's two-part files (common/pair_file.h).
  std::string queue_payloads() const { return root + "/queue/.payload"; }
  std::string quarantine() const { return root + "/quarantine"; }
  std::string outgoing() const { return root + "/outgoing"; }
  std::string outgoing_partial() const { return root + "/outgoing-partial"; }
  std::string audit() const { return root + "/audit"; }
};

// --data DIR, else $KNOOPPUNT_DATA; error "usage" when neither is given.
Result<DataDir> resolve_data_dir(const std::string& flag_value);

// Creates the box folders of a municipality (0700) if missing.
Status ensure_box(const DataDir& d, const std::string& code);

// Creates a folder with mode 0700 unless it exists.
Status ensure_dir(const std::string& path);

}  // namespace kp

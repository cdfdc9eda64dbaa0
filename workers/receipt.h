// Receipts: the signed answer to every upload, placed in the municipality's
// outbox as <upload name>.receipt.json with <...>.receipt.json.minisig,
// signed by the hub key (verifiable with the stock minisign CLI and
// `knooppunt keys show`'s public key).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"
#include "keys/minisign.h"

namespace kp::workers {

struct Receipt {
  std::string upload;       // upload name
  std::string sha256;       // of the uploaded bytes
  std::string received;     // ISO 8601 UTC with ms
  bool accepted = false;
  std::string reason_code;  // "accepted" or a rejection code
  std::string reason_text;  // a sentence a person can act on
  std::optional<std::string> case_id;
  int64_t log_index = 0;    // index of the verdict's record in the transfer log
  std::optional<std::string> proof;  // C2SP tlog-proof, once the log signs checkpoints
  // The canonical bytes of record log_index (audit/record.h), which the
  // proof covers: the receipt can be checked without the hub.
  std::optional<std::string> record;
};

// The receipt as canonical JSON (format "knooppunt-receipt/1").
std::string receipt_json(const Receipt& r);

// A minisign signature over `json` by the hub key, with a trusted comment
// naming the upload.
Result<std::string> sign_receipt(const minisign::SecretKey& hub, const Receipt& r, const std::string& json);

// ISO 8601 UTC with milliseconds for a time in ms since the epoch.
std::string iso8601_ms(int64_t ms);

}  // namespace kp::workers

// The intake of one claimed upload: open, verify, validate, rank, queue for
// the staff recipients by rewrapping (queue_pair.h), and answer with a
// signed receipt -- exactly once.
//
// The worker itself reads only the upload's age header: it unwraps the file
// key with the intake identity and derives the payload key. The payload,
// the tar and the manifest bytes are read by a sandboxed parser child
// (parser_child.h, through parse_upload.h) that gets that one key, the
// upload's descriptor and the rules, and answers with the facts
// the worker checks: manifest and signature bytes, each file's size and
// SHA-256. A child that crashes, hangs or answers nonsense gets the package
// refused (package-parser-crashed / -timeout / -bad-answer).
//
// Outputs are first written to DATA/work/<upload id>.* (fsynced); the
// verdict, the case and the audit records then commit in one transaction;
// only after that are the outputs renamed into place (queue, outbox,
// quarantine). A worker killed before the commit leaves only work files,
// which the retry overwrites; one killed after it leaves work files that
// place_outputs() moves into place at the next start. Plaintext never
// reaches disk.
#pragma once

#include <optional>
#include <vector>

#include "common/datadir.h"
#include "common/result.h"
#include "keys/age.h"
#include "keys/minisign.h"
#include "keys/signed_note.h"
#include "policy/manifest.h"
#include "policy/package_rules.h"
#include "policy/ranking.h"
#include "store/db.h"
#include "store/intake.h"
#include "workers/parser_zygote.h"

namespace kp::workers {

struct IntakeContext {
  DataDir data;
  store::Db* db = nullptr;
  std::vector<age::Identity> identities;  // current and previous intake identity
  std::string intake_generation;          // keys::intake_generation when they were loaded
  minisign::SecretKey hub_key;
  note::SignerKey log_key;
  std::string log_origin;
  // During the grace period after `keys rotate --hub` / `--log`
  // (keys/keystore.h): the replaced hub key, still accepted on hub-signed
  // submissions, and the replaced log key, which cosigns checkpoints.
  std::optional<minisign::PublicKey> hub_previous_public;
  std::optional<note::SignerKey> log_previous_key;
  std::string signing_generation;  // keys::signing_generation when these were loaded
  policy::PackageRules rules;
  policy::ManifestLimits manifest_limits;
  policy::RankWeights weights;
  int64_t pid = 0;
  // Forks the sandboxed child that parses each upload's payload (started
  // before the keys above were loaded; see parser_zygote.h).
  parser::Zygote* parser = nullptr;
  uint32_t parser_timeout_ms = 300000;
};

// Processes one claimed upload to its verdict. Errors are operational
// (store, disk, no staff recipients, parser-unavailable,
// parser-sandbox-failed): the claim is then released so the
// upload is retried; a bad package is never an error here, it is a
// rejection with a receipt. With `give_up` (intake_failed(), after
// intake_max_attempts) the upload is not opened again: it is rejected
// with that error, with a receipt, and kept in quarantine.
Status process_upload(IntakeContext& ctx, const store::Upload& upload,
                      const std::optional<Error>& give_up = std::nullopt);

// The rejection of an upload or submission that failed intake_max_attempts
// times: "intake-failed" with a sentence the sender can act on.
Error intake_failed();

// Loads the hub and log keys (and the previous ones in their grace period)
// when they changed on disk since the last load. Called inside the write
// transaction that signs: `keys rotate` swaps the files while it holds the
// store's write lock, so nothing is signed with a replaced key after the
// rotation committed.
Status refresh_signing_keys(IntakeContext& ctx);

// Signs a checkpoint of the transfer log if it grew, and publishes the
// latest one as DATA/audit/checkpoint for auditors.
Status publish_checkpoint(IntakeContext& ctx);

// Moves outputs of committed verdicts that are still in DATA/work into place.
Status place_outputs(IntakeContext& ctx);

// Places the receipts whose placement failed (a full disk): the worker
// calls it every few seconds, so they appear once space returns.
Status place_unplaced_receipts(IntakeContext& ctx);

}  // namespace kp::workers

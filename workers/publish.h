// Publishing: the hub's answers to a municipality. A staff submission in
// /outgoing (a sealed SIP or enrichment request, signed by the staff
// member's registered minisign key, or by the hub key when made on the
// gateway host with `sip publish` / `request send`) is opened and checked
// like any upload -- same hostile-input rules -- then its manifest is signed
// with the hub key and the package is resealed to the municipality's
// registered recipients and placed in that municipality's outbox. The
// submitter gets a signed receipt in /outgoing.
//
// Two passes over the sealed submission: the first verifies everything
// (signature, manifest, case, every file's size and SHA-256) without
// keeping any content; the second streams the files into the new seal and
// must read exactly the same files again. Plaintext never touches disk.
//
// Reason codes, besides those of opening a package and of the manifest:
//   case-unknown                  the manifest's case does not exist
//   case-municipality-mismatch    the case belongs to another municipality
//   case-not-open                 the case was declined or closed
//   municipality-no-recipient     the municipality has no age recipient registered
#pragma once

#include "common/result.h"
#include "store/outbox.h"
#include "store/uploads.h"
#include "workers/intake.h"

namespace kp::workers {

// Processes one claimed submission to its verdict, exactly once. Errors are
// operational (store, disk): the claim is then released and retried.
// With `give_up` (intake_failed()) it is rejected with that error unopened.
Status process_submission(IntakeContext& ctx, const store::Upload& submission,
                          const std::optional<Error>& give_up = std::nullopt);

// Places outbox items and submission receipts whose decision committed but
// whose files are not in place yet (start-up, and right after a decision).
Status place_hub_outputs(IntakeContext& ctx);

// Places one committed outbox item: its work file (SIPs, requests) or its
// stored body and signature (notices). Used by workers and by the CLI.
Status place_outbox_item(const DataDir& d, store::Db& db, const store::OutboxItem& item);

}  // namespace kp::workers

// Receipts proved against a checkpoint the witnesses cosigned. A receipt is
// signed in its verdict's transaction, with a proof against the checkpoint
// stored then, which no witness has seen yet. Once a checkpoint that covers
// the receipt's record carries `witness_quorum` cosignatures, the worker
// places NAME.receipt.tlog-proof beside the receipt in the municipality's
// outbox: a C2SP tlog-proof of the record (the receipt's log_index) against
// that checkpoint, cosignature lines included. The municipality can then
// show that the log held its record at a size every witness agreed on
// (`knooppunt receipt verify --proof ... --witness-key ...`). Each receipt
// gets one such proof, the first witnessed checkpoint that covers it; with
// witness_quorum 0 none is made.
#pragma once

#include <cstdint>
#include <string>

#include "common/datadir.h"
#include "common/result.h"
#include "store/db.h"

namespace kp::workers {

// The proof's name beside receipt `receipt_name` ("X.receipt.json" ->
// "X.receipt.tlog-proof"; a name without ".json" gets the suffix added).
std::string witnessed_proof_name(const std::string& receipt_name);

// Places the proofs of up to a few hundred waiting receipts (the rest at the
// next call). Errors: store and file errors; a receipt whose proof failed
// stays waiting.
Status place_witnessed_proofs(store::Db& db, const DataDir& data, int64_t quorum);

}  // namespace kp::workers

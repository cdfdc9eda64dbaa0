// Queueing an accepted package by rewrapping, not re-encrypting.
//
// age keeps the payload independent of the recipients: the file key is
// per package, wrapped once per recipient in the header, and the payload
// (nonce + STREAM chunks) depends on the file key alone. So a package
// sealed to the gateway becomes one sealed to the staff recipients by a
// new header (fresh X25519 stanzas wrapping the same file key, a fresh
// header MAC) in front of the unchanged payload. The queue entry is a
// two-part file (common/pair_file.h): DATA/queue/NAME holds the new header,
// DATA/queue/.payload/NAME is a hard link to the upload as received. No
// payload byte is read into the worker or written again; the upload stays
// in the inbox for its own retention period (the link keeps the bytes
// while the queue entry lives).
//
// Exactly once, as every worker output (outputs.h): before the verdict
// commits, both parts are made under DATA/work (the head fsynced, the link
// made, the work folder synced); after it, they are renamed into place,
// payload first, so a listed head always has its payload.
#pragma once

#include <string>
#include <vector>

#include "common/datadir.h"
#include "common/result.h"
#include "workers/outputs.h"
#include "keys/age.h"

namespace kp::workers {

// DATA/work/<upload_id>.queue.age and DATA/work/<upload_id>.queue.payload.
std::string queue_head_work(const DataDir& d, int64_t upload_id);
std::string queue_payload_work(const DataDir& d, int64_t upload_id);

// Makes both work parts for the upload `upload_name` in the inbox folder
// `inbox_fd`, whose open descriptor `upload_fd` the header `h` was read
// from: linked by its inbox name, or, when `upload_fd` is an unnamed file
// (an armored upload decoded, armored_upload.h), by the descriptor; the
// link is checked to be that very file. Errors: "io-failed",
// "age-*" from rewrapping.
Status prepare_queue_pair(const DataDir& d, int64_t upload_id, int inbox_fd, const std::string& upload_name,
                          int upload_fd, const age::OpenedHeader& h, const std::vector<age::PublicKey>& staff);

// Renames the work parts into DATA/queue as `queue_name` (those still
// there), the payload first; their directories are added to `syncs` for
// the caller to flush. An error leaves the rest for the next try.
Status place_queue_pair(const DataDir& d, int64_t upload_id, const std::string& queue_name, DirSyncs& syncs);

// Removes the work parts (a verdict that did not commit).
void discard_queue_pair(const DataDir& d, int64_t upload_id);

}  // namespace kp::workers

// The C2SP tlog-witness protocol; see witness.h.
#include "audit/witness.h"

#include "audit/merkle.h"

#include "common/base64.h"
#include "keys/cosignature.h"

namespace kp::witness {

namespace {


Reply refuse(int status, std::string reason, std::string body) {
  Reply r;
  r.status = status;
  r.reason = std::move(reason);
  r.body = std::move(body) + "\n";
  return r;
}

}  // namespace

std::string format_add_checkpoint(const AddCheckpoint& req) {
  std::string out = "old " + std::to_string(req.old_size) + "\n";
  for (const auto& h : req.proof) out += base64_encode(h.data(), h.size()) + "\n";
  return out + "\n" + req.checkpoint;
}

Result<AddCheckpoint> parse_add_checkpoint(std::string_view body) {
  auto bad = [](const std::string& why) { return make_error("witness-request-malformed", why); };
  if (body.size() > kMaxRequestBytes) return bad("the request is too large");
  AddCheckpoint req;
  std::size_t nl = body.find('\n');
  if (nl == std::string_view::npos || !body.starts_with("old ") ||
      !merkle::parse_decimal(body.substr(4, nl - 4), req.old_size))
    return bad("the first line must be \"old <size>\"");
  body.remove_prefix(nl + 1);
  for (;;) {
    nl = body.find('\n');
    if (nl == std::string_view::npos) return bad("no empty line before the checkpoint");
    if (nl == 0) break;
    if (req.proof.size() == kMaxProofLines) return bad("more than 63 proof lines");
    merkle::Hash h{};
    std::size_t len = 0;
    if (!base64_decode(body.substr(0, nl), h.data(), h.size(), len) || len != h.size())
      return bad("a proof line is not base64 of 32 bytes");
    req.proof.push_back(h);
    body.remove_prefix(nl + 1);
  }
  body.remove_prefix(1);
  if (body.empty()) return bad("no checkpoint");
  req.checkpoint = std::string(body);
  return req;
}

Reply add_checkpoint(std::string_view body, const note::VerifierKey& log_key,
                     const std::string& origin, const std::optional<LogState>& state,
                     const note::SignerKey& witness_key, uint64_t now_s) {
  auto req = parse_add_checkpoint(body);
  if (!req.ok()) return refuse(400, "witness-request-malformed", req.error().message());
  auto parsed_note = note::parse(req->checkpoint);
  if (!parsed_note.ok()) return refuse(400, "checkpoint-malformed", parsed_note.error().message());
  auto unverified = merkle::parse_checkpoint(parsed_note->text);
  if (!unverified.ok()) return refuse(400, "checkpoint-malformed", unverified.error().message());
  if (unverified->origin != origin)
    return refuse(404, "witness-unknown-log", "unknown log: " + unverified->origin);
  auto text = note::open(req->checkpoint, log_key);
  if (!text.ok())
    return refuse(403, "witness-bad-signature", "the checkpoint is not signed by the log's key");
  auto cp = merkle::parse_checkpoint(*text);
  if (!cp.ok()) return refuse(400, "checkpoint-malformed", cp.error().message());
  if (req->old_size > cp->size)
    return refuse(400, "witness-old-too-large", "old size is larger than the checkpoint");
  const uint64_t known = state ? state->size : 0;
  if (req->old_size != known) {
    Reply r = refuse(409, "witness-old-size-mismatch", std::to_string(known));
    r.content_type = "text/x.tlog.size";
    return r;
  }
  if (state && state->size == cp->size) {
    if (state->root != cp->root)
      return refuse(409, "witness-fork", "a different checkpoint of this size was cosigned before");
    if (!req->proof.empty()) return refuse(422, "witness-proof-invalid", "the proof must be empty");
  } else if (state) {
    if (!merkle::verify_consistency(state->size, cp->size, state->root, cp->root, req->proof).ok())
      return refuse(422, "witness-proof-invalid",
                    "the checkpoint is not consistent with the one of size " +
                        std::to_string(state->size) + " cosigned before");
  } else if (!req->proof.empty()) {
    return refuse(422, "witness-proof-invalid", "the proof must be empty when old is 0");
  }
  auto line = cosig::cosign(*text, witness_key, now_s);
  if (!line.ok()) return refuse(500, "witness-failed", line.error().message());
  Reply r;
  r.body = *line;
  r.reason = "cosigned";
  r.new_state = LogState{cp->size, cp->root};
  return r;
}

}  // namespace kp::witness

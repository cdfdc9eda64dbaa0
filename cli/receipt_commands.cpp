// `knooppunt receipt verify`: what a municipality runs to check a receipt
// alone, offline, with two public keys: the hub's signature over the
// receipt, that the record it carries is this upload's verdict, and that
// the record is in the transfer log (its inclusion proof against a
// checkpoint signed by the log key); with witness keys, also the later
// proof (NAME.receipt.tlog-proof, workers/witnessed_proofs.h) against a
// checkpoint the witnesses cosigned. docs/formats.md gives the same steps
// for a script in any language.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <iostream>
#include <optional>
#include <string>

#include "audit/merkle.h"
#include "cli/context.h"
#include "cli/handlers.h"
#include "cli/key_checks.h"
#include "keys/cosignature.h"
#include "keys/minisign.h"
#include "keys/signed_note.h"
#include "workers/witnessed_proofs.h"

namespace kp::cli {

namespace {

struct ReceiptFields {
  std::string upload, sha256, verdict, reason_code, record, proof;
  int64_t log_index = 0;
};

Result<ReceiptFields> receipt_fields(const std::string& json) {
  try {
    Poco::JSON::Parser parser;
    auto o = parser.parse(json).extract<Poco::JSON::Object::Ptr>();
    KP_ENSURE(o && o->optValue<std::string>("format", "") == "knooppunt-receipt/1", "receipt-malformed",
              "not a knooppunt-receipt/1");
    ReceiptFields f;
    f.upload = o->getValue<std::string>("upload");
    f.sha256 = o->getValue<std::string>("sha256");
    f.verdict = o->getValue<std::string>("verdict");
    f.reason_code = o->getValue<std::string>("reason_code");
    f.log_index = o->getValue<int64_t>("log_index");
    KP_ENSURE(o->has("record") && !o->isNull("record"), "receipt-no-record",
              "the receipt carries no record (made before receipts carried one); ask the hub for audit proof");
    f.record = o->getValue<std::string>("record");
    KP_ENSURE(o->has("proof") && !o->isNull("proof"), "receipt-no-proof", "the receipt carries no proof");
    f.proof = o->getValue<std::string>("proof");
    return f;
  } catch (const Poco::Exception& e) {
    return make_error("receipt-malformed", "the receipt is not a receipt: " + e.displayText());
  } catch (const std::exception& e) {
    return make_error("receipt-malformed", std::string("the receipt is not a receipt: ") + e.what());
  }
}

// The value of "name: value" in the canonical record, or nothing.
std::optional<std::string> record_field(const std::string& record, const std::string& name) {
  const std::string key = "\n" + name + ": ";
  std::size_t at = record.find(key);
  if (at == std::string::npos) return std::nullopt;
  at += key.size();
  return record.substr(at, record.find('\n', at) - at);
}

}  // namespace

int cmd_receipt_verify(const Args& a) {
  auto run = [&]() -> Status {
    const std::string& path = a.positional[0];
    const std::string sig_path = a.get_or("--signature", path + ".minisig");
    auto hub_path = a.get("--hub-key");
    auto log_path = a.get("--log-key");
    KP_ENSURE(hub_path && log_path, "usage", "--hub-key and --log-key are required");
    KP_TRY(std::string json, read_small_file(path, 1 << 20));
    KP_TRY(std::string sig, read_small_file(sig_path, 16384));
    KP_TRY(std::string hub_text, read_small_file(*hub_path, 4096));
    KP_TRY(minisign::PublicKey hub, minisign::parse_public_key(hub_text));
    auto signed_by = minisign::verify(hub, json, sig);
    KP_ENSURE(signed_by.ok(), "receipt-signature-invalid",
              path + " is not signed by the hub key (" + (signed_by.ok() ? "" : signed_by.error().code) + ")");
    KP_TRY(ReceiptFields f, receipt_fields(json));

    // The record is this receipt's: its index, event, upload and hash.
    const std::string head = "knooppunt-audit/1\nindex: " + std::to_string(f.log_index) + "\n";
    KP_ENSURE(f.record.starts_with(head), "receipt-record-mismatch",
              "the record is not record " + std::to_string(f.log_index) + " of the transfer log");
    const auto event = record_field(f.record, "event");
    KP_ENSURE(event == "intake.receipt" || event == "publish.receipt", "receipt-record-mismatch",
              "the record is not a receipt's record");
    const auto object = record_field(f.record, "object");
    KP_ENSURE(object && object->ends_with(" " + f.upload), "receipt-record-mismatch",
              "the record is about another upload");
    KP_ENSURE(record_field(f.record, "sha256") == f.sha256, "receipt-record-mismatch",
              "the record names another SHA-256");
    KP_ENSURE(record_field(f.record, "reason") == f.reason_code, "receipt-record-mismatch",
              "the record names another verdict");

    // ... and it is in the log the log key signs.
    KP_TRY(note::VerifierKey log_key, read_verifier_key(*log_path));
    KP_TRY(merkle::TlogProof proof, merkle::parse_tlog_proof(f.proof));
    KP_ENSURE(proof.index == static_cast<uint64_t>(f.log_index), "receipt-proof-mismatch",
              "the proof is for record " + std::to_string(proof.index) + ", not " + std::to_string(f.log_index));
    auto cp = merkle::verify_tlog_proof(proof, merkle::leaf_hash(f.record), log_key, log_key.name);
    if (!cp.ok()) return make_error("receipt-proof-invalid", "the inclusion proof does not verify: " + cp.error().message());
    std::cout << path << ": valid receipt (" << f.verdict << ", " << f.reason_code << "), signed by the hub key; record "
              << f.log_index << " is in the transfer log " << log_key.name << " of " << cp->size << " records\n";

    // With witness keys: the later proof against a checkpoint they cosigned.
    KP_TRY(WitnessKeys witnesses, witness_keys_of(a));
    if (witnesses.keys.empty()) return ok_status();
    const std::string proof_path = a.get_or("--proof", workers::witnessed_proof_name(path));
    auto proof_text = read_small_file(proof_path, 1 << 20);
    KP_ENSURE(proof_text.ok(), "receipt-not-witnessed",
              proof_path + " is not there (yet): the hub places it once enough witnesses cosigned a checkpoint "
                           "that covers the record");
    KP_TRY(merkle::TlogProof later, merkle::parse_tlog_proof(*proof_text));
    KP_ENSURE(later.index == static_cast<uint64_t>(f.log_index), "receipt-proof-mismatch",
              proof_path + " is for record " + std::to_string(later.index) + ", not " + std::to_string(f.log_index));
    auto witnessed = merkle::verify_tlog_proof(later, merkle::leaf_hash(f.record), log_key, log_key.name);
    if (!witnessed.ok())
      return make_error("receipt-proof-invalid", proof_path + " does not verify: " + witnessed.error().message());
    std::string cosigned_by;
    std::size_t cosigned = 0;
    for (const auto& w : witnesses.keys) {
      if (!cosig::verify(later.checkpoint, w).ok()) continue;
      ++cosigned;
      cosigned_by += (cosigned_by.empty() ? "" : ", ") + w.name;
    }
    KP_ENSURE(cosigned >= witnesses.quorum, "receipt-not-witnessed",
              "the checkpoint in " + proof_path + " carries " + std::to_string(cosigned) + " of the " +
                  std::to_string(witnesses.quorum) + " cosignatures asked for");
    std::cout << proof_path << ": record " << f.log_index << " is in the transfer log of " << witnessed->size
              << " records that " << (cosigned_by.empty() ? "no witness" : cosigned_by) << " cosigned\n";
    return ok_status();
  };
  Status s = run();
  return s.ok() ? kExitOk : fail(s.error());
}

}  // namespace kp::cli

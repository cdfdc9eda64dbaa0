// `knooppunt audit verify | export | proof`: what auditors run against the
// transfer log. verify needs only the log's public key (keys/log.note.vkey,
// also shown by `keys show`); export writes records with their index and
// leaf hash; proof prints a C2SP tlog-proof.
#include <iostream>

#include "audit/export.h"
#include "audit/log.h"
#include "audit/witness.h"
#include "common/settings.h"
#include "store/transfer_log.h"
#include "cli/context.h"
#include "cli/handlers.h"
#include "common/log.h"
#include "keys/announcement.h"
#include "keys/keystore.h"
#include "store/audit_queries.h"

namespace kp::cli {

namespace {

Result<note::VerifierKey> log_verifier(const DataDir& d) {
  KP_TRY(std::string text, read_small_file(d.keys() + "/log.note.vkey", 4096));
  return note::parse_verifier_key(text);
}

// Spreadsheet programs run cells that start with = + - @ (and tab, CR) as
// formulas: prefix those with a quote.
std::string csv_cell(const std::string& v) {
  std::string cell = v;
  if (!cell.empty() && std::string("=+-@\t\r").find(cell[0]) != std::string::npos) cell = "'" + cell;
  bool quote = cell.find_first_of(",\"\n\r") != std::string::npos;
  if (!quote) return cell;
  std::string out = "\"";
  for (char c : cell) {
    if (c == '"') out += "\"\"";
    else out.push_back(c);
  }
  return out + "\"";
}

}  // namespace

int cmd_audit_verify(const Args& a) {
  auto run = [&]() -> Status {
    KP_TRY(DataDir d, data_dir_of(a));
    KP_TRY(store::Db db, open_store(d));
    KP_TRY(note::VerifierKey key, log_verifier(d));
    KP_TRY(std::string origin, keys::log_origin(d));
    // Every log key so far, each announced by the one before it.
    KP_TRY(keys::LogKeyHistory history, keys::log_key_history(d, key));
    if (auto trusted_key = a.get("--log-key")) {
      KP_TRY(std::string text, read_small_file(*trusted_key, 4096));
      KP_TRY(note::VerifierKey mine, note::parse_verifier_key(text));
      bool known = false;
      for (const auto& era : history) known = known || note::format_verifier_key(era.key) == note::format_verifier_key(mine);
      KP_ENSURE(known, "log-key-unknown",
                "the given log key is not one of this log's keys, nor announced by one of them");
    }
    std::optional<std::string> trusted;
    if (auto path = a.get("--from-checkpoint")) {
      KP_TRY(std::string text, read_small_file(*path, 1 << 20));
      trusted = text;
    }
    KP_TRY(auto report, audit::verify_log(db, history, origin, trusted));
    std::cout << "transfer log verified: " << report.records << " records, " << report.checkpoints
              << " signed checkpoints" << (trusted ? ", and it extends the given checkpoint" : "") << "\n";
    return ok_status();
  };
  Status s = run();
  return s.ok() ? kExitOk : fail(s.error());
}

int cmd_audit_export(const Args& a) {
  auto run = [&]() -> Status {
    KP_TRY(DataDir d, data_dir_of(a));
    KP_TRY(store::Db db, open_store(d));
    KP_ENSURE(!(a.has("--json") && a.has("--csv")), "usage", "choose --json or --csv");
    store::AuditFilter filter;
    filter.municipality = a.get("--municipality");
    filter.event = a.get("--event");
    if (auto s = a.get("--since")) {
      KP_TRY(int64_t ms, parse_date_ms(*s));
      filter.since_ms = ms;
    }
    if (auto u = a.get("--until")) {
      KP_TRY(int64_t ms, parse_date_ms(*u));
      filter.until_ms = ms + kDayMs;  // the whole last day
    }
    KP_TRY(auto events, store::list_audit_filtered(db, filter, 0, -1, false));
    const char* header = "index,time,event,outcome,actor,role,municipality,object,size,sha256,source,channel,reason,leaf_hash";
    if (a.has("--csv")) std::cout << header << "\n";
    for (const auto& e : events) {
      if (!a.has("--csv")) {
        std::cout << audit::record_json(e) << "\n";
        continue;
      }
      auto opt = [](const std::optional<std::string>& v) { return v ? *v : std::string(); };
      std::string size = e.size ? std::to_string(*e.size) : "";
      std::cout << (e.id - 1) << "," << csv_cell(log::format_iso8601(e.ts_ms)) << "," << csv_cell(e.event) << ","
                << csv_cell(e.outcome) << "," << csv_cell(opt(e.actor)) << "," << csv_cell(opt(e.role)) << ","
                << csv_cell(opt(e.municipality)) << "," << csv_cell(opt(e.object)) << "," << size << ","
                << csv_cell(opt(e.sha256)) << "," << csv_cell(opt(e.source)) << "," << csv_cell(opt(e.channel))
                << "," << csv_cell(opt(e.reason)) << "," << audit::leaf_hash_hex(e) << "\n";
    }
    return ok_status();
  };
  Status s = run();
  return s.ok() ? kExitOk : fail(s.error());
}

namespace {

Result<uint64_t> parse_index(const std::string& text, const char* what) {
  KP_ENSURE(!text.empty() && text.find_first_not_of("0123456789") == std::string::npos && text.size() < 19,
            "usage", std::string(what) + " must be a whole number");
  return static_cast<uint64_t>(std::stoull(text));
}

// `audit proof --consistency OLD NEW`: the proof that the tree of NEW
// records extends the tree of OLD, in the body format of tlog-witness's
// add-checkpoint ("old OLD", the hashes, a blank line, the signed
// checkpoint of size NEW with its cosignatures), which a witness or an
// auditor who kept checkpoint OLD can check.
Status consistency(store::Db& db, uint64_t old_size, uint64_t new_size) {
  KP_TRY(auto cps, store::all_checkpoints(db));
  const store::StoredCheckpoint* cp = nullptr;
  for (const auto& c : cps)
    if (c.size == new_size) cp = &c;
  KP_ENSURE(cp, "audit-no-checkpoint", "no stored checkpoint has size " + std::to_string(new_size));
  KP_ENSURE(old_size <= new_size, "tree-size-invalid", "OLD must not be larger than NEW");
  KP_TRY(merkle::Hash root, audit::root_at(db, new_size));
  KP_ENSURE(root == cp->root, "audit-tree-damaged", "the stored tree disagrees with checkpoint " + std::to_string(new_size));
  merkle::FunctionHashSource src([&](unsigned level, uint64_t index) { return store::tree_node(db, level, index); });
  witness::AddCheckpoint out;
  out.old_size = old_size;
  KP_TRY(out.proof, merkle::consistency_proof(src, old_size, new_size));
  KP_TRY(merkle::Hash old_root, audit::root_at(db, old_size));
  KP_ENSURE(merkle::verify_consistency(old_size, new_size, old_root, root, out.proof).ok(), "audit-tree-damaged",
            "the stored tree does not prove its own consistency");
  KP_TRY(auto lines, store::cosignatures_of(db, new_size));
  out.checkpoint = cp->note;
  for (const auto& l : lines) out.checkpoint += l;
  std::cout << witness::format_add_checkpoint(out);
  return ok_status();
}

}  // namespace

int cmd_audit_proof(const Args& a) {
  auto run = [&]() -> Status {
    KP_TRY(DataDir d, data_dir_of(a));
    KP_TRY(store::Db db, open_store(d));
    if (a.has("--consistency")) {
      KP_ENSURE(a.positional.size() == 2, "usage", "audit proof --consistency OLD NEW");
      KP_TRY(uint64_t old_size, parse_index(a.positional[0], "OLD"));
      KP_TRY(uint64_t new_size, parse_index(a.positional[1], "NEW"));
      return consistency(db, old_size, new_size);
    }
    KP_ENSURE(a.positional.size() == 1, "usage", "audit proof INDEX");
    KP_TRY(uint64_t index, parse_index(a.positional[0], "INDEX"));
    KP_TRY(Settings settings, load_settings(d.settings()));
    if (settings.witness_quorum == 0) {
      KP_TRY(std::string proof, audit::proof_for(db, index));
      std::cout << proof;
      return ok_status();
    }
    // Only a checkpoint enough witnesses cosigned, cosignatures included.
    KP_TRY(auto cp, store::latest_witnessed_checkpoint(db, settings.witness_quorum));
    KP_ENSURE(cp && cp->size > index, "audit-not-witnessed",
              "no checkpoint with " + std::to_string(settings.witness_quorum) +
                  " witness cosignatures covers record " + std::to_string(index) + " yet");
    KP_TRY(auto lines, store::cosignatures_of(db, cp->size));
    for (const auto& l : lines) cp->note += l;
    KP_TRY(std::string proof, audit::proof_against(db, index, *cp));
    std::cout << proof;
    return ok_status();
  };
  Status s = run();
  return s.ok() ? kExitOk : fail(s.error());
}

}  // namespace kp::cli

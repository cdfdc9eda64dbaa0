// The command table: every subcommand's words, options, help text and
// handler in one place, so `--help`, usage errors and dispatch agree.
#include "cli/commands.h"

#include <sodium.h>
#include <sys/stat.h>

#include <iostream>
#include <string>
#include <vector>

#include "cli/context.h"
#include "common/result.h"
#include "cli/handlers.h"
#include "cli/version.h"

namespace kp::cli {

namespace {

struct Command {
  std::vector<std::string> words;
  ArgSpec spec;
  std::string usage;
  std::string help;
  int (*handler)(const Args&);
};

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {{"init"}, {{"--data", "--host-name", "--log-origin"}, {}, 0, 0},
       "init --data DIR [--host-name NAME] [--log-origin ORIGIN]",
       "Create a data directory: settings file, database, host keys, box folders. The transfer log's origin is "
       "ORIGIN, else NAME/transfer-log (NAME: the machine's name by default); both go into the settings.",
       cmd_init},
      {{"serve"}, {{"--data", "--listen", "--http"}, {}, 0, 0},
       "serve --data DIR [--listen 127.0.0.1:2222] [--http 127.0.0.1:8080]",
       "Run the SSH/SFTP gateway (one process per connection).", cmd_serve},
      {{"worker"}, {{"--data"}, {}, 0, 0}, "worker --data DIR",
       "Run the intake workers alone (serve also runs them).", cmd_worker},
      {{"seal"}, {{"--to", "--sign-key", "--manifest", "-o", "--password-file"}, {"--armor"}, 0, 10000},
       "seal --to RECIPIENT[,RECIPIENT] --sign-key minisign.key [--password-file FILE] --manifest M.json [--armor] "
       "[FILE...] -o OUT.age",
       "Build a signal package: check the files and the manifest with the gateway's rules, fill in the manifest's "
       "file list, sign it, seal it with age (--armor: ASCII armor, as `age -a`). A password-protected key asks "
       "for its password on the terminal, or reads it from --password-file.",
       cmd_seal},
      {{"open"}, {{"-i", "--verify-key", "-o"}, {}, 1, 1},
       "open IN.age -i AGE_IDENTITY_FILE --verify-key minisign.pub -o DIR",
       "Open a package, SIP or queued package (binary or armored age) and verify its signature and every file; "
       "DIR must be new or empty.",
       cmd_open},
      {{"audit", "verify"}, {{"--data", "--from-checkpoint", "--log-key"}, {}, 0, 0},
       "audit verify [--from-checkpoint FILE] [--log-key LOG.vkey]",
       "Recompute the transfer log and check every signed checkpoint with the log key of its time (the chain of "
       "log key announcements; with --log-key, that key must be in it), and growth since FILE.",
       cmd_audit_verify},
      {{"audit", "export"},
       {{"--data", "--municipality", "--since", "--until", "--event"}, {"--json", "--csv"}, 0, 0},
       "audit export [--json|--csv] [--municipality GMxxxx] [--since YYYY-MM-DD] [--until YYYY-MM-DD] [--event E]",
       "Export log records with their index and leaf hash (JSON lines by default).", cmd_audit_export},
      {{"audit", "proof"}, {{"--data"}, {"--consistency"}, 1, 2}, "audit proof INDEX | --consistency OLD NEW",
       "Print a C2SP tlog-proof of record INDEX against a signed checkpoint (with witness_quorum, one the "
       "witnesses cosigned), or the consistency proof from size OLD to the stored checkpoint NEW.",
       cmd_audit_proof},
      {{"audit", "monitor"}, {{"--token-file", "--log-key", "--witness-key", "--state", "--quorum"}, {}, 1, 1},
       "audit monitor URL --token-file FILE --log-key FILE [--witness-key FILE]... [--state DIR] [--quorum N]",
       "Mirror the transfer log's tiles from URL (the gateway's /log/), check every checkpoint's signature, "
       "cosignatures and consistency with the last one seen, and every entry's leaf hash.",
       cmd_audit_monitor},
      {{"witness"}, {{"--data", "--log-key", "--origin", "--name", "--listen"}, {}, 0, 0},
       "witness --data DIR --log-key LOG.vkey [--origin ORIGIN] [--name NAME] [--listen 127.0.0.1:7380]",
       "Run a C2SP tlog-witness for one transfer log: cosign each checkpoint consistent with the last one "
       "cosigned, refuse anything else (own directory and key; never the gateway's).",
       cmd_witness},
      {{"queue", "list"}, {{"--data"}, {"--json"}, 0, 0}, "queue list [--json]",
       "The hub's cases, highest rank first: municipality, provider, domain, rank and its parts, "
       "matches in other municipalities, state; and the year's capacity.",
       cmd_queue_list},
      {{"queue", "take"}, {{"--data", "--staff"}, {}, 1, 1}, "queue take CASE [--staff ID]",
       "Take a queued case for enrichment (counts against case_capacity_per_year).", cmd_queue_take},
      {{"queue", "decline"}, {{"--data", "--staff", "--reason"}, {}, 1, 1},
       "queue decline CASE --reason TEXT [--staff ID]",
       "Decline a case; the municipality gets a notice signed by the hub key with the reason.", cmd_queue_decline},
      {{"queue", "close"}, {{"--data", "--staff"}, {}, 1, 1}, "queue close CASE [--staff ID]",
       "Close a taken case after its SIP went out.", cmd_queue_close},
      {{"sip", "publish"}, {{"--data", "--case", "--title", "--summary"}, {}, 1, 10000},
       "sip publish --case CASE [--title TEXT] [--summary TEXT] FILE...",
       "Publish a SIP for a case: signed by the hub key, sealed to the municipality's recipients, placed in "
       "its outbox by a worker.",
       cmd_sip_publish},
      {{"request", "send"}, {{"--data", "--case", "--question", "--summary"}, {}, 0, 10000},
       "request send --case CASE --question TEXT [FILE...]",
       "Send an enrichment request for a case to its municipality's outbox (answered with kind "
       "enrichment-response, in_reply_to = the request's id).",
       cmd_request_send},
      {{"retention", "show"}, {{"--data"}, {"--json"}, 0, 0}, "retention show [--json]",
       "List what the retention sweeper deletes when (soonest first), with the configured periods.",
       cmd_retention_show},
      {{"retention", "sweep"}, {{"--data"}, {"--json"}, 0, 0}, "retention sweep [--json]",
       "Delete every expired item now (workers also sweep every retention_sweep_interval).",
       cmd_retention_sweep},
      {{"municipality", "add"}, {{"--data", "--name", "--recipient", "--kvk", "--rsin"}, {}, 1, 1},
       "municipality add GMxxxx --name NAME [--recipient age1...[,age1...]] [--kvk NUMBER] [--rsin NUMBER]",
       "Register a municipality (CBS code GM + 4 digits) and create its drop box; --kvk/--rsin let "
       "eHerkenning logins for that organisation act for it.",
       cmd_municipality_add},
      {{"municipality", "recipients"}, {{"--data", "--set"}, {}, 1, 1},
       "municipality recipients GMxxxx --set age1...[,age1...]",
       "Replace a municipality's age recipients (rotation); SIPs and requests are sealed to all of them.",
       cmd_municipality_recipients},
      {{"municipality", "list"}, {{"--data"}, {"--json"}, 0, 0}, "municipality list [--json]",
       "List municipalities.", cmd_municipality_list},
      {{"person", "add"}, {{"--data", "--ssh-key", "--sign-key", "--email"}, {}, 1, 1},
       "person add ID --ssh-key FILE.pub --sign-key MINISIGN.pub [--email ADDRESS]",
       "Register a contact person of a municipality (acts only under a mandate).", cmd_person_add},
      {{"person", "list"}, {{"--data"}, {"--json"}, 0, 0}, "person list [--json]",
       "List persons.", cmd_person_list},
      {{"staff", "add"}, {{"--data", "--ssh-key", "--recipient", "--sign-key"}, {}, 1, 1},
       "staff add ID --ssh-key FILE.pub --recipient age1... --sign-key MINISIGN.pub",
       "Register a hub staff member.", cmd_staff_add},
      {{"staff", "list"}, {{"--data"}, {"--json"}, 0, 0}, "staff list [--json]",
       "List hub staff.", cmd_staff_list},
      {{"auditor", "add"}, {{"--data", "--ssh-key", "--token-file"}, {}, 1, 1},
       "auditor add ID --ssh-key FILE.pub [--token-file FILE]",
       "Register an auditor; --token-file (mode 0600, one line of at least 32 characters, e.g. from "
       "`openssl rand -hex 32`) sets the token for the auditors' web page.",
       cmd_auditor_add},
      {{"auditor", "token"}, {{"--data", "--token-file"}, {}, 1, 1}, "auditor token ID --token-file FILE",
       "Set or replace an auditor's web page token (only its hash is stored).", cmd_auditor_token},
      {{"auditor", "list"}, {{"--data"}, {"--json"}, 0, 0}, "auditor list [--json]",
       "List auditors.", cmd_auditor_list},
      {{"account", "disable"}, {{"--data"}, {}, 1, 1}, "account disable ID",
       "Disable a person, staff member or auditor for good (a person's mandates are revoked with it); "
       "open SSH and web sessions lose access at their next operation.",
       cmd_account_disable},
      {{"mandate", "grant"}, {{"--data", "--level", "--scope", "--from", "--until"}, {}, 2, 2},
       "mandate grant PERSON GMxxxx [--level EH3] [--scope upload,download] [--from YYYY-MM-DD] "
       "[--until YYYY-MM-DD]",
       "Grant a mandate; --until is the last valid day (UTC).", cmd_mandate_grant},
      {{"mandate", "revoke"}, {{"--data"}, {}, 2, 2}, "mandate revoke PERSON GMxxxx",
       "Revoke a mandate; open sessions lose access at their next operation.", cmd_mandate_revoke},
      {{"mandate", "list"}, {{"--data"}, {"--json"}, 0, 0}, "mandate list [--json]",
       "List mandates with their state.", cmd_mandate_list},
      {{"keys", "show"}, {{"--data", "--listen"}, {"--json", "--known-hosts"}, 0, 0},
       "keys show [--json | --known-hosts] [--listen HOST:PORT]",
       "Show the gateway's intake recipient, the hub's minisign key, the log's verifier key and origin, the SSH "
       "host key fingerprints (as ssh-keygen -l prints them) and known_hosts lines (host_name, else the listen "
       "address; --known-hosts prints only those), and the rotation announcements.",
       cmd_keys_show},
      {{"keys", "rotate"}, {{"--data"}, {"--intake", "--hub", "--log"}, 0, 0}, "keys rotate [--intake|--hub|--log]",
       "Make a new key (default: the intake identity) and announce it in DATA/public, signed by the old key (the "
       "intake key's announcement by the hub key). The old key keeps working for its grace period: "
       "intake_rotation_grace_days, hub_key_grace, log_key_grace.",
       cmd_keys_rotate},
      {{"keys", "verify-announcement"}, {{"--old-key", "--signature"}, {}, 1, 1},
       "keys verify-announcement FILE --old-key OLD.pub [--signature FILE.minisig]",
       "Check a rotation announcement with the key it replaces (a log key's .note with the old log verifier "
       "key; a hub key's .txt with the old hub minisign key and FILE.minisig; an intake key's with the hub key).",
       cmd_keys_verify_announcement},
      {{"eherkenning", "metadata"}, {{"--data"}, {}, 0, 0}, "eherkenning metadata",
       "Print our SAML service-provider metadata (entity id, ACS URL, certificate) for the eHerkenning broker.",
       cmd_eherkenning_metadata},
      {{"ban", "list"}, {{"--data"}, {"--json"}, 0, 0}, "ban list [--json]",
       "Sources (IPv4 addresses, IPv6 /64 blocks) with a ban or counted failures, banned ones first.",
       cmd_ban_list},
      {{"ban", "lift"}, {{"--data"}, {}, 1, 1}, "ban lift ADDRESS",
       "Lift the ban of ADDRESS's source block and forget its failures and earlier bans (audited).",
       cmd_ban_lift},
      {{"manifest", "check"}, {{}, {}, 1, 1}, "manifest check M.json",
       "Check a manifest (signal, SIP or request) with the gateway's own rules (docs/formats.md).",
       cmd_manifest_check},
      {{"manifest", "init"}, {{"--municipality", "--submitted-by", "-o"}, {}, 0, 0},
       "manifest init [--municipality GMxxxx] [--submitted-by ACCOUNT] [-o M.json]",
       "Write a signal manifest template to fill in (stdout without -o).", cmd_manifest_init},
      {{"receipt", "verify"}, {{"--hub-key", "--log-key", "--signature", "--witness-key", "--quorum", "--proof"}, {}, 1, 1},
       "receipt verify R.receipt.json --hub-key hub.minisign.pub --log-key log.note.vkey [--signature R.minisig] "
       "[--witness-key FILE[,FILE...] [--quorum N] [--proof R.receipt.tlog-proof]]",
       "Check a receipt offline: the hub's signature, that its record is this upload's verdict, and the record's "
       "inclusion proof against a checkpoint signed by the log key; with witness keys, also the later proof "
       "(R.receipt.tlog-proof) against a checkpoint that many witnesses (default all) cosigned.",
       cmd_receipt_verify},
      {{"backup"}, {{"--data"}, {}, 1, 1}, "backup --data DATA DIR",
       "Copy a data directory, also while serve runs: the database (SQLite's online backup), then the keys, the "
       "settings and every file the copied database refers to, checked against it; DIR/knooppunt-backup.manifest "
       "lists every file with its SHA-256. DIR must be new or empty and outside DATA.",
       cmd_backup},
      {{"restore"}, {{"--data"}, {}, 1, 1}, "restore --data NEWDATA DIR",
       "Make a data directory from a backup: check every file against the backup's manifest first, then copy it "
       "into NEWDATA (new or empty) with the modes and owners `init` gives, and migrate its database.",
       cmd_restore},
  };
  return table;
}

void print_overview(std::ostream& out) {
  out << "usage: knooppunt [--data DIR] COMMAND [options]   (knooppunt --version)\n\n"
         "Every command that touches a data directory takes --data DIR (or KNOOPPUNT_DATA).\n"
         "Exit status: 0 success, 1 refused or failed, 2 bad usage.\n\ncommands:\n";
  for (const auto& c : commands()) out << "  knooppunt " << c.usage << "\n";
}

}  // namespace

// Words a caller (e.g. `knooppunt` + argv) used to name a command, for matching.
int run(int argc, char** argv) {
  if (sodium_init() < 0) {
    std::cerr << "knooppunt: crypto-init-failed: libsodium could not start\n";
    return kExitRefused;
  }
  ::umask(077);  // the data directory holds personal data and keys: owner only
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && (args[0] == "--version" || args[0] == "-V")) {
    std::cout << "knooppunt " << kVersion << "\n";
    return kExitOk;
  }
  // Global options before the command words ("knooppunt --data DIR queue
  // list"): moved behind them, where every command's parser takes them.
  std::vector<std::string> global;
  while (args.size() >= 2 && args[0] == "--data") {
    global.insert(global.end(), args.begin(), args.begin() + 2);
    args.erase(args.begin(), args.begin() + 2);
  }
  while (!args.empty() && args[0].starts_with("--data=")) {
    global.push_back(args[0]);
    args.erase(args.begin());
  }
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_overview(args.empty() ? std::cerr : std::cout);
    return args.empty() ? kExitUsage : kExitOk;
  }
  const Command* best = nullptr;
  for (const auto& c : commands()) {
    if (args.size() < c.words.size()) continue;
    if (std::equal(c.words.begin(), c.words.end(), args.begin())) {
      if (!best || c.words.size() > best->words.size()) best = &c;
    }
  }
  if (!best) {
    // A command group ("knooppunt audit --help", or "knooppunt audit"):
    // list its commands.
    std::vector<const Command*> group;
    for (const auto& c : commands())
      if (c.words.size() > 1 && c.words[0] == args[0]) group.push_back(&c);
    const bool help = args.size() == 1 || args[1] == "--help" || args[1] == "-h";
    if (!group.empty() && help) {
      std::ostream& out = args.size() == 1 ? std::cerr : std::cout;
      out << "usage: knooppunt " << args[0] << " COMMAND [options]\n\ncommands:\n";
      for (const Command* c : group) out << "  knooppunt " << c->usage << "\n      " << c->help << "\n";
      return args.size() == 1 ? kExitUsage : kExitOk;
    }
    return fail(make_error("usage", "unknown command '" + args[0] + (args.size() > 1 ? " " + args[1] : "") +
                                        "' (see knooppunt --help)"));
  }
  std::vector<std::string> rest(args.begin() + static_cast<long>(best->words.size()), args.end());
  if (!global.empty()) {
    if (!best->spec.value_flags.count("--data"))
      return fail(make_error("usage", "knooppunt " + best->usage + " takes no --data"));
    rest.insert(rest.end(), global.begin(), global.end());
  }
  for (const auto& r : rest) {
    if (r == "--help" || r == "-h") {
      std::cout << "usage: knooppunt " << best->usage << "\n\n" << best->help << "\n";
      return kExitOk;
    }
  }
  auto parsed = parse_args(rest, best->spec);
  if (!parsed.ok()) {
    return fail(make_error("usage", parsed.error().detail + " (usage: knooppunt " + best->usage + ")"));
  }
  return best->handler(*parsed);
}

}  // namespace kp::cli

// Numbered schema migrations. Append new ones at the end; never edit one
// that has shipped. PRAGMA user_version records how many are applied.
#include <array>
#include <string>

#include "store/audit_events.h"
#include "store/db.h"

namespace kp::store {

namespace {

constexpr std::array<const char*, 23> kMigrations = {
    // 1: registry, mandates, uploads, audit events.
    R"sql(
CREATE TABLE municipalities(
  code TEXT PRIMARY KEY CHECK (code GLOB 'GM[0-9][0-9][0-9][0-9]'),
  name TEXT NOT NULL,
  created_ms INTEGER NOT NULL);
CREATE TABLE municipality_recipients(
  municipality TEXT NOT NULL REFERENCES municipalities(code),
  recipient TEXT NOT NULL,
  added_ms INTEGER NOT NULL,
  PRIMARY KEY (municipality, recipient));
CREATE TABLE accounts(
  id TEXT PRIMARY KEY,
  role TEXT NOT NULL CHECK (role IN ('person', 'staff', 'auditor')),
  email TEXT,
  sign_key TEXT,
  recipient TEXT,
  created_ms INTEGER NOT NULL);
CREATE TABLE ssh_keys(
  account TEXT NOT NULL REFERENCES accounts(id),
  key_type TEXT NOT NULL,
  key_base64 TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  PRIMARY KEY (account, key_base64));
CREATE TABLE mandates(
  id INTEGER PRIMARY KEY,
  person TEXT NOT NULL REFERENCES accounts(id),
  municipality TEXT NOT NULL REFERENCES municipalities(code),
  scopes TEXT NOT NULL,
  level TEXT NOT NULL,
  valid_from_ms INTEGER NOT NULL,
  valid_until_ms INTEGER,
  granted_ms INTEGER NOT NULL,
  activated_ms INTEGER,
  revoked_ms INTEGER);
CREATE UNIQUE INDEX mandates_one_live ON mandates(person, municipality) WHERE revoked_ms IS NULL;
CREATE TABLE uploads(
  id INTEGER PRIMARY KEY,
  municipality TEXT NOT NULL REFERENCES municipalities(code),
  person TEXT NOT NULL REFERENCES accounts(id),
  name TEXT NOT NULL,
  partial_name TEXT NOT NULL,
  size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  received_ms INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'received',
  UNIQUE (municipality, name));
CREATE INDEX uploads_by_day ON uploads(municipality, received_ms);
CREATE TABLE audit_events(
  id INTEGER PRIMARY KEY,
  ts_ms INTEGER NOT NULL,
  event TEXT NOT NULL,
  outcome TEXT NOT NULL,
  actor TEXT,
  role TEXT,
  municipality TEXT,
  object TEXT,
  size INTEGER,
  sha256 TEXT,
  source TEXT,
  channel TEXT,
  reason TEXT);
CREATE INDEX audit_by_source ON audit_events(source, event, ts_ms);
)sql",
    // 2: intake: claims on uploads, verdicts, cases.
    R"sql(
ALTER TABLE uploads ADD COLUMN claim_pid INTEGER;
ALTER TABLE uploads ADD COLUMN claimed_ms INTEGER;
ALTER TABLE uploads ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE uploads ADD COLUMN reason_code TEXT;
ALTER TABLE uploads ADD COLUMN reason_text TEXT;
ALTER TABLE uploads ADD COLUMN processed_ms INTEGER;
CREATE INDEX uploads_by_state ON uploads(state, id);
CREATE TABLE cases(
  id TEXT PRIMARY KEY,
  upload_id INTEGER NOT NULL UNIQUE REFERENCES uploads(id),
  municipality TEXT NOT NULL REFERENCES municipalities(code),
  kind TEXT NOT NULL,
  in_reply_to TEXT,
  provider_kvk TEXT NOT NULL,
  provider_name TEXT NOT NULL,
  domain TEXT NOT NULL,
  score REAL NOT NULL,
  score_parts TEXT NOT NULL,
  queue_name TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'queued',
  created_ms INTEGER NOT NULL);
CREATE INDEX cases_by_kvk ON cases(provider_kvk, municipality);
)sql",
    // 3: the transfer log: perfect-subtree hashes of the RFC 6962 tree over
    // audit_events (level 0 = leaf hashes), and signed checkpoints.
    R"sql(
CREATE TABLE merkle_nodes(
  level INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY (level, idx)) WITHOUT ROWID;
CREATE TABLE checkpoints(
  size INTEGER PRIMARY KEY,
  root BLOB NOT NULL,
  note TEXT NOT NULL,
  ts_ms INTEGER NOT NULL);
)sql",
    // 4: receipts live in the store (committed with their verdict); the
    // outbox files are written from here and rewritten after a crash.
    R"sql(
CREATE TABLE receipts(
  upload_id INTEGER PRIMARY KEY REFERENCES uploads(id),
  json TEXT NOT NULL,
  signature TEXT NOT NULL,
  placed INTEGER NOT NULL DEFAULT 0);
)sql",
    // 5: the hub's side. Case decisions (take, decline, close) with who and
    // when; staff submissions to /outgoing, processed like uploads; what the
    // hub placed in each outbox (SIPs, enrichment requests, notices, receipts)
    // and when it was acknowledged; enrichment responses joining a case.
    R"sql(
ALTER TABLE cases ADD COLUMN state_ms INTEGER;
ALTER TABLE cases ADD COLUMN state_by TEXT;
ALTER TABLE cases ADD COLUMN state_reason TEXT;
ALTER TABLE cases ADD COLUMN taken_ms INTEGER;
CREATE TABLE submissions(
  id INTEGER PRIMARY KEY,
  submitter TEXT NOT NULL,
  name TEXT NOT NULL UNIQUE,
  partial_name TEXT NOT NULL,
  size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  received_ms INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'received',
  claim_pid INTEGER,
  claimed_ms INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  reason_code TEXT,
  reason_text TEXT,
  processed_ms INTEGER,
  receipt_json TEXT,
  receipt_signature TEXT,
  receipt_placed INTEGER NOT NULL DEFAULT 0);
CREATE INDEX submissions_by_state ON submissions(state, id);
CREATE TABLE outbox_items(
  id INTEGER PRIMARY KEY,
  municipality TEXT NOT NULL REFERENCES municipalities(code),
  name TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('receipt', 'sip', 'request', 'notice')),
  case_id TEXT REFERENCES cases(id),
  item_id TEXT UNIQUE,
  submission_id INTEGER REFERENCES submissions(id),
  upload_id INTEGER REFERENCES uploads(id),
  body TEXT,
  signature TEXT,
  created_ms INTEGER NOT NULL,
  placed_ms INTEGER,
  acknowledged_ms INTEGER,
  archived_name TEXT,
  UNIQUE (municipality, name));
CREATE INDEX outbox_items_by_case ON outbox_items(case_id, kind);
CREATE TABLE replies(
  upload_id INTEGER PRIMARY KEY REFERENCES uploads(id),
  request_id TEXT NOT NULL,
  case_id TEXT NOT NULL REFERENCES cases(id),
  queue_name TEXT NOT NULL,
  created_ms INTEGER NOT NULL);
)sql",
    // 6: the auditors' web page: one token hash per auditor (BLAKE2b of a
    // high-entropy secret the operator generated), and an index for the
    // page's period filters and the daily exports.
    R"sql(
CREATE TABLE auditor_tokens(
  account TEXT PRIMARY KEY REFERENCES accounts(id),
  hash BLOB NOT NULL,
  set_ms INTEGER NOT NULL);
CREATE INDEX audit_by_time ON audit_events(ts_ms);
)sql",
    // 7: email notifications of outbox items, one row per item and contact
    // person. The address is looked up when the mail is sent, never copied.
    R"sql(
CREATE TABLE notifications(
  id INTEGER PRIMARY KEY,
  outbox_item INTEGER NOT NULL REFERENCES outbox_items(id),
  municipality TEXT NOT NULL REFERENCES municipalities(code),
  account TEXT NOT NULL REFERENCES accounts(id),
  state TEXT NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'cancelled')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL,
  claim_pid INTEGER,
  claimed_ms INTEGER,
  last_error TEXT,
  created_ms INTEGER NOT NULL,
  done_ms INTEGER,
  UNIQUE (outbox_item, account));
CREATE INDEX notifications_due ON notifications(state, next_attempt_ms);
)sql",
    // 8: retention. purged_ms marks a row whose files retention deleted
    // (the row stays: the transfer log and single-use upload names refer to
    // it); the partial indexes keep a sweep proportional to the items still
    // kept, not to everything ever received. One retention_deletions row per
    // deleted item (kind + ref unique), with the files it removes, relative
    // to the data directory, in order; unlinked_ms stays NULL until every
    // file is gone, so a crash between the commit and the unlink leaves the
    // row for the next sweep to finish.
    R"sql(
ALTER TABLE uploads ADD COLUMN purged_ms INTEGER;
ALTER TABLE cases ADD COLUMN purged_ms INTEGER;
ALTER TABLE replies ADD COLUMN purged_ms INTEGER;
ALTER TABLE outbox_items ADD COLUMN purged_ms INTEGER;
CREATE INDEX uploads_unpurged ON uploads(state, id) WHERE purged_ms IS NULL;
CREATE INDEX cases_unpurged ON cases(state, id) WHERE purged_ms IS NULL;
CREATE INDEX outbox_items_unpurged ON outbox_items(id)
  WHERE purged_ms IS NULL AND acknowledged_ms IS NOT NULL;
CREATE TABLE retention_deletions(
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  ref TEXT NOT NULL,
  municipality TEXT,
  object TEXT NOT NULL,
  due_ms INTEGER NOT NULL,
  purged_ms INTEGER NOT NULL,
  unlinked_ms INTEGER,
  UNIQUE (kind, ref));
CREATE INDEX retention_deletions_pending ON retention_deletions(id) WHERE unlinked_ms IS NULL;
CREATE TABLE retention_files(
  deletion_id INTEGER NOT NULL REFERENCES retention_deletions(id),
  seq INTEGER NOT NULL,
  path TEXT NOT NULL,
  PRIMARY KEY (deletion_id, seq)) WITHOUT ROWID;
)sql",
    // 9: per-municipality upload counts and bytes per UTC day, kept by
    // triggers on uploads, so the daily limits before every upload read one
    // row instead of summing the day's uploads (which grew with each upload;
    // the index for that sum goes).
    R"sql(
CREATE TABLE upload_days(
  municipality TEXT NOT NULL,
  day INTEGER NOT NULL,
  files INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  PRIMARY KEY (municipality, day)) WITHOUT ROWID;
DROP INDEX uploads_by_day;
INSERT INTO upload_days(municipality, day, files, bytes)
  SELECT municipality, received_ms / 86400000, count(*), sum(size) FROM uploads GROUP BY 1, 2;
CREATE TRIGGER upload_days_insert AFTER INSERT ON uploads BEGIN
  INSERT INTO upload_days(municipality, day, files, bytes)
    VALUES (NEW.municipality, NEW.received_ms / 86400000, 1, NEW.size)
    ON CONFLICT (municipality, day) DO UPDATE SET files = files + 1, bytes = bytes + excluded.bytes;
END;
CREATE TRIGGER upload_days_delete AFTER DELETE ON uploads BEGIN
  UPDATE upload_days SET files = files - 1, bytes = bytes - OLD.size
    WHERE municipality = OLD.municipality AND day = OLD.received_ms / 86400000;
END;
CREATE TRIGGER upload_days_update AFTER UPDATE OF municipality, received_ms, size ON uploads BEGIN
  UPDATE upload_days SET files = files - 1, bytes = bytes - OLD.size
    WHERE municipality = OLD.municipality AND day = OLD.received_ms / 86400000;
  INSERT INTO upload_days(municipality, day, files, bytes)
    VALUES (NEW.municipality, NEW.received_ms / 86400000, 1, NEW.size)
    ON CONFLICT (municipality, day) DO UPDATE SET files = files + 1, bytes = bytes + excluded.bytes;
END;
)sql",
    // 10: case numbers are drawn from a counter per year (workers side by side
    // drew the same number when it was counted from cases), starting after
    // the highest number already given ("KP-2026-000042": year at 4, number at 9).
    R"sql(
CREATE TABLE case_numbers(
  year INTEGER PRIMARY KEY,
  last INTEGER NOT NULL);
INSERT INTO case_numbers(year, last)
  SELECT CAST(substr(id, 4, 4) AS INTEGER), max(CAST(substr(id, 9) AS INTEGER)) FROM cases GROUP BY 1;
)sql",
    // 11: two fewer index pages written per upload. Claims find received
    // uploads through uploads_unpurged (they add "purged_ms IS NULL"), so
    // uploads_by_state goes; the failed-login count reads only refused
    // logins, so its index holds only those (uploads and downloads were
    // most of its entries). The WHERE below must stay word for word the
    // one in count_failed_logins (store/audit_events.cpp), or SQLite will
    // not use the index. (Both gone since migration 14.)
    R"sql(
DROP INDEX uploads_by_state;
DROP INDEX audit_by_source;
CREATE INDEX audit_failed_logins ON audit_events(source, ts_ms)
  WHERE event IN ('auth.login', 'web.login') AND outcome = 'refused';
)sql",
    // 12: /metrics counts logins and limit hits through an index of those
    // events alone (it scanned every audit record on every scrape). The
    // WHERE must stay word for word the one in store/metrics.cpp.
    R"sql(
CREATE INDEX audit_counted ON audit_events(event, outcome)
  WHERE event IN ('auth.login', 'limit.hit');
)sql",
    // 13: accounts can be disabled (staff and auditors leave; a person's
    // mandates are revoked with it). The row stays: the log names it.
    R"sql(
ALTER TABLE accounts ADD COLUMN disabled_ms INTEGER;
)sql",
    // 14: eHerkenning. Municipalities are found by their KvK number or
    // RSIN; persons learned from a login by their pseudonym; a mandate
    // records who granted it (the operator, or an eHerkenning login with
    // its assertion id) and when its holder last logged in; assertion ids
    // are kept until they expire, so none is accepted twice.
    R"sql(
ALTER TABLE municipalities ADD COLUMN kvk TEXT;
ALTER TABLE municipalities ADD COLUMN rsin TEXT;
CREATE UNIQUE INDEX municipalities_by_kvk ON municipalities(kvk) WHERE kvk IS NOT NULL;
CREATE UNIQUE INDEX municipalities_by_rsin ON municipalities(rsin) WHERE rsin IS NOT NULL;
ALTER TABLE accounts ADD COLUMN pseudonym TEXT;
CREATE UNIQUE INDEX accounts_by_pseudonym ON accounts(pseudonym) WHERE pseudonym IS NOT NULL;
ALTER TABLE mandates ADD COLUMN granted_by TEXT NOT NULL DEFAULT 'operator';
ALTER TABLE mandates ADD COLUMN assertion_id TEXT;
ALTER TABLE mandates ADD COLUMN intermediary TEXT;
ALTER TABLE mandates ADD COLUMN last_seen_ms INTEGER;
CREATE TABLE saml_assertions(
  id TEXT PRIMARY KEY,
  expires_ms INTEGER NOT NULL,
  seen_ms INTEGER NOT NULL);
)sql",
    // 15: per-source penalties (store/penalties.h): failed connections and
    // web logins counted per source block, and the bans they led to. Bans
    // no longer count refused-login records, so their index goes.
    R"sql(
DROP INDEX audit_failed_logins;
CREATE TABLE penalties (
  block TEXT PRIMARY KEY,
  failures INTEGER NOT NULL,
  window_start_ms INTEGER NOT NULL,
  banned_until_ms INTEGER NOT NULL DEFAULT 0,
  bans INTEGER NOT NULL DEFAULT 0,
  last_ms INTEGER NOT NULL,
  reason TEXT NOT NULL
);
)sql",
    // 16: the signed manifests intake accepted (SHA-256 of manifest.json),
    // so a second upload of the same package is refused as a duplicate.
    R"sql(
CREATE TABLE accepted_manifests (
  sha256 TEXT PRIMARY KEY,
  case_id TEXT NOT NULL,
  upload_id INTEGER NOT NULL REFERENCES uploads(id),
  accepted_ms INTEGER NOT NULL
);
)sql",
    // 17: witnesses' cosignatures of stored checkpoints, and the size each
    // witness last cosigned (the "old" size of the next add-checkpoint).
    R"sql(
CREATE TABLE checkpoint_cosignatures(
  size INTEGER NOT NULL, witness TEXT NOT NULL, line TEXT NOT NULL,
  PRIMARY KEY(size, witness));
CREATE TABLE witness_state(witness TEXT PRIMARY KEY, size INTEGER NOT NULL);
)sql",
    // 18: failed intake attempts back off (a row is not claimed again before
    // retry_after_ms) and end after intake_max_attempts with the rejection
    // intake-failed; last_error is what the last attempt said. The partial
    // indexes keep /metrics' counts of both proportional to what they count.
    R"sql(
ALTER TABLE uploads ADD COLUMN retry_after_ms INTEGER;
ALTER TABLE uploads ADD COLUMN last_error TEXT;
ALTER TABLE submissions ADD COLUMN retry_after_ms INTEGER;
ALTER TABLE submissions ADD COLUMN last_error TEXT;
CREATE INDEX uploads_intake_failed ON uploads(id) WHERE reason_code = 'intake-failed';
CREATE INDEX uploads_retrying ON uploads(id) WHERE state = 'received' AND retry_after_ms IS NOT NULL;
CREATE INDEX receipts_unplaced ON receipts(upload_id) WHERE placed = 0;
)sql",
    // 19: /metrics' histogram of upload-to-receipt latency (the upload's
    // commit to its verdict's, which commits the receipt), kept by a trigger
    // so a scrape reads a dozen rows: one row per bucket (count and summed
    // milliseconds of the latencies that fall in it, not cumulative; the
    // last bucket is +Inf), filled from the uploads already decided.
    R"sql(
CREATE TABLE receipt_latency(
  le_ms INTEGER PRIMARY KEY,
  count INTEGER NOT NULL DEFAULT 0,
  sum_ms INTEGER NOT NULL DEFAULT 0);
INSERT INTO receipt_latency(le_ms) VALUES (100), (250), (500), (1000), (2500), (5000), (10000), (30000),
  (60000), (300000), (3600000), (86400000), (9223372036854775807);
WITH obs(le, ms) AS (
  SELECT (SELECT min(le_ms) FROM receipt_latency WHERE le_ms >= u.processed_ms - u.received_ms),
         max(0, u.processed_ms - u.received_ms)
  FROM uploads u WHERE u.processed_ms IS NOT NULL),
agg(le, c, s) AS (SELECT le, count(*), sum(ms) FROM obs GROUP BY le)
UPDATE receipt_latency SET count = agg.c, sum_ms = agg.s FROM agg WHERE agg.le = receipt_latency.le_ms;
CREATE TRIGGER receipt_latency_observe AFTER UPDATE OF processed_ms ON uploads
  WHEN OLD.processed_ms IS NULL AND NEW.processed_ms IS NOT NULL BEGIN
  UPDATE receipt_latency SET count = count + 1, sum_ms = sum_ms + max(0, NEW.processed_ms - NEW.received_ms)
    WHERE le_ms = (SELECT min(le_ms) FROM receipt_latency WHERE le_ms >= NEW.processed_ms - NEW.received_ms);
END;
)sql",
    // 20: a receipt's proof against a checkpoint the witnesses cosigned
    // (witnessing.h): the size of that checkpoint once its proof file is in
    // the outbox; the receipts still waiting for one are found by index.
    R"sql(
ALTER TABLE receipts ADD COLUMN witnessed_size INTEGER;
CREATE INDEX receipts_unwitnessed ON receipts(upload_id) WHERE witnessed_size IS NULL;
)sql",
    // 21: the files of each accepted package, as one key (SHA-256 over the
    // sorted SHA-256s of its files, workers/duplicates.h), so a new package
    // with the same files under another manifest shows staff the earlier case.
    R"sql(
ALTER TABLE accepted_manifests ADD COLUMN files_sha256 TEXT;
CREATE INDEX accepted_manifests_files ON accepted_manifests(files_sha256) WHERE files_sha256 IS NOT NULL;
)sql",
    // 22: long-lived SSH keys of municipal systems a person registered
    // after an eHerkenning login (store/eherkenning.h): each bound to one
    // municipality and to the mandate it was registered under, so it logs
    // in only while that mandate is live (expires and is revoked with it).
    R"sql(
CREATE TABLE municipal_keys(
  account TEXT NOT NULL REFERENCES accounts(id),
  municipality TEXT NOT NULL REFERENCES municipalities(code),
  mandate_id INTEGER NOT NULL REFERENCES mandates(id),
  key_type TEXT NOT NULL,
  key_base64 TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (account, municipality, key_base64));
)sql",
    // 23: an eHerkenning person's contact details (store/contacts.h): one
    // name and address per person, confirmed by a link mailed to it; each
    // request for a confirmation, with its mail's delivery state and, once
    // mailed, the SHA-256 of its single-use token and when that expires.
    R"sql(
CREATE TABLE contacts(
  account TEXT PRIMARY KEY REFERENCES accounts(id),
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  set_ms INTEGER NOT NULL,
  confirmed_ms INTEGER);
CREATE TABLE contact_confirmations(
  id INTEGER PRIMARY KEY,
  account TEXT NOT NULL REFERENCES accounts(id),
  email TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  token_hash BLOB UNIQUE,
  expires_ms INTEGER,
  used_ms INTEGER,
  superseded_ms INTEGER,
  mail_state TEXT NOT NULL DEFAULT 'pending'
    CHECK (mail_state IN ('pending', 'sending', 'sent', 'failed', 'cancelled')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL,
  claim_pid INTEGER,
  last_error TEXT,
  mail_done_ms INTEGER);
CREATE INDEX contact_confirmations_due ON contact_confirmations(mail_state, next_attempt_ms);
CREATE INDEX contact_confirmations_account ON contact_confirmations(account, created_ms);
)sql",
};

// PRAGMA user_version, read by a statement that is done before the caller
// goes on (DROP statements fail while another statement is active).
Result<std::size_t> applied_version(Db& db) {
  KP_TRY(Stmt st, db.prepare("PRAGMA user_version"));
  KP_TRY(bool row, st.step());
  return row ? static_cast<std::size_t>(st.col_int(0)) : 0;
}

}  // namespace

std::size_t latest_schema_version() { return kMigrations.size(); }

Status migrate(Db& db, std::size_t up_to) {
  // Read the version inside the write transaction, so that two processes
  // opening a fresh database at once never apply the same migration twice.
  for (;;) {
    KP_TRY(Transaction tx, Transaction::begin(db));
    KP_TRY(std::size_t version, applied_version(db));
    // A database a newer knooppunt migrated: its tables may mean what this
    // build does not know (a downgrade after an upgrade). Refused, not used.
    KP_ENSURE(version <= kMigrations.size(), "store-schema-newer",
              "the database has schema version " + std::to_string(version) + ", this knooppunt knows up to " +
                  std::to_string(kMigrations.size()) +
                  ": a newer knooppunt wrote it; run that version, or restore a backup taken before the upgrade");
    if (version >= kMigrations.size() || version >= up_to) return ok_status();
    Status s = db.run_script(kMigrations[version]);
    // Migration 3 starts the transfer log: records written before it become
    // its first leaves, in order.
    if (s.ok() && version + 1 == 3) s = rebuild_tree_leaves(db);
    if (!s.ok())
      return make_error("store-migration-failed",
                        "migration " + std::to_string(version + 1) + ": " + s.error().detail);
    // user_version cannot take a bound parameter; the value is our own counter.
    KP_GUARD(db.run_script("PRAGMA user_version = " + std::to_string(version + 1)));
    KP_GUARD(tx.commit());
  }
}

}  // namespace kp::store

"""An independent verifier of knooppunt's transfer log, written from the specs.

The transfer log publishes RFC 6962 Merkle tree heads as C2SP tlog-checkpoints
signed as C2SP signed notes (Ed25519), and hands out C2SP tlog-proofs. This
module checks all of that from the published texts alone -- the vkey, the
checkpoint notes, `knooppunt audit export --json` lines, receipts and
`knooppunt audit proof` output -- so a bug shared by the C++ writer and the
C++ verifier cannot hide. It deliberately shares no code or structure with
audit/ and keys/: it follows the specification texts

  - c2sp.org/signed-note      (note format, key ids, verifier keys)
  - c2sp.org/tlog-checkpoint  (origin, size, root lines)
  - c2sp.org/tlog-proof       (proof text)
  - RFC 6962 section 2.1      (MTH, PATH, PROOF/SUBPROOF, by their recursive definitions)
  - RFC 9162 2.1.3.2, 2.1.4.2 (iterative verification of inclusion and consistency)

and the one project document an outsider has, the canonical record text in
audit/record.h. Proof *generation* here follows the recursive definitions and
proof *verification* the iterative algorithms, so each checks the other.

Only the standard library (hashlib, base64, json) and PyNaCl (Debian
python3-nacl) are used. Every check raises LogCheckError with a message that
names what failed; functions return parsed values only when everything held.

Command line (an auditor's stand-alone check):

  logcheck.py --vkey DATA/keys/log.note.vkey --origin "$(cat DATA/keys/log.origin)" \
      --checkpoint DATA/audit/checkpoint --export export.jsonl [--old-checkpoint OLD] \
      [--proof FILE.tlog-proof|RECEIPT.json ...]
"""

import argparse
import base64
import binascii
import calendar
import hashlib
import json
import re
import sys

import nacl.exceptions
import nacl.signing


class LogCheckError(Exception):
    """A check failed; the message says which and why."""


# ---------------------------------------------------------------- base64 (RFC 4648 section 4)

def b64decode_strict(text):
    """Standard, padded base64 in its one canonical form; raises on anything else
    (other alphabets, missing padding, non-zero trailing bits, white space)."""
    if not isinstance(text, str) or not re.fullmatch(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?",
                                                     text):
        raise LogCheckError(f"not canonical base64: {text[:60]!r}")
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error as e:
        raise LogCheckError(f"not base64: {e}") from None
    if base64.b64encode(raw).decode() != text:
        raise LogCheckError(f"non-canonical base64 (trailing bits): {text[:60]!r}")
    return raw


def b64(data):
    return base64.b64encode(data).decode()


# ---------------------------------------------------------------- signed notes (c2sp.org/signed-note)

ALG_ED25519 = 0x01
EM_DASH = "\u2014"
MAX_SIGNATURES = 100  # the spec asks verifiers to accept at least 16


def valid_key_name(name):
    """Non-empty, no Unicode space, no '+' (signed-note "Format"); no control
    characters (a note may hold none but newline)."""
    if not name or "+" in name:
        return False
    return not any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7f for ch in name)


def key_id(name, public_key, alg=ALG_ED25519):
    """key ID = SHA-256(key name || 0x0A || signature type || public key)[:4], big-endian."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


class Verifier:
    """A trusted Ed25519 note key: name, 32-bit id, 32-byte public key."""

    def __init__(self, name, kid, public_key):
        self.name, self.key_id, self.public_key = name, kid, public_key
        self._vk = nacl.signing.VerifyKey(public_key)

    def verify(self, message, signature):
        try:
            self._vk.verify(message, signature)
            return True
        except nacl.exceptions.BadSignatureError:
            return False


def parse_vkey(text):
    """Parses "<name>+<8 hex id>+<base64(0x01 || 32-byte key)>" (one trailing
    newline allowed, as a file has) and checks that the id is the one the
    spec recommends for that name and key."""
    if text.endswith("\n"):
        text = text[:-1]
    parts = text.split("+")
    # The name holds no '+', base64 may: split the name and id off the front.
    if len(parts) < 3:
        raise LogCheckError("vkey: expected <name>+<hex id>+<base64 key>")
    name, hexid, keyb64 = parts[0], parts[1], "+".join(parts[2:])
    if not valid_key_name(name):
        raise LogCheckError(f"vkey: invalid key name {name!r}")
    if not re.fullmatch(r"[0-9a-f]{8}", hexid):
        raise LogCheckError(f"vkey: key id {hexid!r} is not 8 lowercase hex digits")
    raw = b64decode_strict(keyb64)
    if len(raw) != 33 or raw[0] != ALG_ED25519:
        raise LogCheckError(f"vkey: key is not 0x01 || 32-byte Ed25519 key ({len(raw)} bytes)")
    kid = int(hexid, 16)
    want = key_id(name, raw[1:])
    if kid != want:
        raise LogCheckError(f"vkey: key id {hexid} does not match SHA-256(name||0x0A||0x01||key)[:4] = {want:08x}")
    return Verifier(name, kid, raw[1:])


def split_note(note):
    """Splits a note (str or bytes) into (text bytes, [(name, key id, signature bytes)])
    after the syntax checks of the spec; no signature is verified here."""
    raw = note.encode("utf-8") if isinstance(note, str) else bytes(note)
    try:
        s = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise LogCheckError("note: not valid UTF-8") from None
    if any(ord(c) < 0x20 and c != "\n" for c in s):
        raise LogCheckError("note: holds an ASCII control character other than newline")
    if not raw.endswith(b"\n"):
        raise LogCheckError("note: does not end in a newline")
    # The text is separated from the signatures by the LAST empty line.
    cut = raw.rfind(b"\n\n")
    if cut < 0:
        raise LogCheckError("note: no blank line before the signatures")
    text, sigblock = raw[:cut + 1], raw[cut + 2:]
    if not text:
        raise LogCheckError("note: empty text")
    lines = sigblock.decode("utf-8").split("\n")
    if lines[-1] != "":
        raise LogCheckError("note: last signature line lacks its newline")
    lines = lines[:-1]
    if not lines:
        raise LogCheckError("note: no signature lines")
    if len(lines) > MAX_SIGNATURES:
        raise LogCheckError(f"note: more than {MAX_SIGNATURES} signatures")
    sigs = []
    for line in lines:
        m = re.fullmatch(EM_DASH + r" (\S+) (\S+)", line)
        if not m or not valid_key_name(m.group(1)):
            raise LogCheckError(f"note: malformed signature line {line[:80]!r}")
        blob = b64decode_strict(m.group(2))
        if len(blob) < 5:
            raise LogCheckError("note: signature shorter than key id + 1 byte")
        sigs.append((m.group(1), int.from_bytes(blob[:4], "big"), blob[4:]))
    return text, sigs


def open_note(note, verifier):
    """Verifies `note` against one trusted key and returns its text (str).
    Signatures from unknown keys (name and id not both matching) are ignored;
    every signature by the known key must verify; at least one must be there."""
    text, sigs = split_note(note)
    verified = 0
    for name, kid, sig in sigs:
        if name != verifier.name or kid != verifier.key_id:
            continue
        if len(sig) != 64 or not verifier.verify(text, sig):
            raise LogCheckError(f"note: the signature by {name} does not verify")
        verified += 1
    if verified == 0:
        raise LogCheckError(f"note: no signature by the known key {verifier.name}+{verifier.key_id:08x}")
    return text.decode("utf-8")


def sign_note(text, name, signing_key):
    """Signs `text` (str ending in newline) with a PyNaCl SigningKey under
    `name`: for tests that need a note by another key."""
    pk = bytes(signing_key.verify_key)
    sig = signing_key.sign(text.encode("utf-8")).signature
    blob = key_id(name, pk).to_bytes(4, "big") + sig
    return f"{text}\n{EM_DASH} {name} {b64(blob)}\n"


def format_vkey(name, public_key):
    return f"{name}+{key_id(name, public_key):08x}+{b64(bytes([ALG_ED25519]) + public_key)}"


# ---------------------------------------------------------------- checkpoints (c2sp.org/tlog-checkpoint)

class Checkpoint:
    def __init__(self, origin, size, root, extensions):
        self.origin, self.size, self.root, self.extensions = origin, size, root, extensions

    def __repr__(self):
        return f"Checkpoint({self.origin!r}, {self.size}, {self.root.hex()})"


def parse_decimal(s, what):
    if not re.fullmatch(r"0|[1-9][0-9]*", s):
        raise LogCheckError(f"{what}: {s!r} is not an ASCII decimal without leading zeroes")
    return int(s)


def parse_checkpoint_text(text):
    """At least three non-empty lines: origin, tree size, base64 root; then
    optional non-empty extension lines."""
    if not text.endswith("\n"):
        raise LogCheckError("checkpoint: text does not end in a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise LogCheckError("checkpoint: fewer than three lines")
    if any(line == "" for line in lines):
        raise LogCheckError("checkpoint: empty line in the text")
    size = parse_decimal(lines[1], "checkpoint tree size")
    root = b64decode_strict(lines[2])
    if len(root) != 32:
        raise LogCheckError("checkpoint: root is not 32 bytes")
    return Checkpoint(lines[0], size, root, lines[3:])


def verify_checkpoint(note, verifier, origin):
    """Opens a signed checkpoint note and checks its origin."""
    cp = parse_checkpoint_text(open_note(note, verifier))
    if cp.origin != origin:
        raise LogCheckError(f"checkpoint: origin {cp.origin!r}, expected {origin!r}")
    return cp


# ---------------------------------------------------------------- RFC 6962 Merkle tree

def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def _k(n):
    """The largest power of two strictly smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class Tree:
    """Leaf hashes with memoised MTH over [lo, hi) ranges (RFC 6962 2.1)."""

    def __init__(self, leaf_hashes):
        self.leaves = list(leaf_hashes)
        self._memo = {}

    def mth(self, lo, hi):
        """MTH(D[lo:hi]) by the recursive definition."""
        n = hi - lo
        if n == 0:
            return hashlib.sha256(b"").digest()
        if n == 1:
            return self.leaves[lo]
        key = (lo, hi)
        if key not in self._memo:
            k = _k(n)
            self._memo[key] = node_hash(self.mth(lo, lo + k), self.mth(lo + k, hi))
        return self._memo[key]

    def root(self, size=None):
        return self.mth(0, len(self.leaves) if size is None else size)

    def path(self, m, lo, hi):
        """PATH(m, D[lo:hi]) of RFC 6962 2.1.1 (m relative to lo)."""
        n = hi - lo
        if n <= 1:
            return []
        k = _k(n)
        if m < k:
            return self.path(m, lo, lo + k) + [self.mth(lo + k, hi)]
        return self.path(m - k, lo + k, hi) + [self.mth(lo, lo + k)]

    def inclusion_proof(self, index, size):
        if not 0 <= index < size <= len(self.leaves):
            raise LogCheckError(f"inclusion proof: index {index} not in a tree of {size}")
        return self.path(index, 0, size)

    def subproof(self, m, lo, hi, b):
        """SUBPROOF(m, D[lo:hi], b) of RFC 6962 2.1.2."""
        n = hi - lo
        if m == n:
            return [] if b else [self.mth(lo, hi)]
        k = _k(n)
        if m <= k:
            return self.subproof(m, lo, lo + k, b) + [self.mth(lo + k, hi)]
        return self.subproof(m - k, lo + k, hi, False) + [self.mth(lo, lo + k)]

    def consistency_proof(self, old, new):
        """PROOF(m, D[n]) of RFC 6962 2.1.2, 0 < old < new; empty otherwise."""
        if not 0 <= old <= new <= len(self.leaves):
            raise LogCheckError(f"consistency proof: bad sizes {old} -> {new}")
        if old == 0 or old == new:
            return []
        return self.subproof(old, 0, new, True)


def verify_inclusion(leaf, index, size, proof, root):
    """RFC 9162 2.1.3.2, step by step."""
    if index >= size:
        raise LogCheckError(f"inclusion: index {index} >= tree size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise LogCheckError("inclusion: proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise LogCheckError("inclusion: proof is too short")
    if r != root:
        raise LogCheckError(f"inclusion: leaf {index} does not lead to the root of size {size}")


def verify_consistency(first, second, first_hash, second_hash, proof):
    """RFC 9162 2.1.4.2, step by step, plus the two trivial cases the RFC
    leaves to the caller (equal sizes; the empty first tree)."""
    if first > second:
        raise LogCheckError(f"consistency: first size {first} > second size {second}")
    if first == second:
        if proof or first_hash != second_hash:
            raise LogCheckError("consistency: equal sizes need equal roots and an empty proof")
        return
    if first == 0:
        if proof or first_hash != hashlib.sha256(b"").digest():
            raise LogCheckError("consistency: the empty tree needs the empty root and an empty proof")
        return
    path = list(proof)
    if not path:
        raise LogCheckError("consistency: empty proof")
    if first & (first - 1) == 0:
        path.insert(0, first_hash)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise LogCheckError("consistency: proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise LogCheckError("consistency: proof is too short")
    if fr != first_hash:
        raise LogCheckError(f"consistency: proof does not lead to the old root (size {first})")
    if sr != second_hash:
        raise LogCheckError(f"consistency: proof does not lead to the new root (size {second})")


# ---------------------------------------------------------------- tlog-proof (c2sp.org/tlog-proof)

PROOF_HEADER = "c2sp.org/tlog-proof@v1"


class TlogProof:
    def __init__(self, extra, index, hashes, checkpoint):
        self.extra, self.index, self.hashes, self.checkpoint = extra, index, hashes, checkpoint


def parse_tlog_proof(text):
    """Header line, optional "extra <b64>", "index N", zero or more base64
    hash lines, an empty line, then the signed checkpoint verbatim."""
    lines = text.split("\n")
    if lines[0] != PROOF_HEADER:
        raise LogCheckError(f"tlog-proof: first line is not {PROOF_HEADER}")
    i = 1
    extra = None
    if i < len(lines) and lines[i].startswith("extra "):
        extra = b64decode_strict(lines[i][6:])
        i += 1
    if i >= len(lines) or not lines[i].startswith("index "):
        raise LogCheckError("tlog-proof: no index line")
    index = parse_decimal(lines[i][6:], "tlog-proof index")
    i += 1
    hashes = []
    while True:
        if i >= len(lines):
            raise LogCheckError("tlog-proof: no empty line before the checkpoint")
        if lines[i] == "":
            break
        h = b64decode_strict(lines[i])
        if len(h) != 32:
            raise LogCheckError("tlog-proof: a proof line is not a 32-byte hash")
        hashes.append(h)
        i += 1
    checkpoint = "\n".join(lines[i + 1:])
    if not checkpoint:
        raise LogCheckError("tlog-proof: no checkpoint")
    return TlogProof(extra, index, hashes, checkpoint)


def verify_tlog_proof(text, leaf, verifier, origin, index=None):
    """Verifies a tlog-proof for a leaf hash: checkpoint signature and origin,
    the claimed index (when given) and the inclusion path. Returns
    (proof, checkpoint)."""
    proof = parse_tlog_proof(text)
    if index is not None and proof.index != index:
        raise LogCheckError(f"tlog-proof: index {proof.index}, expected {index}")
    cp = verify_checkpoint(proof.checkpoint, verifier, origin)
    verify_inclusion(leaf, proof.index, cp.size, proof.hashes, cp.root)
    return proof, cp


# ---------------------------------------------------------------- canonical records (audit/record.h)

RECORD_FIELDS = ("event", "outcome", "actor", "role", "municipality", "object", "size", "sha256", "source",
                 "channel", "reason")


def iso_to_ms(s):
    """"YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC) to milliseconds since the epoch."""
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z", s)
    if not m:
        raise LogCheckError(f"record: time {s!r} is not YYYY-MM-DDTHH:MM:SS.mmmZ")
    y, mo, d, h, mi, sec, ms = (int(g) for g in m.groups())
    return calendar.timegm((y, mo, d, h, mi, sec, 0, 0, 0)) * 1000 + ms


def _escape(value):
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def canonical_record(rec):
    """The leaf bytes of one exported record (a dict from `audit export
    --json`), as audit/record.h documents them: a header line, then
    "name: value" lines in a fixed order, absent values empty, '\\' and
    newline escaped; index and time as ASCII decimals (time in ms)."""
    out = ["knooppunt-audit/1"]
    out.append(f"index: {int(rec['index'])}")
    t = rec["time"]
    out.append(f"time: {t if isinstance(t, int) else iso_to_ms(t)}")
    for f in RECORD_FIELDS:
        v = rec.get(f)
        if v is None:
            v = ""
        elif isinstance(v, bool):
            raise LogCheckError(f"record {rec['index']}: field {f} is a boolean")
        elif isinstance(v, int):
            v = str(v)
        out.append(f"{f}: {_escape(v)}")
    return ("\n".join(out) + "\n").encode("utf-8")


def records_to_leaves(records):
    """Leaf hashes of exported records; requires indexes 0, 1, 2, ... in order
    (a gap or reordering is itself a finding)."""
    leaves = []
    for i, rec in enumerate(records):
        if rec.get("index") != i:
            raise LogCheckError(f"export: record {i} has index {rec.get('index')} (records missing or reordered)")
        lh = leaf_hash(canonical_record(rec))
        if "leaf_hash" in rec and rec["leaf_hash"] != lh.hex():
            raise LogCheckError(f"export: record {i} leaf_hash {rec['leaf_hash']} != recomputed {lh.hex()}")
        leaves.append(lh)
    return leaves


def parse_export(text):
    """JSON lines of `knooppunt audit export --json`."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# ---------------------------------------------------------------- the whole check

def check_log(records, checkpoint_note, verifier, origin, old_checkpoint_note=None):
    """Verifies the checkpoint and that the records add up to its root at its
    size; with an older checkpoint, that the newer one extends it (the
    consistency proof is computed here and verified independently).
    Returns (tree, checkpoint)."""
    cp = verify_checkpoint(checkpoint_note, verifier, origin)
    tree = Tree(records_to_leaves(records))
    if cp.size > len(tree.leaves):
        raise LogCheckError(f"checkpoint of size {cp.size}, but only {len(tree.leaves)} records")
    if tree.root(cp.size) != cp.root:
        raise LogCheckError(f"records 0..{cp.size - 1} do not add up to the checkpoint root")
    if old_checkpoint_note is not None:
        old = verify_checkpoint(old_checkpoint_note, verifier, origin)
        proof = tree.consistency_proof(old.size, cp.size)
        verify_consistency(old.size, cp.size, old.root, cp.root, proof)
    return tree, cp


def receipt_leaf(tree, receipt):
    """The leaf hash a receipt's log_index names."""
    idx = receipt["log_index"]
    if not 0 <= idx < len(tree.leaves):
        raise LogCheckError(f"receipt: log_index {idx} outside the exported log")
    return tree.leaves[idx]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vkey", required=True)
    ap.add_argument("--origin", required=True)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--export", required=True, help="output of `knooppunt audit export --json`")
    ap.add_argument("--old-checkpoint")
    ap.add_argument("--proof", action="append", default=[], help="a tlog-proof file or a receipt JSON")
    a = ap.parse_args(argv)
    try:
        verifier = parse_vkey(open(a.vkey).read())
        records = parse_export(open(a.export).read())
        old = open(a.old_checkpoint).read() if a.old_checkpoint else None
        tree, cp = check_log(records, open(a.checkpoint).read(), verifier, a.origin, old)
        for p in a.proof:
            text = open(p).read()
            if p.endswith(".json"):
                receipt = json.loads(text)
                verify_tlog_proof(receipt["proof"], receipt_leaf(tree, receipt), verifier, a.origin,
                                  receipt["log_index"])
            else:
                idx = parse_tlog_proof(text).index
                verify_tlog_proof(text, tree.leaves[idx], verifier, a.origin)
    except (LogCheckError, OSError, ValueError, KeyError) as e:
        print(f"logcheck: {e}", file=sys.stderr)
        return 1
    print(f"logcheck: {len(records)} records, checkpoint {cp.size} verified"
          + (", consistent with the old checkpoint" if old else "")
          + (f", {len(a.proof)} proofs" if a.proof else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

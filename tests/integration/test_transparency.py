"""The transfer log for auditors who need not trust the operator: tlog-tiles
under /log/ read by an independent checker (tlogcheck.py), two
`knooppunt witness` processes cosigning every checkpoint, `audit proof`,
`audit monitor`; a forged view of the same size and a truncated checkpoint
signed with the real key (witnesses refuse, a monitor with history calls it
a split view, one without refuses it as unwitnessed); and a dishonest
operator who rewrites a record and rebuilds tree and checkpoint with the
real log key: the witnesses refuse, `audit proof` stops citing new
checkpoints, the monitor names the record.

Cost: one gateway with one worker and two witnesses; the worker's
checkpoint timer (10 s) sets the pace."""

import base64
import hashlib
import json
import os
import signal
import subprocess
import time

import pytest

import kp
import logcheck
import tlogcheck

TOKEN = "7c" * 32
AUDITOR = "a.audit"


def write_private(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    return path


class Witness:
    def __init__(self, tmp, name, log_vkey_file):
        self.dir = os.path.join(tmp, name)
        self.port = kp.free_port()
        self.log_path = os.path.join(tmp, name + ".log")
        self.argv = [kp.BIN, "witness", "--data", self.dir, "--log-key", log_vkey_file, "--name",
                     "witness.example/" + name, "--listen", "127.0.0.1:%d" % self.port]
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        assert kp.wait_for(lambda: "witness.listening" in open(self.log_path).read(), timeout=20)
        self.vkey_file = os.path.join(self.dir, "witness.vkey")
        self.vkey = open(self.vkey_file).read().strip()
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)
        self.log.close()

    def text(self):
        return open(self.log_path).read()


@pytest.fixture(scope="module")
def t(make_world, tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("transparency"))
    w = make_world(settings={"workers": "1"})
    kp.kp_ok("auditor", "token", AUDITOR, "--token-file", write_private(os.path.join(tmp, "a.audit.token"), TOKEN + "\n"),
             data=w.data.path)
    w.token_file = os.path.join(tmp, "a.audit.token")
    w.log_vkey_file = os.path.join(w.data.path, "public", "log.note.vkey")
    w.log_vkey = open(w.log_vkey_file).read().strip()
    w.witnesses = [Witness(tmp, "w1", w.log_vkey_file).start(), Witness(tmp, "w2", w.log_vkey_file).start()]
    w.data.set("witnesses", ", ".join("http://127.0.0.1:%d %s" % (x.port, x.vkey) for x in w.witnesses))
    w.data.set("witness_quorum", "2")
    w.tmp = tmp
    w.serve()
    try:
        yield w
    finally:
        for x in w.witnesses:
            x.stop()


def cosigned_size(w):
    """The size of DATA/audit/checkpoint when both witnesses cosigned it, else 0."""
    try:
        note = open(os.path.join(w.data.path, "audit", "checkpoint")).read()
    except FileNotFoundError:
        return 0
    try:
        for x in w.witnesses:
            tlogcheck.verify_cosignature(note, x.vkey)
    except Exception:
        return 0
    return int(note.split("\n")[1])


def traffic(w, n, tag):
    with w.jj() as sftp:
        for i in range(n):
            kp.upload(sftp, "/inbox/%s-%d.txt" % (tag, i), b"not a package %d\n" % i)


def monitor(w, state, url=None, quorum=None):
    args = ["audit", "monitor", url or "http://127.0.0.1:%d/log" % w.server.http_port, "--token-file", w.token_file,
            "--log-key", w.log_vkey_file, "--witness-key", ",".join(x.vkey_file for x in w.witnesses),
            "--state", os.path.join(w.tmp, state)]
    if quorum is not None:
        args += ["--quorum", str(quorum)]
    return kp.kp(*args)


def test_tiles_witnesses_checker_and_monitor_under_traffic(t):
    started = time.time()
    seen = set()
    for round_ in range(2):
        traffic(t, 3, "r%d" % round_)
        before = t.data.last_audit_id()
        assert kp.wait_for(lambda: cosigned_size(t) >= before, timeout=40, interval=0.2), t.server.log_text()[-3000:]
        client = tlogcheck.Client("http://127.0.0.1:%d/log" % t.server.http_port, AUDITOR + ":" + TOKEN)
        origin, size, entries = tlogcheck.check_log(client, t.log_vkey, [x.vkey for x in t.witnesses])
        assert size >= before and b"sftp.upload" in b"".join(entries)
        r = monitor(t, "mon-a")
        assert r.returncode == 0, r.stdout + r.stderr
        assert r.stdout.startswith("knooppunt-monitor: ok:") and r.stdout.count("\n") == 1
        seen.add(size)
    # Every stored checkpoint the witnesses were asked about carries both cosignatures.
    rows = t.data.sql("SELECT c.size, count(w.witness) AS n FROM checkpoints c LEFT JOIN checkpoint_cosignatures w "
                      "ON w.size = c.size GROUP BY c.size ORDER BY c.size")
    assert rows[-1]["n"] == 2 and len(seen) >= 2
    # Caching headers: immutable tiles, a short-lived checkpoint.
    status, headers = client.headers["tile/0/000" if size >= 256 else "tile/0/000.p/%d" % size]
    assert status == 200 and "immutable" in headers["cache-control"] and headers["content-type"] == "application/octet-stream"
    assert "max-age=2" in client.headers["checkpoint"][1]["cache-control"]
    # The same tiles on disk for SFTP mirrors.
    disk = os.path.join(t.data.path, "audit", "log")
    assert open(os.path.join(disk, "checkpoint")).read().count("\u2014") == 3
    print("transparency traffic rounds: %.1f s" % (time.time() - started))


def test_log_needs_an_auditor(t):
    port = t.server.http_port
    for bearer in (None, AUDITOR + ":" + "00" * 32, "j.jansen:" + TOKEN, "nobody"):
        c = tlogcheck.Client("http://127.0.0.1:%d/log" % port, bearer or "")
        with pytest.raises(tlogcheck.CheckError, match="HTTP 401"):
            c.get("checkpoint")
    assert t.data.audit(event="web.login", outcome="refused")
    c = tlogcheck.Client("http://127.0.0.1:%d/log" % port, AUDITOR + ":" + TOKEN)
    for bad in ("tile/0/5", "tile/0/x000/000", "tile/0/999", "../knooppunt.db"):
        with pytest.raises(tlogcheck.CheckError, match="HTTP 404"):
            c.get(bad)


def test_proofs_cite_witnessed_checkpoints(t):
    size = cosigned_size(t)
    assert size > 2
    r = kp.kp_ok("audit", "proof", str(size - 1), data=t.data.path)
    assert r.stdout.count("\u2014") == 3  # the log's signature and both cosignatures
    r = kp.kp_ok("audit", "proof", "--consistency", "1", str(size), data=t.data.path)
    assert r.stdout.startswith("old 1\n")
    r = kp.kp("audit", "proof", "--consistency", "5", "1", data=t.data.path)
    assert r.returncode == 1
    r = kp.kp("audit", "proof", str(10 ** 9), data=t.data.path)
    assert r.returncode == 1 and "audit-not-witnessed" in r.stderr


def outbox(t, name):
    return os.path.join(t.data.path, "boxes", "GM0363", "outbox", name)


def verify_receipt(t, name, *extra):
    public = os.path.join(t.data.path, "public")
    return kp.kp("receipt", "verify", outbox(t, name + ".receipt.json"), "--hub-key",
                 os.path.join(public, "hub.minisign.pub"), "--log-key", t.log_vkey_file, *extra)


def test_receipts_get_a_proof_against_a_witnessed_checkpoint(t, tmp_path):
    traffic(t, 2, "proved")
    proof = outbox(t, "proved-0.txt.receipt.tlog-proof")
    assert kp.wait_for(lambda: os.path.exists(proof), timeout=60, interval=0.2), t.server.log_text()[-2000:]
    receipt = json.load(open(outbox(t, "proved-0.txt.receipt.json")))
    # The receipt's own proof cites a checkpoint no witness had seen; the
    # later one cites a checkpoint both witnesses cosigned.
    def witnessed(text):
        """logcheck: the path and the log's signature; tlogcheck: both cosignatures."""
        vkey = logcheck.parse_vkey(t.log_vkey)
        p, cp = logcheck.verify_tlog_proof(text, logcheck.leaf_hash(receipt["record"].encode()), vkey, vkey.name,
                                           receipt["log_index"])
        for x in t.witnesses:
            tlogcheck.verify_cosignature(p.checkpoint, x.vkey)
        return cp.size

    with pytest.raises(tlogcheck.CheckError):
        witnessed(receipt["proof"])
    assert witnessed(open(proof).read()) > receipt["log_index"]
    keys = ",".join(x.vkey_file for x in t.witnesses)
    r = verify_receipt(t, "proved-0.txt", "--witness-key", keys)
    assert r.returncode == 0 and "witness.example/w1" in r.stdout and "witness.example/w2" in r.stdout and "cosigned" in r.stdout, r.stdout + r.stderr
    # One proof per receipt: the file is not rewritten by later checkpoints.
    before = open(proof).read()
    traffic(t, 1, "later")
    assert kp.wait_for(lambda: os.path.exists(outbox(t, "later-0.txt.receipt.tlog-proof")),
                       timeout=60, interval=0.2)
    assert open(proof).read() == before

    # Negative: a proof with one cosignature cut away, a proof of another
    # record, a changed path hash, no proof at all.
    text = open(proof).read()
    one_cut = "\n".join(l for l in text.split("\n") if not l.startswith("\u2014 witness.example/w2 "))
    (tmp_path / "cut").write_text(one_cut)
    r = verify_receipt(t, "proved-0.txt", "--witness-key", keys, "--proof", str(tmp_path / "cut"))
    assert r.returncode == 1 and "receipt-not-witnessed" in r.stderr and "1 of the 2" in r.stderr, r.stderr
    r = verify_receipt(t, "proved-0.txt", "--witness-key", keys, "--quorum", "1", "--proof", str(tmp_path / "cut"))
    assert r.returncode == 0, r.stderr
    r = verify_receipt(t, "proved-0.txt", "--witness-key", keys, "--proof", outbox(t, "later-0.txt.receipt.tlog-proof"))
    assert r.returncode == 1 and "receipt-proof-mismatch" in r.stderr, r.stderr
    lines = text.split("\n")
    lines[2] = base64.b64encode(b"\0" * 32).decode()
    (tmp_path / "bent").write_text("\n".join(lines))
    r = verify_receipt(t, "proved-0.txt", "--witness-key", keys, "--proof", str(tmp_path / "bent"))
    assert r.returncode == 1 and "receipt-proof-invalid" in r.stderr, r.stderr
    r = verify_receipt(t, "proved-0.txt", "--witness-key", keys, "--proof", str(tmp_path / "none"))
    assert r.returncode == 1 and "receipt-not-witnessed" in r.stderr, r.stderr


def test_witness_refuses_its_own_gateway_dir_and_bad_requests(t):
    r = kp.kp("witness", "--data", t.data.path, "--log-key", t.log_vkey_file)
    assert r.returncode == 1 and "witness-data-is-gateway" in r.stderr
    import http.client
    x = t.witnesses[0]
    conn = http.client.HTTPConnection("127.0.0.1", x.port, timeout=10)
    conn.request("POST", "/add-checkpoint", body=b"old 0\nnot base64\n\nx")
    assert conn.getresponse().status == 400
    conn.close()


def forge_log(data, entries, directory):
    """A second view of the log, as the operator could serve it to one
    auditor: tiles of `entries` and a checkpoint signed with the real log
    key (read from DATA/keys, as an operator can). Returns the note."""
    os.makedirs(directory, exist_ok=True)
    import base64
    import struct
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    skey = open(os.path.join(data.path, "keys", "log.note.key")).read().strip()
    _, _, name, hex_id, b64 = skey.split("+", 4)
    priv = Ed25519PrivateKey.from_private_bytes(base64.b64decode(b64)[1:])
    origin = open(os.path.join(data.path, "public", "log.origin")).read().strip()
    leaves = [tlogcheck.leaf_hash(e) for e in entries]
    text = "%s\n%d\n%s\n" % (origin, len(entries), base64.b64encode(tlogcheck.mth(leaves)).decode())
    sig = base64.b64encode(bytes.fromhex(hex_id) + priv.sign(text.encode())).decode()
    note = text + "\n\u2014 %s %s\n" % (name, sig)
    with open(os.path.join(directory, "checkpoint"), "w") as f:
        f.write(note)
    for n in range((len(entries) + 255) // 256):
        width = min(256, len(entries) - n * 256)
        for kind, blob in ((0, b"".join(leaves[n * 256:n * 256 + width])),
                           ("entries", b"".join(struct.pack(">H", len(e)) + e for e in entries[n * 256:n * 256 + width]))):
            path = os.path.join(directory, tlogcheck.tile_url(kind, n, width))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(blob)
    return note


def serve_directory(directory):
    import functools
    import http.server
    import threading
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def post_witness(x, body):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", x.port, timeout=10)
    conn.request("POST", "/add-checkpoint", body=body.encode())
    r = conn.getresponse()
    out = (r.status, r.read().decode())
    conn.close()
    return out


def test_two_views_of_the_same_size_and_a_truncation(t):
    """The operator shows one monitor the real log and another a forged
    one of the same size, signed with the real key: only the real one
    carries the witnesses' cosignatures; a monitor with history calls it a
    split view. The witnesses refuse the forged and a truncated checkpoint."""
    client = tlogcheck.Client("http://127.0.0.1:%d/log" % t.server.http_port, AUDITOR + ":" + TOKEN)
    _, size, entries = tlogcheck.check_log(client, t.log_vkey, [x.vkey for x in t.witnesses])
    assert monitor(t, "mon-b").returncode == 0
    forged = list(entries)
    forged[1] = forged[1].replace(b"\nevent: ", b"\nevent: forged-")
    directory = os.path.join(t.tmp, "forged")
    note = forge_log(t.data, forged, directory)
    server = serve_directory(directory)
    try:
        url = "http://127.0.0.1:%d" % server.server_address[1]
        r = monitor(t, "mon-b", url=url)
        assert r.returncode == 3 and "split-view" in r.stdout, r.stdout
        r = monitor(t, "mon-c", url=url)
        assert r.returncode == 6 and "unverified" in r.stdout, r.stdout
        assert monitor(t, "mon-b").returncode == 0  # the real view is still fine
    finally:
        server.shutdown()
    for x in t.witnesses:
        wsize = int(open(os.path.join(x.dir, "state")).read().split("\n")[1])
        if wsize == size:
            assert post_witness(x, "old %d\n\n%s" % (size, note))[0] == 409
        truncated = forge_log(t.data, entries[:size - 2], os.path.join(t.tmp, "trunc-" + x.dir[-2:]))
        assert post_witness(x, "old %d\n\n%s" % (wsize, truncated))[0] == 400
        status, body = post_witness(x, "old 0\n\n%s" % truncated)
        assert status == 409 and body == "%d\n" % wsize


def rebuild_tree(data, entries):
    """What a dishonest operator with the database can do: rewrite
    merkle_nodes from (altered) record bytes, drop every checkpoint."""
    level = [tlogcheck.leaf_hash(e) for e in entries]
    rows, lvl = [], 0
    while level:
        rows += [(lvl, i, h) for i, h in enumerate(level)]
        level = [tlogcheck.node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        lvl += 1
    import sqlite3
    con = sqlite3.connect(data.db_path, timeout=30)
    con.execute("DELETE FROM merkle_nodes")
    con.executemany("INSERT INTO merkle_nodes(level, idx, hash) VALUES (?, ?, ?)", rows)
    con.execute("DELETE FROM checkpoints")
    con.execute("DELETE FROM checkpoint_cosignatures")
    con.commit()
    con.close()


def canonical(row):
    """The documented canonical record (audit/record.h), from a row."""
    def esc(v):
        return "" if v is None else str(v).replace("\\", "\\\\").replace("\n", "\\n")
    out = "knooppunt-audit/1\nindex: %d\ntime: %d\n" % (row["id"] - 1, row["ts_ms"])
    for f in ("event", "outcome", "actor", "role", "municipality", "object", "size", "sha256", "source",
              "channel", "reason"):
        out += "%s: %s\n" % (f, esc(row[f]))
    return out.encode()


def test_rewritten_history_is_refused_and_reported(t):
    client = tlogcheck.Client("http://127.0.0.1:%d/log" % t.server.http_port, AUDITOR + ":" + TOKEN)
    _, size, entries = tlogcheck.check_log(client, t.log_vkey, [x.vkey for x in t.witnesses])
    assert monitor(t, "mon-a").returncode == 0
    rows = t.data.sql("SELECT * FROM audit_events ORDER BY id")
    assert [canonical(r) for r in rows[:size]] == entries  # the checker's reading of the format is right
    t.server.stop()
    # The dishonest operator rewrites record 2 and rebuilds the tree; the
    # worker then signs a checkpoint of it with the real log key.
    t.data.sql("UPDATE audit_events SET actor = 'someone-else' WHERE id = 3")
    rebuild_tree(t.data, [canonical(r) for r in t.data.sql("SELECT * FROM audit_events ORDER BY id")])
    t.serve()
    assert kp.wait_for(lambda: t.data.sql("SELECT count(*) AS n FROM checkpoints")[0]["n"] > 0, timeout=30)
    # The witnesses refuse it, and keep refusing.
    assert kp.wait_for(lambda: all("witness.refused" in x.text() for x in t.witnesses), timeout=40), \
        t.server.log_text()[-2000:]
    assert not t.data.sql("SELECT * FROM checkpoint_cosignatures")
    # A receipt made now gets no proof against a witnessed checkpoint.
    traffic(t, 1, "rewritten")
    receipt = outbox(t, "rewritten-0.txt.receipt.json")
    assert kp.wait_for(lambda: os.path.exists(receipt), timeout=30)
    index = json.load(open(receipt))["log_index"]
    covering = lambda: t.data.sql("SELECT max(size) AS s FROM checkpoints")[0]["s"] > index  # noqa: E731
    assert kp.wait_for(covering, timeout=30)
    size_now = t.data.sql("SELECT max(size) AS s FROM checkpoints")[0]["s"]
    assert kp.wait_for(lambda: "size=%d " % size_now in t.server.log_text() and "witness.refused" in t.server.log_text(),
                       timeout=30)
    assert not os.path.exists(outbox(t, "rewritten-0.txt.receipt.tlog-proof"))
    # `audit proof` cites no new checkpoint.
    r = kp.kp("audit", "proof", str(size), data=t.data.path)
    assert r.returncode == 1 and "audit-not-witnessed" in r.stderr
    # /log/ shows auditors only checkpoints the witnesses cosigned: nothing new.
    r = monitor(t, "mon-a")
    assert r.returncode == 1 and "log-empty" in r.stdout, r.stdout
    # An operator who also drops the quorum to publish the rewritten
    # checkpoint: the monitor that saw the old history names the record.
    t.server.stop()
    t.data.set("witness_quorum", "0")
    t.serve()
    assert kp.wait_for(lambda: cosigned_size(t) == 0 and os.path.exists(os.path.join(t.data.path, "audit", "checkpoint")),
                       timeout=30)
    r = monitor(t, "mon-a")
    assert r.returncode == 4 and "rewritten-record" in r.stdout and "record 2 " in r.stdout, r.stdout + r.stderr
    # A fresh monitor (no history) refuses a checkpoint no witness signed.
    r = monitor(t, "mon-fresh")
    assert r.returncode == 6 and "unverified" in r.stdout, r.stdout


def test_checker_known_answers():
    """The checker itself against published vectors: Go's sumdb/note example
    (signed-note) and the RFC 6962 tree of DESIGN.md."""
    vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    note = ("If you think cryptography is the answer to your problem,\n"
            "then you don't know what your problem is.\n\n"
            "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n")
    assert tlogcheck.verify_note(note, vkey).startswith("If you think")
    with pytest.raises(Exception):
        tlogcheck.verify_note(note.replace("cryptography", "cryptograph!"), vkey)
    leaves = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43",
              bytes(range(0x50, 0x58)), bytes(range(0x60, 0x70))]
    root = tlogcheck.mth([tlogcheck.leaf_hash(x) for x in leaves])
    assert root.hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    assert tlogcheck.tile_url(0, 1234067, 256) == "tile/0/x001/x234/067"

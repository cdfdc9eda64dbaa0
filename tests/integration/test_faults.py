"""The gateway when the machine misbehaves: a full disk, an upload that
cannot be processed.

- Disk full (the data directory on a small tmpfs this test mounts and
  fills): a valid 5 MiB package whose sealed output does not fit waits --
  `worker.retry_later ... counted=no`, the same worker process all along
  (it used to abort with `malloc_consolidate(): unaligned fastbin chunk
  detected`: a freed Error written by libarchive's closing flush), a small
  upload behind it is processed meanwhile -- and is accepted once space
  returns, without a restart. The same for a SIP published while the disk
  is full (the worker reseals it itself, the path that corrupted the heap).
- Poison uploads end: an upload that fails every attempt is retried with
  backoff while the uploads behind it are processed, then rejected with
  `intake-failed` and a sentence the municipality can act on, visible in
  the log and in /metrics.
"""

import json
import sys
import os
import subprocess
import time
import urllib.request

import pytest

import kp
from conftest import World
from test_intake import Intake, worker_pids

FAST_RETRY = {"workers": "1", "intake_retry": "1s", "intake_retry_max": "2s"}
TIMEOUT = 90


def metrics(w):
    with urllib.request.urlopen(f"http://127.0.0.1:{w.server.http_port}/metrics", timeout=10) as r:
        return dict(line.split() for line in r.read().decode().splitlines() if line and not line.startswith("#"))


def serve_logging_outside(w, log_dir):
    """Serves with the log outside the data directory (which fills up)."""
    s = kp.Server(w.data)
    s.log_path = os.path.join(str(log_dir), f"serve-{s.port}.log")
    w.server = s.start()
    return w.server


def log_lines(w, event, **fields):
    want = [f"event={event}"] + [f"{k}={v}" for k, v in fields.items()]
    return [line for line in w.server.log_text().splitlines() if all(f in line.split() for f in want)]


def assert_no_crash(w):
    text = w.server.log_text()
    for bad in ("event=worker.exited", "AddressSanitizer", "malloc", "double free", "corrupted"):
        assert bad not in text, f"{bad} in the serve log:\n{text[-4000:]}"


# ---------------------------------------------------------------- a full disk

@pytest.fixture
def small_disk(tmp_path):
    """A 40 MiB tmpfs of our own under the test's temporary directory."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m,mode=0755", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {r.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


class Filler:
    """One file that takes all but `leave` bytes of the file system."""

    def __init__(self, mnt):
        self.path = os.path.join(str(mnt), "filler")

    def leave(self, free_bytes):
        self.release()
        st = os.statvfs(os.path.dirname(self.path))
        take = st.f_bavail * st.f_frsize - free_bytes
        assert take > 0, "the disk is already fuller than asked"
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.posix_fallocate(fd, 0, take)
        finally:
            os.close(fd)

    def release(self):
        if os.path.exists(self.path):
            os.unlink(self.path)


def test_disk_full_waits_without_corruption_and_recovers(small_disk, tmp_path, keys, template):
    w = World(str(small_disk / "data"), keys, template, FAST_RETRY)
    try:
        serve_logging_outside(w, tmp_path)
        it = Intake(w)
        filler = Filler(small_disk)
        files = it.files("big")
        files["files/bijlage.pdf"] = b"%PDF-1.4\n" + os.urandom(5 << 20)
        big = it.seal(it.tar(files))
        pid_before = worker_pids(w.server.proc.pid)
        assert len(pid_before) == 1

        # Room for the upload, not for a second copy: intake writes none (the
        # queue entry is the upload's own payload behind a new header,
        # workers/queue_pair.h), so the package is accepted at once.
        filler.leave(len(big) + (2 << 20))
        it.upload({"big.age": big})
        [done] = it.wait("big.age", timeout=TIMEOUT)
        assert done["state"] == "accepted", done
        assert done["reason_code"] == "accepted"
        assert worker_pids(w.server.proc.pid) == pid_before, "the worker was replaced: it died"
        assert_no_crash(w)
        assert not [n for n in os.listdir(os.path.join(w.data.path, "work")) if n.startswith(f"{done['id']}.")]
        filler.release()

        # A SIP published while the disk is full: the worker reseals it itself.
        case = it.receipt("big.age")["case_id"]
        doc = tmp_path / "sip-rapport.pdf"
        doc.write_bytes(b"%PDF-1.4 SIP " + os.urandom(5 << 20))
        filler.leave(len(big) + (2 << 20))
        r = kp.kp("sip", "publish", "--case", case, "--title", "SIP", str(doc), data=w.data.path)
        assert r.returncode == 0, r.stderr
        sub = w.data.sql("SELECT id FROM submissions ORDER BY id DESC LIMIT 1")[0]["id"]
        assert kp.wait_for(lambda: len(log_lines(w, "worker.retry_later", submission=sub, counted="no")) >= 2,
                           timeout=TIMEOUT), w.server.log_text()[-3000:]
        assert worker_pids(w.server.proc.pid) == pid_before, "the worker was replaced: it died"
        assert_no_crash(w)
        filler.release()
        sip = os.path.join(w.data.box("GM0363", "outbox"), f"sip-{case}-S1.age")
        assert kp.wait_for(lambda: os.path.exists(sip), timeout=TIMEOUT), w.server.log_text()[-3000:]
        assert worker_pids(w.server.proc.pid) == pid_before
        assert_no_crash(w)
    finally:
        w.close()


# ---------------------------------------------------------------- poison uploads

def test_poison_upload_ends_with_intake_failed_and_holds_nobody_up(make_world):
    # Backoff long enough that the three good uploads are done on a busy machine.
    w = make_world(settings={"intake_max_attempts": "3", "intake_retry": "4s", "intake_retry_max": "4s"})
    w.serve()  # workers = 0: the uploads wait until the worker starts
    it = Intake(w)
    it.upload({"poison.age": it.valid()})
    # The host loses the file: every attempt fails (the row says it is there).
    os.unlink(os.path.join(w.data.box("GM0363", "inbox"), "poison.age"))
    it.upload({f"good-{i}.age": it.valid() for i in range(3)})
    w.data.set("workers", "1")
    w.restart()

    good = it.wait(*[f"good-{i}.age" for i in range(3)], timeout=TIMEOUT)
    assert [g["state"] for g in good] == ["accepted"] * 3
    poison_id = it.row("poison.age")["id"]
    assert kp.wait_for(lambda: it.row("poison.age")["state"] == "rejected", timeout=TIMEOUT), \
        w.server.log_text()[-3000:]
    poison = it.row("poison.age")
    # Nobody waited behind it: the good ones were done before it was given up.
    assert max(g["processed_ms"] for g in good) < poison["processed_ms"]
    assert poison["attempts"] == 3
    assert poison["reason_code"] == "intake-failed"
    path = it.outbox("poison.age.receipt.json")
    assert kp.wait_for(lambda: os.path.exists(path) and os.path.exists(path + ".minisig"), timeout=TIMEOUT)
    rec = it.receipt("poison.age")
    assert rec["verdict"] == "rejected" and rec["reason_code"] == "intake-failed"
    assert "could not be processed; the hub has been alerted; please do not resend" in rec["reason_text"]
    # The operator sees it: the log, the transfer log and /metrics.
    assert log_lines(w, "intake.gave_up", upload=poison_id)
    assert len(log_lines(w, "worker.retry_later", upload=poison_id, counted="yes")) == 3
    assert w.data.audit(event="intake.gave_up", outcome="failed")
    m = metrics(w)
    assert m["knooppunt_intake_failed_total"] == "1"
    assert m["knooppunt_intake_retrying"] == "0"
    r = kp.kp("audit", "verify", data=w.data.path)
    assert r.returncode == 0, r.stderr


# ---------------------------------------------------------------- fault injection

TEST_BIN = os.environ.get("KNOOPPUNT_TEST_BIN")


def test_release_binary_holds_no_fault_injection():
    """KP_FAULTS is read only by tests/hooks/fault_injection.cpp, linked
    into knooppunt-test alone."""
    with open(kp.BIN, "rb") as f:
        assert b"KP_FAULTS" not in f.read()
    if TEST_BIN:
        with open(TEST_BIN, "rb") as f:
            assert b"KP_FAULTS" in f.read()


@pytest.mark.skipif(not TEST_BIN, reason="needs knooppunt-test (KNOOPPUNT_TEST_BIN)")
def test_disk_full_during_upload_is_a_clear_error(make_world):
    """The third write of every process fails with ENOSPC: the client hears
    no-space, and nothing is left -- no partial file, no row."""
    w = make_world()
    os.environ["KP_FAULTS"] = "write:3+:ENOSPC"
    try:
        w.serve(bin=TEST_BIN)
    finally:
        del os.environ["KP_FAULTS"]
    with w.jj() as sftp:
        with pytest.raises(IOError) as refused:
            kp.upload(sftp, "/inbox/full.bin", os.urandom(300_000))
        assert "no-space" in str(refused.value)
        assert "full.bin" not in sftp.listdir("/inbox")
    # A small upload (one write) over a new connection (a process of its own) goes through.
    with w.jj() as sftp:
        kp.upload(sftp, "/inbox/small.bin", b"x" * 1000)
    assert [r["name"] for r in w.data.uploads("GM0363")] == ["small.bin"]
    assert os.listdir(w.data.box("GM0363", "partial")) == []


@pytest.mark.skipif(not TEST_BIN, reason="needs knooppunt-test (KNOOPPUNT_TEST_BIN)")
def test_database_write_failures_lose_nothing(make_world):
    """SQLite's own writes fail too (KP_FAULTS db_write: the 30th and the
    70th of every process, EIO then ENOSPC): the transactions they hit roll
    back and are tried again; every acknowledged upload still ends with
    exactly one verdict and one receipt, and the transfer log verifies."""
    w = make_world(settings={"workers": "1", "intake_retry": "1s", "intake_retry_max": "2s"})
    os.environ["KP_FAULTS"] = "db_write:30:EIO,db_write:70:ENOSPC"
    try:
        w.serve(bin=TEST_BIN)
    finally:
        del os.environ["KP_FAULTS"]
    it = Intake(w)
    acknowledged = []
    for i in range(8):
        name = f"db-fault-{i}.age"
        try:
            it.upload({name: it.valid()})
            acknowledged.append(name)
        except (IOError, OSError):
            print("upload refused:", sys.exc_info()[1])  # the client sees it; nothing may be left
    assert len(acknowledged) >= 6
    rows = it.wait(*acknowledged, timeout=TIMEOUT)
    assert [r["state"] for r in rows] == ["accepted"] * len(acknowledged)
    log = w.server.log_text()
    hit = [l for l in log.splitlines() if "disk I/O error" in l or "database or disk is full" in l]
    print("\n".join(hit))
    assert any("worker." in l for l in hit), log[-3000:]  # the worker's transactions were hit
    for name in acknowledged:
        assert len(w.data.sql("SELECT * FROM uploads WHERE name = ?", (name,))) == 1
    assert not w.data.sql("SELECT upload_id FROM receipts GROUP BY upload_id HAVING count(*) > 1")
    names = {r["name"] for r in w.data.uploads("GM0363")}
    assert set(os.listdir(w.data.box("GM0363", "inbox"))) <= names
    r = kp.kp("audit", "verify", data=w.data.path)
    assert r.returncode == 0, r.stderr

"""The intake worker's package parser child (README "Intake", "What a
compromised process can reach"): the worker reads only an upload's age
header; the payload, the tar and the manifest bytes are read by a child
forked per package by a zygote that was forked before the worker loaded any
key. The child runs as the session user, without capabilities, with
NO_NEW_PRIVS, seccomp and Landlock; it never receives the intake identity.

Proven from outside (/proc: status and memory of a live parser child) and
from inside: the test build's hook (tests/hooks/parser_escape.cpp, chosen
with KNOOPPUNT_TEST_PARSER) makes the child try to get out, hang, crash or
answer garbage; each ends as a rejection with its own reason code, and the
same worker process goes on.
"""

import json
import os
import re
import time

import pytest

import kp
from test_intake import Intake, worker_pids

TEST_BIN = os.environ.get("KNOOPPUNT_TEST_BIN")
needs_hooks = pytest.mark.skipif(not TEST_BIN, reason="KNOOPPUNT_TEST_BIN not set (build with -DKP_TEST_HOOKS=ON)")

BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def bech32_payload(s):
    """The data bytes of a Bech32 string (checksum not checked: our own key file)."""
    s = s.lower()
    data = [BECH32.index(c) for c in s[s.rindex("1") + 1:-6]]
    acc, bits, out = 0, 0, bytearray()
    for v in data:
        acc = (acc << 5) | v
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    return bytes(out)


def intake_secrets(data_path):
    with open(os.path.join(data_path, "keys", "intake.age")) as f:
        lines = [l.strip() for l in f if l.startswith("AGE-SECRET-KEY-1")]
    return [bech32_payload(l) for l in lines] + [l.encode() for l in lines]


def status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if int(status(int(d)).get("PPid", "0")) == pid:
                    out.append(int(d))
            except (OSError, ValueError):
                pass
    return out


def memory_contains(pid, needles):
    """Which of `needles` occur in the readable memory of `pid`."""
    found = set()
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            addr, perms = line.split()[:2]
            if "r" not in perms:
                continue
            start, end = (int(x, 16) for x in addr.split("-"))
            if end - start > 1 << 32:
                continue  # sanitizer shadow and reservations, not data
            tail = b""
            for at in range(start, end, 1 << 24):  # bounded reads; needles may straddle two
                try:
                    mem.seek(at)
                    chunk = tail + mem.read(min(1 << 24, end - at))
                except (OSError, OverflowError, ValueError):
                    break
                for n in needles:
                    if n in chunk:
                        found.add(n)
                tail = chunk[-128:]
    return found


def notes(log):
    out = []
    for line in log.splitlines():
        if "event=intake.parser_note" not in line:
            continue
        m = re.search(r'note="((?:[^"\\]|\\.)*)"', line)
        if m:
            out.append(json.loads(re.sub(r'\\(["\\])', r"\1", m.group(1))))
    return out


@pytest.fixture
def hooked(make_world, monkeypatch):
    """A server run by the test build with the parser hook in `mode`."""
    def start(mode, timeout="6s"):
        monkeypatch.setenv("KNOOPPUNT_TEST_PARSER", mode)
        w = make_world(settings={"workers": "1", "parser_timeout": timeout})
        w.serve(bin=TEST_BIN)
        return Intake(w)
    return start


@needs_hooks
def test_parser_child_is_confined_and_never_holds_the_identity(hooked):
    it = hooked("hang", timeout="8s")
    assert kp.wait_for(lambda: len(it.worker_pids()) == 1 and children(it.worker_pids()[0]), timeout=30)
    [worker] = it.worker_pids()
    [zygote] = children(worker)  # forked first thing, before the worker loads a key
    assert status(zygote)["NoNewPrivs"].strip() == "1"
    it.upload({"hangs.age": it.valid()})
    assert kp.wait_for(lambda: children(zygote), timeout=20), "no parser child appeared"
    [child] = children(zygote)
    st = status(child)
    assert st["Seccomp"].strip() == "2" and st["NoNewPrivs"].strip() == "1", st
    assert int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0
    if os.geteuid() == 0:
        assert all(int(u) != 0 for u in st["Uid"].split()), st["Uid"]
    fds = [os.readlink(f"/proc/{child}/fd/{fd}") for fd in os.listdir(f"/proc/{child}/fd")]
    assert not [t for t in fds if "knooppunt.db" in t or "/keys" in t], fds
    # The intake identity is nowhere in the child's memory (nor the zygote's),
    # while the same scan finds it in the worker: the scan itself works.
    secrets = intake_secrets(it.data.path)
    assert memory_contains(worker, secrets), "scan sanity: the worker holds the identity"
    assert not memory_contains(child, secrets)
    assert not memory_contains(zygote, secrets)
    [row] = it.wait("hangs.age", timeout=60)
    assert row["state"] == "rejected" and row["reason_code"] == "package-parser-timeout", row
    assert it.receipt("hangs.age")["reason_code"] == "package-parser-timeout"
    assert it.worker_pids() == [worker], "the worker must survive a hung parser"
    assert not children(zygote), "the hung child was killed"
    assert not [n for n in os.listdir(os.path.join(it.data.path, "queue")) if n != ".payload"]


@needs_hooks
def test_compromised_parser_child_cannot_get_out(hooked):
    it = hooked("escape")
    before = sorted(os.listdir(os.path.join(it.data.path, "keys")))
    it.upload({"escape.age": it.valid()})
    [row] = it.wait("escape.age")
    # The hook only probed; the package itself is fine.
    assert row["state"] == "accepted", row
    [got] = notes(it.w.server.log_text())
    attempts = {k: v for k, v in got.items() if k != "uid"}
    allowed = {k: v for k, v in attempts.items() if not v.startswith("refused:")}
    assert not allowed, f"escaped: {allowed}"
    for k in ("open:keys/intake.age", "open:keys/hub.minisign.key", "open:keys/log.note.key", "open:db-rw",
              "open:db-ro", "execve:/bin/sh", "connect:loopback", "ptrace:zygote", "fork"):
        assert k in attempts, k
    if os.geteuid() == 0:
        assert got["uid"] != "0"
    assert sorted(os.listdir(os.path.join(it.data.path, "keys"))) == before
    assert "evil.age" not in os.listdir(os.path.join(it.data.path, "queue"))


@needs_hooks
@pytest.mark.parametrize("mode,reason", [("crash", "package-parser-crashed"),
                                         ("garbage", "package-parser-bad-answer")])
def test_failing_parser_is_a_rejection_not_a_crash_loop(hooked, mode, reason):
    it = hooked(mode)
    [worker] = it.worker_pids()
    it.upload({"one.age": it.valid(), "two.age": it.valid()})
    rows = it.wait("one.age", "two.age")
    for row in rows:
        assert row["state"] == "rejected" and row["reason_code"] == reason, row
    assert it.receipt("one.age")["reason_code"] == reason
    assert it.worker_pids() == [worker]
    assert "event=intake.parser_failed" in it.w.server.log_text()
    assert not os.listdir(os.path.join(it.data.path, "work")) or all(
        not n.endswith(".queue.age") for n in os.listdir(os.path.join(it.data.path, "work")))


def test_release_binary_has_no_parser_hook():
    with open(kp.BIN, "rb") as f:
        body = f.read()
    assert b"KNOOPPUNT_TEST_PARSER" not in body
    if TEST_BIN:
        with open(TEST_BIN, "rb") as f:
            assert b"KNOOPPUNT_TEST_PARSER" in f.read()

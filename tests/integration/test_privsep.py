"""Privilege separation of SSH connections (README: "What a compromised
process can reach"): after authentication the connection is served by a
sandboxed session child that holds no store, key or directory descriptor,
and a monitor that decides every file access. Proven from inside: the test
build's `test-escape@knooppunt` extension makes the child try to get out.
"""

import json
import os

import paramiko
import pytest

import kp

TEST_BIN = os.environ.get("KNOOPPUNT_TEST_BIN")
SECRET = b"ROTTERDAM-CONFIDENTIAL"
needs_hooks = pytest.mark.skipif(not TEST_BIN, reason="KNOOPPUNT_TEST_BIN not set (build with -DKP_TEST_HOOKS=ON)")


def processes():
    """pid -> (ppid, status fields) for every process we can see."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status") as f:
                fields = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
        except OSError:
            continue
        out[int(name)] = (int(fields.get("PPid", "0")), fields)
    return out


def descendants(root):
    procs = processes()
    found, frontier = {}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, fields) in procs.items():
            if ppid == parent and pid not in found:
                found[pid] = (ppid, fields)
                frontier.append(pid)
    return found


def session_pair(server):
    """(monitor pid, child pid) of the one open connection."""
    tree = descendants(server.proc.pid)
    for pid, (ppid, fields) in tree.items():
        if ppid in tree and tree[ppid][0] == server.proc.pid:
            return ppid, pid
    raise AssertionError(f"no session child under {server.proc.pid}: {tree.keys()}")


def fd_targets(pid):
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    return out


@pytest.fixture(scope="module")
def w(make_world):
    w = make_world()
    with open(os.path.join(w.data.box("GM0599", "outbox"), "rotterdam-secret.txt"), "wb") as f:
        f.write(SECRET)
    w.serve(bin=TEST_BIN)
    return w


def test_session_child_is_confined(w):
    with w.jj() as sftp:
        sftp.listdir("/outbox")
        f = sftp.open("/inbox/held-open.bin", "wb")
        f.write(b"x" * 1000)
        monitor, child = session_pair(w.server)
        status = processes()[child][1]
        assert status["NoNewPrivs"].strip() == "1"
        assert status["Seccomp"].strip() == "2"
        assert int(status["CapEff"], 16) == 0 and int(status["CapPrm"], 16) == 0
        if os.geteuid() == 0:
            assert all(int(u) != 0 for u in status["Uid"].split()), status["Uid"]
            assert all(int(g) != 0 for g in status["Gid"].split()), status["Gid"]
        targets = fd_targets(child)
        assert not [t for t in targets if "knooppunt.db" in t], targets
        assert not [t for t in targets if "/keys" in t], targets
        # Directories never reach the child: only files passed for one operation.
        data_dirs = [t for t in targets if t.startswith(w.data.path) and os.path.isdir(t)]
        assert not data_dirs, data_dirs
        # Nor a mapping of the store (SQLite's -shm crossed the fork).
        with open(f"/proc/{child}/maps") as maps:
            mapped = [line for line in maps if w.data.path in line or "knooppunt.db" in line]
        assert not mapped, mapped
        # The pre-auth monitor cannot exec either.
        mstatus = processes()[monitor][1]
        assert mstatus["NoNewPrivs"].strip() == "1" and mstatus["Seccomp"].strip() == "2"
        f.close()
    assert "held-open.bin" in os.listdir(w.data.box("GM0363", "inbox"))


@needs_hooks
def test_compromised_child_cannot_get_out(w):
    before = kp.tree(w.data.box("GM0599"))
    with w.jj() as sftp:
        t, msg = sftp._request(paramiko.sftp.CMD_EXTENDED, "test-escape@knooppunt")
        assert t == paramiko.sftp.CMD_EXTENDED_REPLY
        got = json.loads(msg.get_string())
        # The session still works afterwards: nothing broke the monitor.
        assert sorted(sftp.listdir("/")) == ["inbox", "keys", "outbox"]
    attempts = {k: v for k, v in got.items() if k != "uid"}
    allowed = {k: v for k, v in attempts.items() if not v.startswith("refused:")}
    assert not allowed, f"escaped: {allowed}"
    for k in ("open:keys/intake.age", "open:db-rw", "open:/etc/shadow", "execve:/bin/sh",
              "connect:loopback", "ptrace:monitor", "monitor:open_write-other-box"):
        assert k in attempts, k
    assert attempts["monitor:open_read-other-box"].startswith("refused:")
    if os.geteuid() == 0:
        assert got["uid"] != "0"
    assert kp.tree(w.data.box("GM0599")) == before
    assert not w.data.uploads("GM0599")


@needs_hooks
def test_forged_token_ends_the_connection(w):
    c = w.jj()
    try:
        with pytest.raises((EOFError, OSError, paramiko.SSHException)):
            c.sftp._request(paramiko.sftp.CMD_EXTENDED, "test-forge-token@knooppunt")
    finally:
        c.close()
    assert kp.wait_for(lambda: "event=monitor.violation" in w.server.log_text(), timeout=5)
    # Other sessions are untouched.
    with w.jj() as sftp:
        sftp.listdir("/outbox")


def test_release_binary_has_no_test_hooks():
    with open(kp.BIN, "rb") as f:
        body = f.read()
    for name in (b"test-escape@knooppunt", b"test-forge-token@knooppunt"):
        assert name not in body
    if TEST_BIN:
        with open(TEST_BIN, "rb") as f:
            assert b"test-escape@knooppunt" in f.read()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_non_root_developer_still_gets_seccomp_and_landlock(make_world):
    """Run as an ordinary user, serve cannot switch uids, but the session
    child still enters seccomp and Landlock, and the log says the switch was
    skipped."""
    import pwd
    import shutil
    import subprocess
    import tempfile
    nobody = pwd.getpwnam("nobody")
    w = make_world()
    # A data directory the unprivileged user owns, somewhere it can reach.
    import pathlib
    home = pathlib.Path(tempfile.mkdtemp(prefix="kp-dev-"))  # /tmp: reachable by any user
    shutil.copytree(w.data.path, home / "data")
    os.chmod(home, 0o755)
    for root, dirs, files in os.walk(home):
        for n in dirs + files:
            os.chown(os.path.join(root, n), nobody.pw_uid, nobody.pw_gid)
    os.chown(home, nobody.pw_uid, nobody.pw_gid)
    data = kp.DataDir.__new__(kp.DataDir)
    data.path = str(home / "data")
    server = kp.Server(data)
    server.bin = "/usr/bin/setpriv"
    argv_bin = [f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups", kp.BIN]
    orig = subprocess.Popen

    def popen(argv, *a, **k):
        return orig([argv[0]] + argv_bin + argv[1:], *a, **k)

    subprocess.Popen = popen
    try:
        server.start()
    finally:
        subprocess.Popen = orig
    try:
        with kp.connect(server.port, "j.jansen@GM0363", w.jansen) as sftp:
            sftp.listdir("/outbox")
            _, child = session_pair(server)
            status = processes()[child][1]
            assert status["Seccomp"].strip() == "2" and status["NoNewPrivs"].strip() == "1"
            assert status["Uid"].split()[0] == str(nobody.pw_uid)
        assert "event=sandbox.uid_switch_skipped" in server.log_text()
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)

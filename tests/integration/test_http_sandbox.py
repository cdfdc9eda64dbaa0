"""The HTTP process is sandboxed and holds nothing worth stealing.

- `knooppunt serve` runs the auditors' page in a pair: a monitor (child of
  serve, holds the read-write store) and the HTTP process (its child), which
  as root runs as knooppunt-session with no capabilities, NoNewPrivs and a
  seccomp filter; it holds the store read-only and no descriptor under
  DATA/keys;
- the public keys live in DATA/public (0755, files 0644); `serve` writes
  them for a data directory that lacks them; `init` as root hands the private
  keys to knooppunt-worker (0600) in DATA/keys (root:knooppunt-worker 0710);
  `keys rotate` republishes the intake recipient;
- with `knooppunt-test` (KNOOPPUNT_TEST_BIN; skipped when unset), the
  /test-escape hook plays a compromised HTTP process: opening key files, the
  store read-write and /etc/shadow, execve, connect, ptrace of the monitor
  and forged monitor requests all fail, no forged record is written, and the
  protocol violation ends the pair;
- the release binary does not contain the hook.
"""

import grp
import json
import os
import pwd
import re
import stat
import time
import http.client

import pytest

import kp

TEST_BIN = os.environ.get("KNOOPPUNT_TEST_BIN")
ROOT = os.geteuid() == 0
O_ACCMODE = 0o3


def status_of(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def sandboxed_pid(server, timeout=10):
    """The HTTP process: the pid of the `http.sandboxed` log line, checked to
    be a grandchild of serve through its monitor."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = re.search(r"event=http\.sandboxed pid=(\d+)", server.log_text())
        if m:
            pid = int(m.group(1))
            monitor = int(status_of(pid)["PPid"])
            assert int(status_of(monitor)["PPid"]) == server.proc.pid
            return pid, monitor
        time.sleep(0.05)
    raise AssertionError("no http.sandboxed line:\n" + server.log_text())


def fd_targets(pid):
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue
        flags = 0
        with open(f"/proc/{pid}/fdinfo/{fd}") as f:
            for line in f:
                if line.startswith("flags:"):
                    flags = int(line.split()[1], 8)
        out.append((int(fd), target, flags))
    return out


def get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read().decode("utf-8", "replace")
    conn.close()
    return r.status, body


@pytest.fixture(scope="module")
def w(make_world):
    w = make_world()
    # A data directory from before DATA/public: serve publishes it.
    public = os.path.join(w.data.path, "public")
    for name in os.listdir(public):
        os.unlink(os.path.join(public, name))
    os.rmdir(public)
    w.serve()
    return w


def test_public_files_written_by_serve(w):
    public = os.path.join(w.data.path, "public")
    assert stat.S_IMODE(os.stat(public).st_mode) == 0o755
    for name in ("intake.recipient", "hub.minisign.pub", "log.note.vkey", "log.origin"):
        assert stat.S_IMODE(os.stat(os.path.join(public, name)).st_mode) == 0o644
    shown = json.loads(kp.kp_ok("keys", "show", "--json", data=w.data.path).stdout)
    assert open(os.path.join(public, "intake.recipient")).read().strip() == shown["intake_recipient"]


def test_http_process_is_confined(w):
    pid, monitor = sandboxed_pid(w.server)
    st = status_of(pid)
    if ROOT:
        assert all(int(u) != 0 for u in st["Uid"].split())
        assert all(int(g) != 0 for g in st["Gid"].split())
        assert int(st["Uid"].split()[0]) == pwd.getpwnam("knooppunt-session").pw_uid
    assert st["CapEff"] == "0000000000000000"
    assert st["CapPrm"] == "0000000000000000"
    assert st["CapBnd"] == "0000000000000000"
    assert st["NoNewPrivs"] == "1"
    assert st["Seccomp"] == "2"
    # The monitor keeps root (it writes the store) but can neither execute nor trace.
    mst = status_of(monitor)
    assert mst["NoNewPrivs"] == "1" and mst["Seccomp"] == "2"
    # The page still works through the confined process.
    assert get(w.server.http_port, "/healthz") == (200, "ok\n")
    status, body = get(w.server.http_port, "/metrics")
    assert status == 200 and "knooppunt_" in body


def test_http_process_holds_the_store_read_only_and_no_key(w):
    pid, _ = sandboxed_pid(w.server)
    get(w.server.http_port, "/healthz")
    data = os.path.realpath(w.data.path)
    db = os.path.join(data, "knooppunt.db")
    # stdio aside (the tests log into DATA): what does it hold there?
    under_data = [(t, f) for fd, t, f in fd_targets(pid) if fd > 2 and t.startswith(data + "/")]
    assert not [t for t, _ in under_data if t.startswith(os.path.join(data, "keys"))]
    assert not [t for t, _ in under_data if t.startswith(os.path.join(data, "public"))]
    # The store, its -wal and -shm and nothing else of DATA.
    assert {t for t, _ in under_data} <= {db, db + "-wal", db + "-shm"}
    main = [f for t, f in under_data if t == db]
    assert len(main) == 1
    # Every one of them read-only: the database, its -wal and its -shm.
    writable = {os.path.basename(t): oct(f & O_ACCMODE) for t, f in under_data if f & O_ACCMODE != os.O_RDONLY}
    assert not writable, writable


def test_init_as_root_hands_the_keys_to_the_worker(tmp_path):
    if not ROOT:
        pytest.skip("needs root")
    data = str(tmp_path / "fresh")
    kp.kp_ok("init", data=data)
    worker = pwd.getpwnam("knooppunt-worker")
    pwd.getpwnam("knooppunt-session")
    keys = os.path.join(data, "keys")
    st = os.stat(keys)
    assert st.st_uid == 0 and st.st_gid == worker.pw_gid and stat.S_IMODE(st.st_mode) == 0o710
    for name in ("intake.age", "hub.minisign.key", "log.note.key"):
        st = os.stat(os.path.join(keys, name))
        assert st.st_uid == worker.pw_uid and stat.S_IMODE(st.st_mode) == 0o600
    assert os.stat(os.path.join(keys, "ssh_host_ed25519_key")).st_uid == 0
    before = open(os.path.join(data, "public", "intake.recipient")).read()
    out = kp.kp_ok("keys", "rotate", data=data).stdout
    after = open(os.path.join(data, "public", "intake.recipient")).read()
    assert after != before and after.strip() in out
    st = os.stat(os.path.join(keys, "intake.age"))
    assert st.st_uid == worker.pw_uid and stat.S_IMODE(st.st_mode) == 0o600
    assert grp.getgrgid(os.stat(keys).st_gid).gr_name == "knooppunt-worker"


def test_release_binary_has_no_hook():
    with open(kp.BIN, "rb") as f:
        assert b"/test-escape" not in f.read()
    if TEST_BIN:
        with open(TEST_BIN, "rb") as f:
            assert b"/test-escape" in f.read()


@pytest.mark.skipif(not TEST_BIN, reason="KNOOPPUNT_TEST_BIN not set (build with -DKP_TEST_HOOKS=ON)")
def test_a_compromised_http_process_gets_nothing(make_world, tmp_path):
    w = make_world()
    token = tmp_path / "token"
    token.write_text("5e" * 32 + "\n")
    os.chmod(token, 0o600)
    kp.kp_ok("auditor", "token", "a.audit", "--token-file", str(token), data=w.data.path)
    w.serve(bin=TEST_BIN)
    pid, _ = sandboxed_pid(w.server)
    # A real login first: the monitor holds a real grant, the forged ones differ.
    conn = http.client.HTTPConnection("127.0.0.1", w.server.http_port, timeout=30)
    conn.request("POST", "/auditor/login", body="auditor=a.audit&token=" + "5e" * 32,
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert conn.getresponse().status == 303
    conn.close()
    since = w.data.last_audit_id()
    status, body = get(w.server.http_port, f"/test-escape?port={w.server.port}")
    assert status == 200, body
    r = json.loads(body)
    for name, result in r["keys"].items():
        assert result in ("EACCES", "EPERM"), (name, result)
    for attempt in ("db_rdwr", "db_rdonly_new", "etc_shadow", "public_file"):
        assert r[attempt] in ("EACCES", "EPERM"), (attempt, r[attempt])
    assert r["execve"] in ("EACCES", "EPERM"), r["execve"]
    assert r["connect"] in ("EACCES", "EPERM"), r["connect"]
    assert r["ptrace_parent"] in ("EACCES", "EPERM"), r["ptrace_parent"]
    m = r["monitor"]
    assert m["login_wrong_token"] == "refused:token-wrong"
    assert m["logout_forged_grant"] == "refused:grant-unknown"
    assert m["verify_forged_grant"] == "refused:grant-unknown"
    assert m["session_ended_forged_grant"] == "refused:grant-unknown"
    assert m["unknown_request"] == "monitor-gone"
    # The only record is the refused login the monitor decided itself.
    rows = [x for x in w.data.audit(since_id=since) if x["event"].startswith("web.")]
    assert [(x["event"], x["outcome"], x["reason"]) for x in rows] == [("web.login", "refused", "token-wrong")]
    # The violation ended the pair: logged, and the page is gone.
    assert kp.wait_for(lambda: "event=http.monitor_violation" in w.server.log_text(), timeout=10)
    assert kp.wait_for(lambda: not os.path.exists(f"/proc/{pid}"), timeout=15)
    with pytest.raises(OSError):
        get(w.server.http_port, "/healthz")

"""`knooppunt serve` start-up: it refuses a settings file with an unknown key
or a bad value (exit 1, naming the key), comes up on the requested loopback
port with the data directory's host key, and stops cleanly on SIGTERM.
"""

import os
import signal
import subprocess

import pytest

import kp

# A refused start exits within a second on an idle machine; the bound is for
# a loaded one (ctest -j2 beside other builds), never waited out when serve exits.
REFUSED_START_TIMEOUT = 60


def serve_once(datadir, *extra, timeout=REFUSED_START_TIMEOUT):
    """Runs serve expecting it to exit on its own (a refused start)."""
    port = kp.free_port()
    return kp.run([kp.BIN, "serve", "--data", datadir.path, "--listen", f"127.0.0.1:{port}",
                   "--http", f"127.0.0.1:{kp.free_port()}", *extra],
                  timeout=timeout)


@pytest.mark.parametrize("key,value", [
    ("max_file_size", "-1"),
    ("max_file_size", "lots"),
    ("max_file_size", "1.5"),
    ("max_auth_tries", "0"),
    ("max_open_handles", "99999999"),
    ("idle_timeout_seconds", "1"),
    ("login_grace_seconds", " "),
    ("max_files_per_day", "0x10"),
])
def test_serve_refuses_bad_value(datadir, key, value):
    datadir.set(key, value)
    r = serve_once(datadir)
    assert r.returncode == 1, f"exit {r.returncode}: {r.stderr}"
    assert key in r.stderr, f"the refusal names {key}: {r.stderr!r}"
    assert "settings-bad-value" in r.stderr


def test_serve_refuses_unknown_key(datadir):
    datadir.set("max_fiel_size", "10")
    r = serve_once(datadir)
    assert r.returncode == 1, f"exit {r.returncode}: {r.stderr}"
    assert "max_fiel_size" in r.stderr
    assert "settings-unknown-key" in r.stderr


def test_serve_refuses_uninitialised_dir(tmp_path):
    port = kp.free_port()
    r = kp.run([kp.BIN, "serve", "--data", str(tmp_path), "--listen", f"127.0.0.1:{port}"],
               timeout=REFUSED_START_TIMEOUT)
    assert r.returncode == 1, r.stderr
    assert "not-initialised" in r.stderr


@pytest.mark.parametrize("listen", ["127.0.0.1", "127.0.0.1:99999", "nohost:x"])
def test_serve_refuses_bad_listen(datadir, listen):
    r = kp.run([kp.BIN, "serve", "--data", datadir.path, "--listen", listen, "--http", f"127.0.0.1:{kp.free_port()}"],
               timeout=REFUSED_START_TIMEOUT)
    assert r.returncode in (1, 2), f"exit {r.returncode}: {r.stderr}"


def test_serve_refuses_busy_port(datadir, server_factory):
    s = server_factory(datadir)
    r = kp.run([kp.BIN, "serve", "--data", datadir.path, "--listen", f"127.0.0.1:{s.port}",
                "--http", f"127.0.0.1:{kp.free_port()}"], timeout=REFUSED_START_TIMEOUT)
    assert r.returncode == 1, f"a second server on a busy port must fail: {r.returncode} {r.stderr}"


def test_serve_comes_up_and_stops_on_sigterm(datadir):
    s = kp.Server(datadir).start()
    try:
        assert "event=serve.listening" in s.log_text()
        os.killpg(s.proc.pid, signal.SIGTERM)
        try:
            rc = s.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail("serve did not stop within 10 s of SIGTERM")
        assert rc in (0, -signal.SIGTERM, 128 + signal.SIGTERM), rc
    finally:
        s.stop()


def test_serve_offers_the_data_dirs_host_key(datadir, server_factory):
    s = server_factory(datadir)
    r = kp.run(["ssh-keyscan", "-T", "10", "-t", "ed25519", "-p", str(s.port), "127.0.0.1"], timeout=30)
    offered = [line.split()[2] for line in r.stdout.splitlines() if line and not line.startswith("#")]
    assert offered, f"no ed25519 host key offered: {r.stderr}"
    own = kp.run(["ssh-keygen", "-y", "-f", os.path.join(datadir.path, "keys", "ssh_host_ed25519_key")])
    assert own.returncode == 0, own.stderr
    assert offered[0] == own.stdout.split()[1], "the host key is the one `init` wrote"


def test_http_endpoint_answers(datadir, server_factory):
    s = server_factory(datadir, http=True)
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", s.http_port, timeout=10)
    try:
        conn.request("GET", "/health")
        resp = conn.getresponse()
        body = resp.read().decode()
        # A fresh data directory has no staff member: unhealthy, and saying why
        # (tests/integration/test_metrics.py has the checks).
        assert (resp.status, resp.reason) == (503, "Service Unavailable"), (resp.status, resp.reason, body)
        assert "staff: no staff member" in body
    finally:
        conn.close()

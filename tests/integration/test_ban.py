"""Brute-force protection: after `ban_after_failures` failed connections
from one source within `ban_window_seconds`, that source's next connection is
refused before authentication, even with a good key (it is told why, see
test_bans.py) -- unless the source is on the `ban_safelist`.
"""

import json

import paramiko
import pytest

import kp


def prepare(datadir, keys, **settings):
    datadir.municipality("GM0363", "Amsterdam")
    datadir.person(keys("j.jansen"))
    datadir.grant("j.jansen", "GM0363")
    for k, v in settings.items():
        datadir.set(k, v)


def fail_logins(port, keys, n):
    for _ in range(n):
        with pytest.raises((paramiko.AuthenticationException, paramiko.SSHException, EOFError, OSError)):
            kp.connect(port, "j.jansen@GM0363", keys("p.pietersen")).close()


def banned(datadir, source="127.0.0.1"):
    """Waits until `source` is banned (a failure counts once its connection
    process has ended)."""
    def now():
        r = kp.kp_ok("ban", "list", "--json", data=datadir.path)
        return any(b["source"] == source and b["banned"] for b in json.loads(r.stdout))
    return kp.wait_for(now, timeout=10)


def test_ban_after_failures(datadir, keys, server_factory):
    prepare(datadir, keys, ban_after_failures="3", ban_window_seconds="600")
    s = server_factory(datadir)
    with kp.connect(s.port, "j.jansen@GM0363", keys("j.jansen")) as sftp:
        sftp.listdir("/")
    fail_logins(s.port, keys, 3)
    assert banned(datadir)
    assert kp.login_refused(s.port, "j.jansen@GM0363", keys("j.jansen"))
    assert len(datadir.audit(event="auth.login", outcome="refused")) == 3
    assert len(datadir.audit(event="source.banned")) == 1, "the ban is audited"
    assert datadir.audit(event="connection.refused")[0]["reason"] == "source-banned"


def test_ban_counts_unknown_users_too(datadir, keys, server_factory):
    prepare(datadir, keys, ban_after_failures="3")
    s = server_factory(datadir)
    for user in ("root", "admin", "n.iemand@GM0363"):
        with pytest.raises((paramiko.AuthenticationException, paramiko.SSHException, EOFError, OSError)):
            kp.connect(s.port, user, keys("j.jansen")).close()
    assert banned(datadir)
    assert kp.login_refused(s.port, "j.jansen@GM0363", keys("j.jansen"))


def test_safelist_is_never_banned(datadir, keys, server_factory):
    prepare(datadir, keys, ban_after_failures="3", ban_safelist="127.0.0.1")
    s = server_factory(datadir)
    fail_logins(s.port, keys, 5)
    with kp.connect(s.port, "j.jansen@GM0363", keys("j.jansen")) as sftp:
        assert sorted(sftp.listdir("/")) == ["inbox", "keys", "outbox"]


def test_below_threshold_is_not_banned(datadir, keys, server_factory):
    prepare(datadir, keys, ban_after_failures="3")
    s = server_factory(datadir)
    fail_logins(s.port, keys, 2)
    with kp.connect(s.port, "j.jansen@GM0363", keys("j.jansen")) as sftp:
        assert sorted(sftp.listdir("/")) == ["inbox", "keys", "outbox"]


def test_ban_survives_restart(datadir, keys, server_factory):
    prepare(datadir, keys, ban_after_failures="3")
    s = server_factory(datadir)
    fail_logins(s.port, keys, 3)
    assert banned(datadir)
    s.stop()
    s2 = server_factory(datadir)
    assert kp.login_refused(s2.port, "j.jansen@GM0363", keys("j.jansen")), \
        "failures are counted from the store, so a restart does not lift a ban"


def test_openssh_key_offers_count_towards_the_ban(datadir, keys, server_factory):
    """OpenSSH offers a key without signing first; a scanner trying keys this
    way fails as surely as one that signs, and must be banned the same."""
    prepare(datadir, keys, ban_after_failures="3")
    s = server_factory(datadir)
    for _ in range(3):
        r = kp.run(kp.ssh_argv("sftp", s.port, "j.jansen@GM0363", keys("p.pietersen"), "-b", "-", "127.0.0.1"),
                   input="ls /\n", timeout=60)
        assert r.returncode != 0
    assert banned(datadir)
    assert kp.login_refused(s.port, "j.jansen@GM0363", keys("j.jansen")), \
        "three refused OpenSSH logins did not ban 127.0.0.1"

"""Brute-force protection: after `ban_after_failures` failed logins from one
source within `ban_window_seconds`, that source's next connection is dropped
before authentication, even with a good key -- unless the source is on the
`ban_safelist`.
"""

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


def test_ban_after_failures(datadir, keys, server_factory):
    prepare(datadir, keys, ban_after_failures="3", ban_window_seconds="600")
    s = server_factory(datadir)
    with kp.connect(s.port, "j.jansen@GM0363", keys("j.jansen")) as sftp:
        sftp.listdir("/")
    fail_logins(s.port, keys, 3)
    with pytest.raises((paramiko.SSHException, EOFError, OSError)) as e:
        kp.connect(s.port, "j.jansen@GM0363", keys("j.jansen")).close()
    assert not isinstance(e.value, paramiko.AuthenticationException), \
        "a banned source is dropped before authentication, not refused at it"
    refusals = datadir.audit(outcome="refused")
    assert len(refusals) >= 4, "the failures and the ban are audited"


def test_ban_counts_unknown_users_too(datadir, keys, server_factory):
    prepare(datadir, keys, ban_after_failures="3")
    s = server_factory(datadir)
    for user in ("root", "admin", "n.iemand@GM0363"):
        with pytest.raises((paramiko.AuthenticationException, paramiko.SSHException, EOFError, OSError)):
            kp.connect(s.port, user, keys("j.jansen")).close()
    assert kp.login_refused(s.port, "j.jansen@GM0363", keys("j.jansen"))


def test_safelist_is_never_banned(datadir, keys, server_factory):
    prepare(datadir, keys, ban_after_failures="3", ban_safelist="127.0.0.1")
    s = server_factory(datadir)
    fail_logins(s.port, keys, 5)
    with kp.connect(s.port, "j.jansen@GM0363", keys("j.jansen")) as sftp:
        assert sorted(sftp.listdir("/")) == ["inbox", "outbox"]


def test_below_threshold_is_not_banned(datadir, keys, server_factory):
    prepare(datadir, keys, ban_after_failures="3")
    s = server_factory(datadir)
    fail_logins(s.port, keys, 2)
    with kp.connect(s.port, "j.jansen@GM0363", keys("j.jansen")) as sftp:
        assert sorted(sftp.listdir("/")) == ["inbox", "outbox"]


def test_ban_survives_restart(datadir, keys, server_factory):
    prepare(datadir, keys, ban_after_failures="3")
    s = server_factory(datadir)
    fail_logins(s.port, keys, 3)
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
    assert kp.login_refused(s.port, "j.jansen@GM0363", keys("j.jansen")), \
        "three refused OpenSSH logins did not ban 127.0.0.1"

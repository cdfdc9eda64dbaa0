"""Limits from knooppunt.conf, enforced by the running gateway: file size,
files and bytes per municipality per day, open handles, sessions per
connection, connections per source, auth tries, login grace and idle time.
Every limit that refuses an upload leaves a `limit.hit` audit event.
"""

import os
import socket
import time

import paramiko
import pytest

import kp

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def w(make_world):
    w = make_world(settings={
        "max_file_size": str(MIB),
        "max_open_handles": "4",
        "max_sessions_per_connection": "2",
        "max_connections_per_source": "4",
        "max_auth_tries": "2",
        "login_grace_seconds": "2",
        "idle_timeout_seconds": "10",
    })
    for i in range(6):
        with open(os.path.join(w.data.box("GM0363", "outbox"), f"h{i}.txt"), "wb") as f:
            f.write(b"handle %d" % i)
    w.serve()
    return w


def limit_hits(w, since):
    return w.data.audit(event="limit.hit", since_id=since)


def connect_when_possible(w, user="j.jansen@GM0363", ident=None):
    """Connections of earlier tests may still count against
    max_connections_per_source for a moment after they closed."""
    ident = ident or w.jansen
    deadline = time.time() + 10
    while True:
        try:
            return w.connect(user, ident)
        except kp.REFUSED:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.parametrize("pipelined", [False, True])
def test_file_larger_than_max_file_size_is_refused(w, pipelined):
    name = f"too-big-{pipelined}.bin"
    before = w.data.last_audit_id()
    with connect_when_possible(w) as sftp:
        assert kp.fails(kp.upload, sftp, "/inbox/" + name, os.urandom(MIB + 1), pipelined=pipelined), \
            "an upload above max_file_size must fail with an SFTP error"
    assert not [u for u in w.data.uploads() if u["name"] == name], \
        "a refused (truncated) upload must not be registered"
    assert name not in os.listdir(w.data.box("GM0363", "inbox"))
    hits = kp.wait_for(lambda: limit_hits(w, before), timeout=5)
    assert hits, "no limit.hit audit event"
    assert hits[0]["municipality"] == "GM0363" and hits[0]["reason"]


def test_file_of_exactly_max_file_size_is_accepted(w):
    data = os.urandom(MIB)
    with connect_when_possible(w) as sftp:
        digest = kp.upload(sftp, "/inbox/exactly-max.bin", data)
    assert [u["sha256"] for u in w.data.uploads() if u["name"] == "exactly-max.bin"] == [digest]


def test_size_limit_holds_for_sparse_writes_past_the_end(w):
    """A client cannot dodge the size check by writing at a far offset."""
    with connect_when_possible(w) as sftp:
        def sparse():
            f = sftp.open("/inbox/sparse.bin", "wb")
            f.seek(10 * MIB)
            f.write(b"tail")
            kp.strict_close(sftp, f)
        assert kp.fails(sparse)
    assert "sparse.bin" not in os.listdir(w.data.box("GM0363", "inbox"))


def small_world(datadir, keys, **settings):
    """A data directory of its own for a per-day limit (it would otherwise
    be used up by the other tests of the module)."""
    datadir.municipality("GM0363", "Amsterdam")
    datadir.municipality("GM0599", "Rotterdam")
    datadir.person(keys("j.jansen"))
    datadir.person(keys("d.dubbel"))
    datadir.grant("j.jansen", "GM0363")
    datadir.grant("d.dubbel", "GM0363")
    datadir.grant("d.dubbel", "GM0599")
    for k, v in settings.items():
        datadir.set(k, v)


def test_third_upload_of_the_day_is_refused(datadir, keys, server_factory):
    small_world(datadir, keys, max_files_per_day="2")
    s = server_factory(datadir)
    with kp.connect(s.port, "j.jansen@GM0363", keys("j.jansen")) as sftp:
        kp.upload(sftp, "/inbox/day-1.bin", b"one")
        kp.upload(sftp, "/inbox/day-2.bin", b"two")
        assert kp.fails(kp.upload, sftp, "/inbox/day-3.bin", b"three"), "max_files_per_day = 2"
    assert sorted(u["name"] for u in datadir.uploads("GM0363")) == ["day-1.bin", "day-2.bin"]
    assert "day-3.bin" not in os.listdir(datadir.box("GM0363", "inbox"))
    assert datadir.audit(event="limit.hit"), "no limit.hit audit event"
    # The limit is per municipality, not per session or person ...
    with kp.connect(s.port, "d.dubbel@GM0363", keys("d.dubbel")) as sftp:
        assert kp.fails(kp.upload, sftp, "/inbox/day-4.bin", b"four")
    # ... and another municipality has its own count.
    with kp.connect(s.port, "d.dubbel@GM0599", keys("d.dubbel")) as sftp:
        kp.upload(sftp, "/inbox/other-1.bin", b"rotterdam")
    assert [u["name"] for u in datadir.uploads("GM0599")] == ["other-1.bin"]


def test_temp_uploads_count_once(datadir, keys, server_factory):
    """A .filepart upload renamed to its final name is one file of the day."""
    small_world(datadir, keys, max_files_per_day="2")
    s = server_factory(datadir)
    with kp.connect(s.port, "j.jansen@GM0363", keys("j.jansen")) as sftp:
        kp.upload(sftp, "/inbox/a.pdf.filepart", b"a")
        sftp.rename("/inbox/a.pdf.filepart", "/inbox/a.pdf")
        kp.upload(sftp, "/inbox/b.pdf", b"b")
    assert sorted(u["name"] for u in datadir.uploads("GM0363")) == ["a.pdf", "b.pdf"]


def test_max_open_handles(w):
    with connect_when_possible(w) as sftp:
        handles = []
        try:
            for i in range(4):
                handles.append(sftp.open(f"/outbox/h{i}.txt", "rb"))
            assert kp.fails(sftp.open, "/outbox/h4.txt", "rb"), "a fifth handle is above max_open_handles = 4"
        finally:
            for h in handles:
                h.close()
        # Closing frees the slots.
        assert sftp.open("/outbox/h5.txt", "rb").read() == b"handle 5"


def test_max_sessions_per_connection(w):
    """One SFTP session at a time per connection (README): a second one
    while the first runs is refused at once; sessions one after another are
    served up to max_sessions_per_connection (2 here), then refused."""
    c = connect_when_possible(w)
    try:
        with pytest.raises((paramiko.ChannelException, paramiko.SSHException, EOFError)):
            # A refusal is an answer; a timeout (10 s) is not, and fails the test.
            kp.open_sftp(c.transport, timeout=10).listdir("/")
        assert sorted(c.sftp.listdir("/")) == ["inbox", "keys", "outbox"]
        c.sftp.close()
        second = kp.open_sftp(c.transport, timeout=10)
        assert sorted(second.listdir("/")) == ["inbox", "keys", "outbox"]
        second.close()
        with pytest.raises((paramiko.ChannelException, paramiko.SSHException, EOFError)):
            kp.open_sftp(c.transport, timeout=10).listdir("/")
    finally:
        c.close()


def test_max_auth_tries(w):
    sock = socket.create_connection(("127.0.0.1", w.port), timeout=10)
    t = paramiko.Transport(sock)
    try:
        t.start_client(timeout=10)
        for wrong in (w.pietersen, w.dubbel):
            with pytest.raises((paramiko.AuthenticationException, paramiko.SSHException, EOFError)):
                t.auth_publickey("j.jansen@GM0363", wrong.pkey())
        with pytest.raises((paramiko.AuthenticationException, paramiko.SSHException, EOFError, OSError)):
            t.auth_publickey("j.jansen@GM0363", w.jansen.pkey())
    finally:
        t.close()


def test_login_grace(w):
    with socket.create_connection(("127.0.0.1", w.port), timeout=15) as s:
        banner = s.recv(256)
        assert banner.startswith(b"SSH-2.0-"), banner
        s.settimeout(10)
        t0 = time.time()
        try:
            while s.recv(4096):
                pass
        except socket.timeout:
            pytest.fail("the connection outlived login_grace_seconds = 2 by far")
        except ConnectionResetError:
            pass
        assert time.time() - t0 < 8


def test_max_connections_per_source(w):
    conns = []
    try:
        # Leftover connections of earlier tests may still be closing:
        # connect_when_possible retries until they are gone.
        for _ in range(4):
            conns.append(connect_when_possible(w))
        assert kp.login_refused(w.port, "j.jansen@GM0363", w.jansen), "a fifth connection from 127.0.0.1"
        conns.pop().close()
        assert kp.wait_for(lambda: not kp.login_refused(w.port, "j.jansen@GM0363", w.jansen), timeout=10)
    finally:
        for c in conns:
            c.close()


def test_idle_timeout(w):
    c = connect_when_possible(w)
    try:
        c.sftp.listdir("/")
        t0 = time.time()
        # No request from here on (each would restart the idle clock): the
        # server must close the connection by itself.
        assert kp.wait_for(lambda: not c.transport.is_active(), timeout=25), \
            "the session outlived idle_timeout_seconds = 10"
        assert time.time() - t0 >= 9, "closed before idle_timeout_seconds = 10"
        assert kp.fails(c.sftp.listdir, "/")
    finally:
        c.close()


def test_bytes_per_day(datadir, keys, server_factory):
    small_world(datadir, keys, max_bytes_per_day="1000")
    s = server_factory(datadir)
    with kp.connect(s.port, "j.jansen@GM0363", keys("j.jansen")) as sftp:
        kp.upload(sftp, "/inbox/b1.bin", os.urandom(600))
        assert kp.fails(kp.upload, sftp, "/inbox/b2.bin", os.urandom(600), pipelined=False), \
            "max_bytes_per_day = 1000"
    assert [u["name"] for u in datadir.uploads()] == ["b1.bin"]
    assert "b2.bin" not in os.listdir(datadir.box("GM0363", "inbox"))
    assert datadir.audit(event="limit.hit")

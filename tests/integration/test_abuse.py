"""Limits that hold under a hostile but authenticated user and an
unauthenticated flood: a budget of its own for connections that have not
authenticated (overall and per source, with random early drop), refused
connections recorded as aggregates rather than one leaf each, idle
connections ended, temporary uploads counted and capped, no sparse uploads,
statvfs telling the day's quota instead of the host's disk, one SSH key per
account, names that leave room for their receipt, and one serve per data
directory and port. Every flood
here is bounded in count and time and stays on 127.0.0.0/8.
"""

import os
import socket
import threading
import time

import paramiko
import pytest

import kp


def raw_connect(port, source):
    """A TCP connection from `source` (a loopback address) that sends nothing."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    return s


def admitted(sock):
    """True when the gateway answered with its SSH banner, False when it closed at once."""
    try:
        data = sock.recv(64)
    except (socket.timeout, ConnectionResetError):
        return False
    return data.startswith(b"SSH-")


@pytest.fixture(scope="module")
def w(make_world):
    w = make_world(settings={
        "max_startups": "8",
        "max_startups_per_source": "3",
        "login_grace_seconds": "20",
        "idle_timeout_seconds": "10",
        "max_temp_uploads": "2",
        "max_files_per_day": "6",
        "max_bytes_per_day": "100000",
        "max_write_gap": "65536",
        "http_header_timeout_seconds": "3",
        "http_max_connections_per_source": "4",
    })
    w.serve()
    return w


def test_unauthenticated_flood_leaves_users_served(w):
    held = []
    before = w.jj()  # authenticated before the flood
    try:
        for _ in range(3):
            s = raw_connect(w.port, "127.0.0.2")
            assert admitted(s)
            held.append(s)
        extra = raw_connect(w.port, "127.0.0.2")
        assert not admitted(extra), "a fourth unauthenticated connection from one source"
        extra.close()
        # The budget is per source: a user elsewhere still logs in.
        with w.jj() as sftp:
            assert sorted(sftp.listdir("/")) == ["inbox", "keys", "outbox"]
        # Other sources fill the overall budget (8); from half of it on some are dropped.
        for i in range(3, 12):
            s = raw_connect(w.port, f"127.0.0.{i}")
            if admitted(s):
                held.append(s)
            else:
                s.close()
        assert len(held) <= 8
        # Authenticated connections do not count: the one from before is served.
        kp.upload(before.sftp, "/inbox/during-flood.bin", b"still served")
    finally:
        before.close()
        for s in held:
            s.close()
    assert "during-flood.bin" in [u["name"] for u in w.data.uploads("GM0363")]


def test_refused_connections_are_aggregated(w):
    w.restart()  # no connection of the test before still counts
    held = [raw_connect(w.port, "127.0.0.20") for _ in range(3)]
    try:
        for s in held:
            assert admitted(s)
        before = w.data.last_audit_id()
        for _ in range(40):
            s = raw_connect(w.port, "127.0.0.20")
            assert not admitted(s)
            s.close()
    finally:
        for s in held:
            s.close()
    w.restart()  # the counted record of the minute is written at the latest at shutdown
    records = [e for e in w.data.audit(event="connection.refused", since_id=before)
               if e["source"] == "127.0.0.20"]
    assert len(records) == 2, records
    assert records[0]["reason"] == "limit-startups-per-source"
    assert records[1]["size"] == 39 and "39 more connections refused" in records[1]["object"]


def test_idle_connection_is_closed(w):
    c = w.jj()
    try:
        c.sftp.close()  # the SFTP channel ends; the connection stays, idle
        transport = c.transport
        assert kp.wait_for(lambda: not transport.is_active(), timeout=20), \
            "an authenticated connection without a channel outlived idle_timeout_seconds"
    finally:
        c.close()
    assert "event=connection.idle_timeout" in w.server.log_text()


def statvfs(sftp, path):
    t, msg = sftp._request(paramiko.sftp.CMD_EXTENDED, "statvfs@openssh.com", path)
    return [msg.get_int64() for _ in range(11)]


def test_temporary_uploads_count_and_are_capped(w):
    w.restart()
    with w.jj() as sftp:
        before = statvfs(sftp, "/inbox")
        kp.upload(sftp, "/inbox/t1.part", os.urandom(40000))
        kp.upload(sftp, "/inbox/t2.part", os.urandom(40000))
        assert kp.fails(kp.upload, sftp, "/inbox/t3.part", b"x"), "max_temp_uploads = 2"
        # They count toward the day's bytes: 80000 of 100000 are taken.
        assert kp.fails(kp.upload, sftp, "/inbox/final.bin", os.urandom(30000), pipelined=False)
        after = statvfs(sftp, "/inbox")
        sftp.remove("/inbox/t2.part")
        sftp.posix_rename("/inbox/t1.part", "/inbox/t1.bin")
    assert before[0] == 1 and before[2] == 100000 and before[5] == 6
    assert after[4] == before[4] - 80000, (before, after)
    assert [u["name"] for u in w.data.uploads("GM0363")][-1:] == ["t1.bin"]
    reasons = [e["reason"] for e in w.data.audit(event="limit.hit")]
    assert "limit-temp-uploads" in reasons and "limit-bytes-per-day" in reasons


def test_sparse_and_holed_uploads_are_refused(w):
    with w.jj() as sftp:
        f = sftp.open("/inbox/sparse.bin", "wb")
        f.set_pipelined(False)
        with pytest.raises(IOError) as e:
            f.seek(1024 * 1024 * 1024 - 1)
            f.write(b"x")
            f.flush()
        assert "upload-sparse" in str(e.value)
        with pytest.raises(IOError):
            kp.strict_close(sftp, f)
        g = sftp.open("/inbox/holed.bin", "wb")
        g.seek(1000)
        g.write(b"y" * 100)  # within max_write_gap, but bytes 0..999 never come
        with pytest.raises(IOError) as e:
            kp.strict_close(sftp, g)
        assert "upload-incomplete" in str(e.value)
    names = [u["name"] for u in w.data.uploads("GM0363")]
    assert "sparse.bin" not in names and "holed.bin" not in names
    assert not [n for n in os.listdir(w.data.box("GM0363", "inbox")) if n.startswith(("sparse", "holed"))]


def test_one_key_one_account(w):
    """A key registered to j.jansen cannot become staff's, an auditor's or another person's."""
    for args in (["staff", "add", "x.staff", "--ssh-key", w.jansen.ssh_pub, "--recipient", w.jansen.recipient,
                  "--sign-key", w.jansen.sign_pub],
                 ["auditor", "add", "x.audit", "--ssh-key", w.jansen.ssh_pub],
                 ["person", "add", "x.person", "--ssh-key", w.jansen.ssh_pub, "--sign-key", w.jansen.sign_pub]):
        r = kp.kp(*args, data=w.data.path)
        assert r.returncode == 1 and "key-in-use" in r.stderr and "j.jansen" in r.stderr, r.stderr
    ids = [row["id"] for row in w.data.sql("SELECT id FROM accounts")]
    assert not [i for i in ids if i.startswith("x.")]


def test_long_names_that_leave_no_room_for_the_receipt_are_refused(w):
    with w.jj() as sftp:
        longest = "n" * 230 + ".age"  # 234 + len(".receipt.json.minisig") = 255
        kp.upload(sftp, "/inbox/" + longest, b"fits")
        with pytest.raises(IOError) as e:
            kp.upload(sftp, "/inbox/" + "n" * 231 + ".age", b"too long")
        assert "name-too-long" in str(e.value)
        # Through a temporary name and a rename too.
        kp.upload(sftp, "/inbox/long.part", b"temp")
        with pytest.raises(IOError):
            sftp.posix_rename("/inbox/long.part", "/inbox/" + "m" * 240)
        sftp.remove("/inbox/long.part")
    names = [u["name"] for u in w.data.uploads("GM0363")]
    assert longest in names and not [n for n in names if len(n) > 234]


def test_second_serve_on_a_data_directory_is_refused(w):
    r = kp.run([kp.BIN, "serve", "--data", w.data.path, "--listen", f"127.0.0.1:{kp.free_port()}",
                "--http", f"127.0.0.1:{kp.free_port()}"], timeout=20)
    assert r.returncode == 1 and "data-dir-busy" in r.stderr, r.stderr
    with w.jj() as sftp:
        sftp.listdir("/")


def test_taken_http_port_is_an_error_at_start(w, make_world):
    other = make_world()
    r = kp.run([kp.BIN, "serve", "--data", other.data.path, "--listen", f"127.0.0.1:{kp.free_port()}",
                "--http", f"127.0.0.1:{w.server.http_port}"], timeout=20)
    assert r.returncode == 1 and "http" in r.stderr, r.stderr


def test_concurrent_commits_keep_the_daily_limit(w):
    """Ten connections of one municipality close their uploads at the same
    moment: the limit (6 files a day) holds inside the commit's transaction,
    not only at OPEN, where all ten still fitted."""
    assert not w.data.uploads("GM0599")
    conns = [w.connect("p.pietersen@GM0599", w.pietersen) for _ in range(10)]
    files = []
    for i, c in enumerate(conns):
        f = c.sftp.open(f"/inbox/race-{i}.bin", "wb")
        f.set_pipelined(False)
        f.write(b"r" * 100)
        files.append(f)
    barrier = threading.Barrier(len(files))
    results = [None] * len(files)

    def close(i):
        barrier.wait(timeout=20)
        try:
            kp.strict_close(conns[i].sftp, files[i])
            results[i] = "ok"
        except IOError as e:
            results[i] = str(e)

    threads = [threading.Thread(target=close, args=(i,)) for i in range(len(files))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for c in conns:
        c.close()
    assert results.count("ok") == 6, results
    assert all("limit-files-per-day" in r for r in results if r != "ok"), results
    assert len(w.data.uploads("GM0599")) == 6
    with w.jj() as sftp:  # another municipality's user is not affected
        kp.upload(sftp, "/inbox/after-race.bin", b"still served")


def test_slow_loris_does_not_stop_healthz(w):
    """24 connections from three sources send one header byte a second:
    each source holds at most http_max_connections_per_source of them, each
    for at most http_header_timeout_seconds; /healthz answers curl all along."""
    port = w.server.http_port
    slow = []
    for i in range(24):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((f"127.0.0.{41 + i % 3}", 0))
        s.settimeout(2)
        s.connect(("127.0.0.1", port))
        slow.append(s)
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 64
    alive = set(range(len(slow)))
    answered = 0
    with w.jj() as sftp:
        for second in range(7):
            for i in list(alive):
                try:
                    slow[i].send(request[second:second + 1])
                except OSError:
                    alive.discard(i)
            r = kp.run(["curl", "-s", "-m", "2", f"http://127.0.0.1:{port}/healthz"], timeout=10)
            assert r.returncode == 0 and r.stdout == "ok\n", (second, r.returncode, r.stdout, r.stderr)
            answered += 1
            time.sleep(1)
        kp.upload(sftp, "/inbox/during-slowloris.bin", b"still served")
    closed = 0
    for s in slow:
        try:
            while s.recv(4096):  # an answer (408, 400) may come before the end
                pass
            closed += 1
        except (ConnectionResetError, BrokenPipeError):
            closed += 1
        except socket.timeout:
            pass  # still open
        s.close()
    assert answered == 7
    assert closed == len(slow), f"{len(slow) - closed} slow connections still open after the header timeout"

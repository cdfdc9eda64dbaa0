"""Per-source penalties (OpenSSH 9.8's PerSourcePenalties, store/penalties.h)
driven with real clients from separate loopback sources: a connection that
ends without authenticating is one failure however many keys it offered (an
ssh-agent offering other keys first never gets its user banned), password
attempts and connections past the login grace count, bans grow with
repeated abuse and expire, a banned client is told why and until when
(userauth banner and disconnect reason, seen by paramiko and OpenSSH),
`ban list` / `ban lift` (audited), and web logins from a banned source are
neither recorded one by one nor extend the ban. Throughout, j.jansen logs
in and uploads from 127.0.0.1.
"""

import http.client
import json
import socket
import time
import urllib.parse

import paramiko
import pytest

import kp

MESSAGE = "too many failed logins from your address; try again after "


@pytest.fixture(scope="module")
def w(make_world):
    w = make_world(settings={
        "ban_after_failures": "3",
        "ban_window_seconds": "600",
        "ban_seconds": "600",
        "ban_max_seconds": "3600",
        "login_grace_seconds": "3",
    })
    w.serve()
    return w


def transport_from(port, source, timeout=15):
    """A started paramiko client transport whose socket is bound to `source`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    t = paramiko.Transport(sock)
    t.banner_timeout = timeout
    t.auth_timeout = timeout
    t.start_client(timeout=timeout)
    return t


def failing_login(port, source, keys_offered, user="j.jansen@GM0363"):
    """One connection offering each key in turn, none accepted."""
    t = transport_from(port, source)
    try:
        for ident in keys_offered:
            with pytest.raises((paramiko.AuthenticationException, paramiko.SSHException, EOFError)):
                t.auth_publickey(user, ident.pkey())
            if not t.is_active():
                break
    finally:
        t.close()


def bans(w):
    r = kp.kp_ok("ban", "list", "--json", data=w.data.path)
    return {b["source"]: b for b in json.loads(r.stdout)}


def wait_for_ban(w, source, timeout=10):
    return kp.wait_for(lambda: bans(w).get(source, {}).get("banned"), timeout=timeout)


def legitimate_upload(w, name):
    with w.jj() as sftp:
        kp.upload(sftp, "/inbox/" + name, b"legitimate " + name.encode())
    assert name in [u["name"] for u in w.data.uploads("GM0363")]


def sftp_from(w, source, *idents):
    argv = ["sftp", "-P", str(w.port)]
    for ident in idents:
        argv += ["-i", ident.ssh_key]
    argv += ["-o", "User=j.jansen@GM0363", "-o", f"BindAddress={source}"] + kp.SSH_OPTS + ["-b", "-", "127.0.0.1"]
    return kp.run(argv, input="ls /\n", timeout=60)


def test_agent_offering_other_keys_first_is_never_banned(w):
    others = [w.pietersen, w.dubbel, w.staff, w.auditor]
    for _ in range(4):
        r = sftp_from(w, "127.0.0.31", *others, w.jansen)
        assert r.returncode == 0, r.stderr
    assert "127.0.0.31" not in bans(w), "successful logins that offered other keys first counted as failures"
    # The refused offers are still audited, one record each (ordinary failures).
    offers = [e for e in w.data.audit(event="auth.login", outcome="refused") if e["source"] == "127.0.0.31"]
    assert len(offers) == 16 and {e["reason"] for e in offers} == {"key-not-registered"}


def test_a_failed_connection_is_one_failure_and_the_ban_says_why(w):
    src = "127.0.0.32"
    failing_login(w.port, src, [w.pietersen, w.dubbel, w.staff, w.auditor])
    assert kp.wait_for(lambda: bans(w).get(src, {}).get("failures") == 1), bans(w)
    failing_login(w.port, src, [w.pietersen, w.dubbel])
    legitimate_upload(w, "during-failures.bin")
    failing_login(w.port, src, [w.pietersen])
    assert wait_for_ban(w, src), bans(w)
    ban = bans(w)[src]
    assert ban["bans"] == 1 and ban["last_reason"] == "auth-failed"
    until = ban["banned_until_ms"]
    assert 590_000 < until - time.time() * 1000 <= 600_000
    # paramiko: the banner and no login, even with the right key.
    t = transport_from(w.port, src)
    try:
        with pytest.raises((paramiko.AuthenticationException, paramiko.SSHException, EOFError)):
            t.auth_publickey("j.jansen@GM0363", w.jansen.pkey())
        # (get_banner() says None once the transport closed; the handler keeps it.)
        banner = t.auth_handler.banner or b""
    finally:
        t.close()
    hhmm = time.strftime("%H:%M UTC", time.gmtime((until + 59_999) // 60_000 * 60))
    # (After midnight UTC the date comes first: "2026-12-07 00:05 UTC".)
    assert MESSAGE.encode() in banner and hhmm.encode() in banner, banner
    # OpenSSH's sftp prints the disconnect reason (at LogLevel=ERROR too).
    r = sftp_from(w, src, w.jansen)
    assert r.returncode != 0 and MESSAGE in r.stderr and hhmm in r.stderr, r.stderr
    # ... and so does ssh, with the banner at its default log level.
    r = kp.run(["ssh", "-p", str(w.port), "-i", w.jansen.ssh_key, "-o", "User=j.jansen@GM0363",
                "-o", f"BindAddress={src}"] + ["LogLevel=INFO" if o == "LogLevel=ERROR" else o for o in kp.SSH_OPTS] +
               ["127.0.0.1", "true"], timeout=60)
    assert r.returncode != 0 and r.stderr.count(MESSAGE) == 2, r.stderr  # banner and disconnect reason
    # The notices never count as failures, and the legitimate user is served.
    assert bans(w)[src]["banned_until_ms"] == until and bans(w)[src]["bans"] == 1
    legitimate_upload(w, "during-ban.bin")
    banned = [e for e in w.data.audit(event="source.banned") if e["source"] == src]
    assert len(banned) == 1 and banned[0]["reason"] == "too-many-failures"
    # Lifting: audited, and the source logs in again.
    r = kp.kp_ok("ban", "lift", src, data=w.data.path)
    assert src in r.stdout
    assert src not in bans(w)
    lifted = w.data.audit(event="ban.lifted")
    assert lifted[-1]["source"] == src and lifted[-1]["actor"] == "operator"
    r = sftp_from(w, src, w.jansen)
    assert r.returncode == 0, r.stderr
    r = kp.kp("ban", "lift", src, data=w.data.path)
    assert r.returncode == 1 and "not-banned" in r.stderr
    r = kp.kp("ban", "lift", "not-an-address", data=w.data.path)
    assert r.returncode == 1 and "address-invalid" in r.stderr


def test_password_attempts_count(w):
    src = "127.0.0.33"
    for _ in range(3):
        t = transport_from(w.port, src)
        try:
            with pytest.raises((paramiko.AuthenticationException, paramiko.SSHException, EOFError)):
                t.auth_password("j.jansen@GM0363", "hunter2")
        finally:
            t.close()
    assert wait_for_ban(w, src), bans(w)
    refused = [e for e in w.data.audit(event="auth.login", outcome="refused") if e["source"] == src]
    assert refused and {e["reason"] for e in refused} == {"method-not-allowed"}
    legitimate_upload(w, "during-passwords.bin")


def test_silent_connections_past_the_grace_count(w):
    src = "127.0.0.34"
    held = []
    try:
        for _ in range(3):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((src, 0))
            s.settimeout(10)
            s.connect(("127.0.0.1", w.port))
            held.append(s)
        legitimate_upload(w, "during-silence.bin")
        assert wait_for_ban(w, src, timeout=15), bans(w)
        assert bans(w)[src]["last_reason"] == "login-grace-exceeded"
    finally:
        for s in held:
            s.close()


def test_text_listing(w):
    r = kp.kp_ok("ban", "list", data=w.data.path)
    assert "127.0.0.33\tbanned until " in r.stdout


def test_bans_grow_and_expire(make_world):
    w2 = make_world(settings={"ban_after_failures": "2", "ban_seconds": "2", "ban_max_seconds": "60"})
    w2.serve()
    src = "127.0.0.35"

    def fail_twice():
        for _ in range(2):
            failing_login(w2.port, src, [w2.pietersen])

    fail_twice()
    assert wait_for_ban(w2, src)
    first = bans(w2)[src]
    assert first["bans"] == 1
    assert first["banned_until_ms"] - time.time() * 1000 <= 2000
    assert kp.wait_for(lambda: not bans(w2)[src]["banned"], timeout=5), "the first ban did not expire"
    fail_twice()
    assert wait_for_ban(w2, src)
    second = bans(w2)[src]
    assert second["bans"] == 2
    assert 3000 < second["banned_until_ms"] - time.time() * 1000 <= 4000, "the second ban is twice as long"


def web_login(port, source, token):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    body = urllib.parse.urlencode({"auditor": "a.audit", "token": token, "lang": "en"})  # the page is Dutch unless asked
    conn.request("POST", "/auditor/login", body=body,
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    r = conn.getresponse()
    out = r.status, r.read().decode("utf-8", "replace")
    conn.close()
    return out


def test_web_logins_from_a_banned_source_are_counted_not_recorded(w):
    src = "127.0.0.36"
    port = w.server.http_port
    for _ in range(3):
        assert web_login(port, src, "ff" * 32)[0] == 403
    assert wait_for_ban(w, src)
    before = bans(w)[src]
    since = w.data.last_audit_id()
    for _ in range(30):
        status, body = web_login(port, src, "ee" * 32)
        assert status == 403 and "Too many failed logins" in body
    after = bans(w)[src]
    assert (after["banned_until_ms"], after["bans"]) == (before["banned_until_ms"], before["bans"]), \
        "refused web logins of a banned source extended its ban"
    records = [e for e in w.data.audit(event="web.login", since_id=since) if e["source"] == src]
    assert len(records) == 1 and records[0]["reason"] == "source-banned"
    legitimate_upload(w, "during-web-flood.bin")
    w.restart()  # the counted record of the minute is written at the latest at shutdown
    records = [e for e in w.data.audit(event="web.login", since_id=since) if e["source"] == src]
    assert len(records) == 2, records
    assert records[1]["size"] == 29 and "29 more web logins refused" in records[1]["object"]
    assert bans(w)[src]["banned"], "a restart does not lift a ban"

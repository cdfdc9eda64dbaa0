"""A mandate is checked at every operation, not only at login: revoking (or
expiring) it from the CLI ends an open session's access at its very next
SFTP request, including writes to a file handle opened before.
"""

import json
import os

import pytest

import kp


@pytest.fixture
def w(make_world):
    """A world per test: each test revokes something."""
    w = make_world()
    w.serve()
    yield w
    w.close()


def denied(fn, *args):
    """The operation fails with SFTP permission denied (EACCES)."""
    try:
        fn(*args)
    except PermissionError:
        return True
    except OSError as e:
        raise AssertionError(f"want permission denied, got {e!r}") from e
    return False


def test_revoke_ends_open_session_at_next_operation(w):
    with open(os.path.join(w.data.box("GM0363", "outbox"), "r.txt"), "wb") as f:
        f.write(b"result")
    c = w.jj()
    try:
        assert "r.txt" in c.sftp.listdir("/outbox")
        kp.upload(c.sftp, "/inbox/before.bin", b"before revocation")
        before = w.data.last_audit_id()
        w.data.revoke("j.jansen", "GM0363")
        assert denied(c.sftp.listdir, "/outbox"), "listing after revoke must be denied"
        assert kp.fails(kp.download, c.sftp, "/outbox/r.txt")
        assert kp.fails(kp.upload, c.sftp, "/inbox/after.bin", b"after revocation")
        refusals = [e for e in w.data.audit(since_id=before) if e["outcome"] == "refused"]
        assert any(e["reason"] == "mandate-revoked" for e in refusals), refusals
    finally:
        c.close()
    assert "after.bin" not in os.listdir(w.data.box("GM0363", "inbox"))
    assert [u["name"] for u in w.data.uploads("GM0363")] == ["before.bin"]
    assert os.path.exists(os.path.join(w.data.box("GM0363", "outbox"), "r.txt"))


def test_revoke_stops_an_upload_in_progress(w):
    c = w.jj()
    try:
        f = c.sftp.open("/inbox/inflight.bin", "wb")
        f.write(os.urandom(65536))
        f.flush()
        w.data.revoke("j.jansen", "GM0363")
        with pytest.raises(kp.REFUSED):
            f.write(os.urandom(65536))
            kp.strict_close(c.sftp, f)
    finally:
        c.close()
    assert kp.wait_for(lambda: "inflight.bin" not in os.listdir(w.data.box("GM0363", "inbox")), timeout=5)
    assert not w.data.uploads("GM0363"), "an upload cut off by revocation is not registered"


def test_revoke_one_municipality_leaves_the_other(w):
    c363 = w.connect("d.dubbel@GM0363", w.dubbel)
    c599 = w.connect("d.dubbel@GM0599", w.dubbel)
    try:
        w.data.revoke("d.dubbel", "GM0363")
        assert denied(c363.sftp.listdir, "/outbox")
        assert sorted(c599.sftp.listdir("/")) == ["inbox", "keys", "outbox"]
        kp.upload(c599.sftp, "/inbox/still.bin", b"still mandated for GM0599")
    finally:
        c363.close()
        c599.close()
    assert [u["name"] for u in w.data.uploads("GM0599")] == ["still.bin"]


def test_expiry_mid_session(w):
    c = w.jj()
    try:
        c.sftp.listdir("/outbox")
        w.data.sql("UPDATE mandates SET valid_until_ms = ? WHERE person = 'j.jansen'", (kp.now_ms() - 1000,))
        assert denied(c.sftp.listdir, "/outbox")
    finally:
        c.close()


def test_regrant_allows_new_login(w):
    w.data.revoke("j.jansen", "GM0363")
    assert kp.login_refused(w.port, "j.jansen@GM0363", w.jansen)
    w.data.grant("j.jansen", "GM0363")
    with w.jj() as sftp:
        assert sorted(sftp.listdir("/")) == ["inbox", "keys", "outbox"]


# ------------------------------------------------------- disabled accounts

def disable(w, account):
    kp.kp_ok("account", "disable", account, data=w.data.path)


@pytest.mark.parametrize("user,ident,path", [
    ("s.staff", "staff", "/queue"),
    ("a.audit", "auditor", "/audit"),
])
def test_disabling_staff_or_auditor_ends_open_session_and_login(w, user, ident, path):
    c = w.connect(user, getattr(w, ident))
    try:
        c.sftp.listdir(path)
        before = w.data.last_audit_id()
        disable(w, user)
        assert denied(c.sftp.listdir, path), "listing after disable must be denied"
        refusals = [e for e in w.data.audit(since_id=before) if e["outcome"] == "refused"]
        assert any(e["reason"] == "account-disabled" for e in refusals), refusals
    finally:
        c.close()
    assert kp.login_refused(w.port, user, getattr(w, ident))
    logins = w.data.audit(event="auth.login", since_id=before)
    assert logins and logins[-1]["reason"] == "account-disabled"


def test_disabling_a_person_revokes_every_mandate(w):
    c = w.connect("d.dubbel@GM0599", w.dubbel)
    try:
        c.sftp.listdir("/outbox")
        disable(w, "d.dubbel")
        assert denied(c.sftp.listdir, "/outbox")
    finally:
        c.close()
    for code in ("GM0363", "GM0599"):
        assert kp.login_refused(w.port, "d.dubbel@" + code, w.dubbel)
    listed = json.loads(kp.kp_ok("mandate", "list", "--json", data=w.data.path).stdout)
    assert all(m["revoked"] for m in listed if m["person"] == "d.dubbel")
    people = json.loads(kp.kp_ok("person", "list", "--json", data=w.data.path).stdout)
    assert [p["disabled"] is not None for p in people if p["id"] == "d.dubbel"] == [True]
    # The others are untouched.
    with w.jj() as sftp:
        sftp.listdir("/outbox")


def test_disable_refusals(w):
    for account, reason in (("n.nobody", "not-found"), ("../x", "id-invalid")):
        r = kp.kp("account", "disable", account, data=w.data.path)
        assert r.returncode == 1 and reason in r.stderr, r.stderr
    disable(w, "a.audit")
    r = kp.kp("account", "disable", "a.audit", data=w.data.path)
    assert r.returncode == 1 and "already-disabled" in r.stderr
    assert [e["object"] for e in w.data.audit(event="account.disable")] == ["a.audit"]

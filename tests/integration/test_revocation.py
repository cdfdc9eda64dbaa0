"""A mandate is checked at every operation, not only at login: revoking (or
expiring) it from the CLI ends an open session's access at its very next
SFTP request, including writes to a file handle opened before.
"""

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
        assert sorted(c599.sftp.listdir("/")) == ["inbox", "outbox"]
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
        assert sorted(sftp.listdir("/")) == ["inbox", "outbox"]

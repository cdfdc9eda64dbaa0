"""Hub staff and auditors over SFTP: staff read verified packages from
`/queue`, auditors read `/audit`; neither reaches a municipality's box, and
neither can change what they read.
"""

import os

import pytest

import kp


@pytest.fixture(scope="module")
def w(make_world):
    w = make_world()
    d = w.data
    with open(os.path.join(d.path, "queue", "case-0001.age"), "wb") as f:
        f.write(b"sealed to staff")
    with open(os.path.join(d.path, "audit", "checkpoint.txt"), "wb") as f:
        f.write(b"checkpoint text")
    with open(os.path.join(d.box("GM0363", "outbox"), "amsterdam.txt"), "wb") as f:
        f.write(b"for amsterdam only")
    w.serve()
    return w


def test_staff_reads_queue(w):
    with w.connect("s.staff", w.staff) as sftp:
        assert "case-0001.age" in sftp.listdir("/queue")
        assert kp.download(sftp, "/queue/case-0001.age") == b"sealed to staff"


def test_staff_cannot_change_queue_or_reach_boxes(w):
    before = kp.tree(os.path.join(w.data.path, "queue"))
    with w.connect("s.staff", w.staff) as sftp:
        assert kp.fails(kp.upload, sftp, "/queue/new.age", b"x")
        assert kp.fails(sftp.remove, "/queue/case-0001.age")
        assert kp.fails(sftp.rename, "/queue/case-0001.age", "/queue/renamed.age")
        for p in ("/inbox", "/outbox", "/GM0363/outbox", "/../boxes/GM0363/outbox", "/audit"):
            assert kp.fails(sftp.listdir, p), p
        assert kp.fails(kp.download, sftp, "/../boxes/GM0363/outbox/amsterdam.txt")
        assert kp.fails(kp.download, sftp, "/outbox/amsterdam.txt")
    assert kp.tree(os.path.join(w.data.path, "queue")) == before


def test_auditor_reads_audit_only(w):
    with w.connect("a.audit", w.auditor) as sftp:
        assert "checkpoint.txt" in sftp.listdir("/audit")
        assert kp.download(sftp, "/audit/checkpoint.txt") == b"checkpoint text"
        assert kp.fails(kp.upload, sftp, "/audit/forged.txt", b"forged")
        assert kp.fails(sftp.remove, "/audit/checkpoint.txt")
        for p in ("/queue", "/inbox", "/outbox", "/outgoing"):
            assert kp.fails(sftp.listdir, p), p
        assert kp.fails(kp.download, sftp, "/queue/case-0001.age")
    assert os.listdir(os.path.join(w.data.path, "audit")).count("forged.txt") == 0


def test_staff_and_auditor_logins_are_audited(w):
    before = w.data.last_audit_id()
    with w.connect("s.staff", w.staff) as sftp:
        sftp.listdir("/")
    with w.connect("a.audit", w.auditor) as sftp:
        sftp.listdir("/")
    rows = w.data.audit(event="auth.login", outcome="success", since_id=before)
    roles = {r["role"] for r in rows}
    assert {"staff", "auditor"} <= roles, rows

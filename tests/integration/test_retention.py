"""Retention: the sweeper deletes what was kept long enough, audits each
deletion, and never touches what is still needed.

A World with one intake worker and a sweep every second; periods start at an
hour, and each test shortens the one it watches in the live settings file
(the worker reads it at every sweep). So every item is first seen waiting in
`knooppunt retention show`, then goes:

- an accepted upload's original leaves the inbox (its case, queue file and
  receipt stay); the transfer log gains `retention.deleted` and still
  verifies;
- a rejected upload leaves quarantine;
- an acknowledged receipt leaves the archive with its signature, and the
  hub's stored copy goes with it;
- a closed or declined case's package leaves the queue;
- never: an upload not processed, a case queued or taken, an outbox item not
  acknowledged, an item not yet due (a second world without workers, swept
  by `knooppunt retention sweep`).
"""

import json
import os
import time

import pytest

import kp
from test_intake import Intake

MUNI = "GM0363"
HOUR = "1h"
GONE_TIMEOUT = 45  # seconds; a sweep runs every second, the machines are shared

LONG = {
    "retention_inbox": HOUR,
    "retention_quarantine": HOUR,
    "retention_queue": HOUR,
    "retention_outbox": HOUR,
    "retention_receipts": HOUR,
}


@pytest.fixture(scope="module")
def ret(make_world):
    w = make_world(settings={"workers": "1", "retention_sweep_interval": "1s", **LONG})
    w.serve()
    return Intake(w)


@pytest.fixture
def periods(ret):
    """Sets periods in the live settings file; every one goes back to an hour after the test."""
    def set_(**kv):
        for k, v in kv.items():
            ret.data.set(k, v)
    yield set_
    for k, v in LONG.items():
        ret.data.set(k, v)


def show(data):
    r = kp.kp_ok("retention", "show", "--json", data=data.path)
    return json.loads(r.stdout)


def listed(data, kind, obj):
    return [i for i in show(data)["items"] if i["kind"] == kind and i["object"] == obj]


def wait_gone(path, it, timeout=GONE_TIMEOUT):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not os.path.exists(path):
            return
        time.sleep(0.1)
    raise AssertionError(f"{path} still there after {timeout}s\n--- serve log tail:\n"
                         + it.w.server.log_text()[-3000:])


def deletions(data, obj_prefix):
    return [e for e in data.audit(event="retention.deleted") if (e["object"] or "").startswith(obj_prefix)]


def audit_verifies(data):
    r = kp.kp("audit", "verify", data=data.path)
    assert r.returncode == 0, r.stderr
    return r.stdout


def inbox(it, name):
    return os.path.join(it.data.box(MUNI, "inbox"), name)


def archive(it, name):
    return os.path.join(it.data.box(MUNI, "archive"), name)


def queue_path(it, case):
    return os.path.join(it.data.path, "queue", case["queue_name"])


# ---------------------------------------------------------------- what goes

def test_accepted_original_is_listed_then_leaves_the_inbox(ret, periods):
    it = ret
    it.upload({"ret-accept.age": it.valid()})
    [row] = it.wait("ret-accept.age")
    assert row["state"] == "accepted", row
    case = it.case_of(row)

    [item] = listed(it.data, "inbox", "ret-accept.age")
    assert item["municipality"] == MUNI and item["clock"] == "accepted"
    assert item["clock_start_ms"] == row["processed_ms"]
    assert item["due_ms"] == row["processed_ms"] + 3600 * 1000 and not item["overdue"]
    assert f"boxes/{MUNI}/inbox/ret-accept.age" in item["files"]
    text = kp.kp_ok("retention", "show", data=it.data.path).stdout
    assert "ret-accept.age" in text and "retention_inbox" in text
    sweep(it.w)  # a sweep by hand, done when it returns: not due yet, so it stays
    assert os.path.exists(inbox(it, "ret-accept.age"))
    assert not deletions(it.data, f"upload/{row['id']} ")

    periods(retention_inbox="1s")
    wait_gone(inbox(it, "ret-accept.age"), it)
    [event] = deletions(it.data, f"upload/{row['id']} ")
    assert event["object"] == f"upload/{row['id']} ret-accept.age"
    assert event["actor"] == "retention-sweeper" and event["role"] == "system"
    assert event["outcome"] == "success" and event["municipality"] == MUNI
    assert event["reason"] == "retention_inbox=1s" and event["sha256"] == row["sha256"]
    assert "verified" in audit_verifies(it.data)
    # Only the original went: the row, the queued case and the receipt stay.
    assert it.row("ret-accept.age")["state"] == "accepted"
    assert os.path.exists(queue_path(it, case))
    assert os.path.exists(it.outbox("ret-accept.age.receipt.json"))
    assert not listed(it.data, "inbox", "ret-accept.age")
    # The name stays used: a new upload under it is still refused.
    with kp.connect(it.w.port, "j.jansen@GM0363", it.sender) as sftp:
        with pytest.raises(IOError):
            kp.upload(sftp, "/inbox/ret-accept.age", it.valid())


def test_rejected_upload_leaves_quarantine(ret, periods):
    it = ret
    it.upload({"ret-bad.age": b"this is not an age file\n" * 10})
    [row] = it.wait("ret-bad.age")
    assert row["state"] == "rejected", row
    q = it.quarantine_path(row)
    assert os.path.exists(q)
    [item] = listed(it.data, "quarantine", "ret-bad.age")
    assert item["clock"] == "rejected"
    assert item["files"] == [f"quarantine/{MUNI}-{row['id']}-ret-bad.age"]

    periods(retention_quarantine="1s")
    wait_gone(q, it)
    assert len(deletions(it.data, f"upload/{row['id']} ")) == 1
    assert os.path.exists(it.outbox("ret-bad.age.receipt.json"))  # not acknowledged
    audit_verifies(it.data)


def test_acknowledged_receipt_leaves_the_archive(ret, periods):
    it = ret
    it.upload({"ret-ack.age": it.valid()})
    [row] = it.wait("ret-ack.age")
    with kp.connect(it.w.port, "j.jansen@GM0363", it.sender) as sftp:
        sftp.remove("/outbox/ret-ack.age.receipt.json")
        sftp.remove("/outbox/ret-ack.age.receipt.json.minisig")
    assert os.path.exists(archive(it, "ret-ack.age.receipt.json"))
    assert os.path.exists(archive(it, "ret-ack.age.receipt.json.minisig"))
    [item] = listed(it.data, "receipt", "ret-ack.age.receipt.json")
    assert item["clock"] == "acknowledged"
    assert it.data.sql("SELECT 1 FROM receipts WHERE upload_id = ?", (row["id"],))

    periods(retention_receipts="1s")
    wait_gone(archive(it, "ret-ack.age.receipt.json"), it)
    wait_gone(archive(it, "ret-ack.age.receipt.json.minisig"), it)
    # The hub's stored copy is gone; the outbox item row remains, marked acknowledged.
    assert not it.data.sql("SELECT 1 FROM receipts WHERE upload_id = ?", (row["id"],))
    [ob] = it.data.sql("SELECT * FROM outbox_items WHERE upload_id = ? AND kind = 'receipt'", (row["id"],))
    assert ob["acknowledged_ms"] and ob["body"] is None
    [event] = [e for e in it.data.audit(event="retention.deleted")
               if e["object"] == f"outbox/{ob['id']} ret-ack.age.receipt.json"]
    assert event["reason"] == "retention_receipts=1s"
    audit_verifies(it.data)
    # The worker never writes the receipt again after a restart.
    it.w.restart()
    # A worker logs worker.started after its start-up pass (placing outputs, a sweep).
    assert kp.wait_for(lambda: "event=worker.started" in it.w.server.log_text(), timeout=GONE_TIMEOUT)
    assert not os.path.exists(it.outbox("ret-ack.age.receipt.json"))
    assert not os.path.exists(archive(it, "ret-ack.age.receipt.json"))


@pytest.mark.parametrize("decision", ["closed", "declined"])
def test_closed_or_declined_case_leaves_the_queue(ret, periods, decision):
    it = ret
    name = f"ret-{decision}.age"
    it.upload({name: it.valid()})
    [row] = it.wait(name)
    case = it.case_of(row)
    assert not listed(it.data, "queue", case["id"])  # queued: no clock
    # The lead's `queue close/decline` sets these; the sweeper reads only the row.
    it.data.sql("UPDATE cases SET state = ?, state_ms = ?, state_by = 's.staff' WHERE id = ?",
                (decision, kp.now_ms(), case["id"]))
    [item] = listed(it.data, "queue", case["id"])
    assert item["clock"] == decision and item["file"] == case["queue_name"]
    periods(retention_queue="1s")
    wait_gone(queue_path(it, case), it)
    [event] = deletions(it.data, f"case/{case['id']} ")
    assert event["reason"] == "retention_queue=1s"
    audit_verifies(it.data)


# ---------------------------------------------------------------- what stays

def test_queued_taken_and_unacknowledged_items_stay_with_every_period_short(ret, periods):
    it = ret
    it.upload({"ret-keep1.age": it.valid(), "ret-keep2.age": it.valid()})
    rows = it.wait("ret-keep1.age", "ret-keep2.age")
    queued, taken = (it.case_of(r) for r in rows)
    long_ago = kp.now_ms() - 400 * kp.DAY_MS
    it.data.sql("UPDATE cases SET state = 'taken', state_ms = ?, taken_ms = ? WHERE id = ?",
                (long_ago, long_ago, taken["id"]))
    mark = it.data.last_audit_id()
    periods(**{k: "1s" for k in LONG})
    wait_gone(inbox(it, "ret-keep1.age"), it)  # proof that sweeps ran with the short periods
    wait_gone(inbox(it, "ret-keep2.age"), it)
    sweep(it.w)  # one more, done when it returns
    assert os.path.exists(queue_path(it, queued))
    assert os.path.exists(queue_path(it, taken))
    for r in rows:
        assert os.path.exists(it.outbox(r["name"] + ".receipt.json"))
        assert os.path.exists(it.outbox(r["name"] + ".receipt.json.minisig"))
    gone = [e["object"] for e in it.data.audit(event="retention.deleted", since_id=mark)]
    assert not [o for o in gone if o.startswith(("case/", "outbox/"))], gone


@pytest.fixture(scope="module")
def idle(make_world):
    """A world without workers: uploads stay unprocessed, sweeps run by hand."""
    w = make_world(settings={"retention_inbox": HOUR})
    w.serve()
    return w


def upload_plain(w, name):
    with w.jj() as sftp:
        kp.upload(sftp, "/inbox/" + name, b"sealed bytes " + name.encode())
    [row] = w.data.sql("SELECT * FROM uploads WHERE municipality = ? AND name = ?", (MUNI, name))
    return row


def sweep(w):
    r = kp.kp_ok("retention", "sweep", "--json", data=w.data.path)
    return json.loads(r.stdout)


def test_an_unprocessed_upload_is_never_deleted(idle):
    w = idle
    row = upload_plain(w, "never-processed.age")
    # Even with a verdict time set long ago, "received" starts no clock.
    w.data.sql("UPDATE uploads SET processed_ms = 1 WHERE id = ?", (row["id"],))
    w.data.set("retention_inbox", "1s")
    try:
        assert sweep(w)["deleted"] == 0
        assert os.path.exists(os.path.join(w.data.box(MUNI, "inbox"), "never-processed.age"))
        assert not [i for i in show(w.data)["items"] if i["object"] == "never-processed.age"]
    finally:
        w.data.set("retention_inbox", HOUR)


def test_a_not_yet_due_item_stays_and_goes_once_due(idle):
    w = idle
    row = upload_plain(w, "due-later.age")
    path = os.path.join(w.data.box(MUNI, "inbox"), "due-later.age")
    now = kp.now_ms()
    # A verdict as the worker records it (this world runs none).
    w.data.sql("UPDATE uploads SET state = 'accepted', processed_ms = ? WHERE id = ?", (now, row["id"]))
    assert sweep(w)["deleted"] == 0
    assert os.path.exists(path)
    [item] = [i for i in show(w.data)["items"] if i["object"] == "due-later.age"]
    assert item["due_ms"] == now + 3600 * 1000 and not item["overdue"]

    w.data.sql("UPDATE uploads SET processed_ms = ? WHERE id = ?", (now - 2 * 3600 * 1000, row["id"]))
    [item] = [i for i in show(w.data)["items"] if i["object"] == "due-later.age"]
    assert item["overdue"]
    report = sweep(w)
    assert report["deleted"] == 1 and report["failed"] == 0
    assert not os.path.exists(path)
    assert sweep(w)["deleted"] == 0  # idempotent: audited once
    [event] = [e for e in w.data.audit(event="retention.deleted") if e["object"] == f"upload/{row['id']} due-later.age"]
    assert event["channel"] == "cli"
    audit_verifies(w.data)


def test_show_and_sweep_refuse_bad_settings_and_usage(idle):
    w = idle
    r = kp.kp("retention", "show", "--bogus", data=w.data.path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert kp.kp("retention", "sweep", "--help").returncode == 0
    w.data.set("retention_queue", "ninety days")
    try:
        for cmd in ("show", "sweep"):
            r = kp.kp("retention", cmd, data=w.data.path)
            assert r.returncode == 1
            assert "settings-bad-value" in r.stderr and "retention_queue" in r.stderr
    finally:
        w.data.set("retention_queue", HOUR)
    text = kp.kp_ok("retention", "show", data=w.data.path).stdout
    assert "retention_audit_log" in text and "never deleted" in text
    log = show(w.data)
    [audit_period] = [p for p in log["periods"] if p["kind"] == "audit_log"]
    assert audit_period["deleted_by_sweeper"] is False and audit_period["value"] == "1827d"
    assert log["audit_log"]["records"] >= 1

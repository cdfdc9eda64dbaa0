"""Notifications end to end: `knooppunt serve` with a worker whose sender
thread mails a real SMTP server on loopback (tests/support/smtp_sink.py).

There is no command yet that publishes into an outbox (the hub's publisher
does, calling store::enqueue_notifications in its transaction), so these
tests write the outbox item and its queued notification rows into the store
as that transaction would, and check what the running worker does with them.
"""

import os
import subprocess
import time

import kp

SINK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support", "smtp_sink.py")


class Sink:
    def __init__(self, folder, port=0, *extra):
        self.folder = folder
        port_file = os.path.join(folder, "port")
        os.makedirs(folder, exist_ok=True)
        if os.path.exists(port_file):
            os.unlink(port_file)
        self.proc = subprocess.Popen(["/usr/bin/python3", SINK, "--dir", folder, "--port", str(port),
                                      "--port-file", port_file, *extra],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while not os.path.exists(port_file):
            assert time.time() < deadline, "smtp_sink did not start"
            time.sleep(0.05)
        self.port = int(open(port_file).read())

    def messages(self):
        names = sorted(n for n in os.listdir(self.folder) if n.endswith(".eml"))
        return [open(os.path.join(self.folder, n), encoding="utf-8", errors="replace").read() for n in names]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def publish(data, code, name, kind, account):
    """Writes a placed outbox item and one pending notification for `account`."""
    now = kp.now_ms()
    data.sql("INSERT INTO outbox_items(municipality, name, kind, created_ms, placed_ms) VALUES (?,?,?,?,?)",
             (code, name, kind, now, now))
    item = data.sql("SELECT id FROM outbox_items WHERE municipality = ? AND name = ?", (code, name))[0]["id"]
    data.sql("INSERT INTO notifications(outbox_item, municipality, account, next_attempt_ms, created_ms) "
             "VALUES (?,?,?,?,?)", (item, code, account, now, now))
    return item


def wait_for(predicate, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return predicate()


def test_down_mail_server_delays_the_mail_then_it_arrives(make_world, keys, tmp_path):
    port = kp.free_port()
    w = make_world(settings={"workers": "1", "smtp_host": "127.0.0.1", "smtp_port": str(port),
                             "smtp_starttls": "no", "smtp_sender": "knooppunt@hub.test",
                             "notify_retry_seconds": "1", "notify_retry_max_seconds": "1"})
    mailer = keys("m.mail")
    w.data.person(mailer, email="m.mail@gemeente.test")
    w.data.grant("m.mail", "GM0363")
    w.serve()
    item = publish(w.data, "GM0363", "KP-2026-000001-request.age", "request", "m.mail")

    # No server yet: the attempt fails, is audited, and the row waits.
    failed = wait_for(lambda: w.data.audit("notify.attempt", outcome="failed"))
    assert failed and failed[0]["reason"] == "smtp-connect-failed"
    assert failed[0]["object"] == f"outbox/{item} KP-2026-000001-request.age to m.mail"
    assert "@" not in failed[0]["object"]

    sink = Sink(str(tmp_path / "mail"), port)
    try:
        mails = wait_for(sink.messages)
        assert len(mails) == 1
        m = mails[0]
        assert "X-Sink-Rcpt-To: m.mail@gemeente.test" in m
        assert "Subject: [knooppunt] Nieuw in uw outbox / New in your outbox: GM0363" in m
        assert "KP-2026-000001-request.age" in m
        ok = wait_for(lambda: w.data.audit("notify.attempt", outcome="success"))
        assert len(ok) == 1
        row = w.data.sql("SELECT state, attempts FROM notifications WHERE outbox_item = ?", (item,))[0]
        assert row["state"] == "sent" and row["attempts"] >= 2
    finally:
        sink.stop()

"""Crash soak: packages stream in from several SFTP sessions while random
product processes (the listener, session processes, workers and their parser
children) are killed with SIGKILL, for a bounded time, `serve` restarted
whenever it died. Then, with the killing over: every upload a client saw
acknowledged has exactly one verdict and one signed receipt, every upload row
has its verdict, /queue holds no case twice and every queued head has its
payload, no partial file is visible in any inbox or outbox, and `audit verify`
passes.

Bounded: KP_SOAK_SECONDS of killing (default 30), three uploaders, one kill
every 0.3 to 1.2 s.
"""

import os
import random
import signal
import threading
import time

import pytest

import kp
from test_intake import Intake

SOAK_SECONDS = float(os.environ.get("KP_SOAK_SECONDS", "30"))
UPLOADERS = 3
SETTLE_TIMEOUT = 180


@pytest.fixture(scope="module")
def it(make_world):
    w = make_world(settings={"workers": "2", "intake_retry": "1s", "intake_retry_max": "2s"})
    w.serve()
    return Intake(w)


def descendants(pid):
    """The pids below `pid` (children, grandchildren...), from /proc."""
    parent_of = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parent_of[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    out, frontier = [], [pid]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parent_of.items() if pp == p]
        out += kids
        frontier += kids
    return out


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_sigkill_soak_loses_nothing_and_doubles_nothing(it):
    w = it.w
    rng = random.Random(11)
    stop = threading.Event()
    acknowledged, lock = [], threading.Lock()
    kills = {"listener": 0, "descendant": 0, "restarts": 0}

    def uploader(n):
        k = 0
        while not stop.is_set():
            k += 1
            name = f"soak-{n}-{k}.age"
            data = it.valid()
            try:
                with kp.connect(w.port, "j.jansen@GM0363", it.sender) as sftp:
                    kp.upload(sftp, "/inbox/" + name, data, chunk=1 << 15)
                with lock:
                    acknowledged.append(name)
            except Exception:  # killed under it: not acknowledged, may or may not exist
                time.sleep(0.1)

    threads = [threading.Thread(target=uploader, args=(n,), daemon=True) for n in range(UPLOADERS)]
    for t in threads:
        t.start()
    deadline = time.time() + SOAK_SECONDS
    try:
        while time.time() < deadline:
            time.sleep(rng.uniform(0.3, 1.2))
            listener = w.server.proc.pid
            if not alive(listener):
                w.server.stop()
                w.serve()
                kills["restarts"] += 1
                continue
            targets = descendants(listener)
            if not targets or rng.random() < 0.15:
                os.kill(listener, signal.SIGKILL)
                kills["listener"] += 1
            else:
                try:
                    os.kill(rng.choice(targets), signal.SIGKILL)
                    kills["descendant"] += 1
                except ProcessLookupError:
                    pass
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    # The killing is over: a server that runs, and every upload settled.
    if not alive(w.server.proc.pid) or not w.server._connectable():
        w.server.stop()
        w.serve()
    print("soak: %d acknowledged, kills %s" % (len(acknowledged), kills))
    assert len(acknowledged) >= 10 and kills["listener"] + kills["descendant"] >= 10, (acknowledged, kills)

    def pending():
        return it.data.sql("SELECT count(*) AS n FROM uploads WHERE state NOT IN ('accepted', 'rejected')")[0]["n"]

    assert kp.wait_for(lambda: pending() == 0 and all(it.settled(n) for n in acknowledged), timeout=SETTLE_TIMEOUT,
                       interval=0.5), (pending(), w.server.log_text()[-3000:])

    rows = it.data.sql("SELECT * FROM uploads WHERE municipality = 'GM0363'")
    by_name = {}
    for r in rows:
        by_name.setdefault(r["name"], []).append(r)
    # Exactly one verdict and one receipt per acknowledged upload (and per row).
    for name in acknowledged:
        assert len(by_name.get(name, [])) == 1, name
    outbox = it.data.box("GM0363", "outbox")
    for name, [row] in by_name.items():
        assert row["state"] in ("accepted", "rejected"), row
        assert os.path.exists(os.path.join(outbox, name + ".receipt.json")), name
        assert os.path.exists(os.path.join(outbox, name + ".receipt.json.minisig")), name
    receipts = it.data.sql("SELECT upload_id, count(*) AS n FROM receipts GROUP BY upload_id HAVING n > 1")
    assert not receipts
    # No case twice in /queue; every head with its payload.
    cases = it.data.sql("SELECT * FROM cases")
    assert len({c["upload_id"] for c in cases}) == len(cases)
    accepted = [r for [r] in by_name.values() if r["state"] == "accepted"]
    assert len(cases) == len(accepted)
    queue = os.path.join(it.data.path, "queue")
    heads = sorted(n for n in os.listdir(queue) if not n.startswith("."))
    assert heads == sorted(c["queue_name"] for c in cases)
    for h in heads:
        assert os.path.exists(os.path.join(queue, ".payload", h)), h
    # No partial file visible: the inbox holds only uploads with a row, the
    # outbox only receipts (and their signatures) of rows.
    inbox = it.data.box("GM0363", "inbox")
    for n in os.listdir(inbox):
        assert n in by_name, "inbox file without a row: " + n
    for n in os.listdir(outbox):
        base = n.split(".receipt.", 1)[0]
        assert ".receipt." in n and base in by_name, "unexpected outbox file: " + n
    r = kp.kp("audit", "verify", data=it.data.path)
    assert r.returncode == 0, r.stdout + r.stderr

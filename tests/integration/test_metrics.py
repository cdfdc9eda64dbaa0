"""/healthz and /metrics as an operator's monitoring reads them.

- A healthy gateway after some traffic (packages through an intake worker,
  an open SFTP session): /healthz (and /health) answer 200 "ok"; /metrics
  passes Debian's `promtool check metrics` (HELP and TYPE lines, counters
  named _total, base units) and says what happened: uploads per
  municipality code (never a person), the receipt latency histogram, the
  open session, the worker, the disk.
- An unhealthy one: the disk threshold above the free space, no staff
  recipient, transfer-log records without a checkpoint: /healthz answers
  503 naming exactly those checks, one "check: sentence" line each, and
  `serve` warns about the missing staff recipient at start and again every
  staff_warning_interval until one is registered; a crash-looping worker
  fails the workers check.
- serve's counts reach the sandboxed HTTP process only through its monitor.
"""

import os
import re
import subprocess
import time
import urllib.error
import urllib.request

import pytest

import kp
from test_http_sandbox import sandboxed_pid
from test_intake import Intake


def get(port, path):
    """(status, body) of GET http://127.0.0.1:PORT/PATH; 4xx and 5xx too."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def samples(text):
    """{'name{labels}': float} of the exposition text's sample lines."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def warnings_in(server):
    return server.log_text().count("event=serve.no_staff_recipient")


@pytest.fixture(scope="module")
def healthy(make_world):
    w = make_world(settings={"workers": "1", "health_min_free_bytes": "1"})
    w.serve()
    it = Intake(w)
    it.upload({"m-1.age": it.valid(), "m-2.age": it.valid()})
    rows = it.wait("m-1.age", "m-2.age")
    assert [r["state"] for r in rows] == ["accepted", "accepted"]
    return w


def test_healthy_gateway_answers_ok(healthy):
    # The worker signs a checkpoint within seconds of the verdicts: no check fails.
    assert kp.wait_for(lambda: get(healthy.server.http_port, "/healthz") == (200, "ok\n"), timeout=30), \
        get(healthy.server.http_port, "/healthz")
    assert get(healthy.server.http_port, "/health") == (200, "ok\n")
    with urllib.request.urlopen(f"http://127.0.0.1:{healthy.server.http_port}/healthz", timeout=10) as r:
        assert r.reason == "OK"


def test_metrics_pass_promtool_and_tell_what_happened(healthy):
    port = healthy.server.http_port
    with healthy.jj():  # one open, authenticated SFTP session while scraping
        assert kp.wait_for(lambda: samples(get(port, "/metrics")[1]).get("knooppunt_ssh_sessions") == 1, timeout=10)
        status, text = get(port, "/metrics")
    assert status == 200
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"promtool: {r.stdout}{r.stderr}\n{text}"
    assert r.stdout.strip() == "" and r.stderr.strip() == "", r.stdout + r.stderr  # no lint findings either
    m = samples(text)
    assert m['knooppunt_uploads_total{municipality="GM0363"}'] == 2
    assert m['knooppunt_uploads_total{municipality="GM0599"}'] == 0
    assert m['knooppunt_intake_queue_depth{municipality="GM0363"}'] == 0
    assert m["knooppunt_intake_oldest_waiting_seconds"] == 0
    assert m["knooppunt_receipt_latency_seconds_count"] == 2
    assert m['knooppunt_receipt_latency_seconds_bucket{le="+Inf"}'] == 2
    assert 0 < m["knooppunt_receipt_latency_seconds_sum"] < 120
    assert m['knooppunt_cases_open{state="queued"}'] == 2
    assert m["knooppunt_ssh_sessions"] == 1 and m["knooppunt_ssh_connections"] >= 1
    assert m["knooppunt_workers_expected"] == 1 and m["knooppunt_workers_running"] == 1
    assert m["knooppunt_staff_recipients"] == 1
    assert m["knooppunt_checkpoint_age_seconds"] >= 0
    assert m["knooppunt_logins_total"] >= 2
    st = os.statvfs(healthy.data.path)
    assert abs(m["knooppunt_disk_free_bytes"] - st.f_bavail * st.f_frsize) < 1 << 30
    assert all(m[f'knooppunt_health_check{{check="{c}"}}'] == 1
               for c in ("database", "disk", "workers", "staff", "checkpoint"))
    # Every family announced with HELP and TYPE; labels are codes, checks and states, never a person.
    for name in {re.split(r"[{ ]", line)[0] for line in text.splitlines() if line and not line.startswith("#")}:
        family = re.sub(r"_(bucket|sum|count)$", "", name) if "receipt_latency" in name else name
        assert f"# HELP {family} " in text and f"# TYPE {family} " in text, name
    labels = set(re.findall(r'(\w+)="', text))
    assert labels <= {"municipality", "le", "state", "check"}, labels
    for person in ("j.jansen", "s.staff", "a.audit"):
        assert person not in text


def test_serve_counts_reach_the_http_process_only_through_its_monitor(healthy):
    """serve's shared page of counts (gateway/serve_status.h) is mapped in
    the monitor, which answers the status request, and not in the
    sandboxed HTTP process."""
    pid, monitor = sandboxed_pid(healthy.server)

    def shared_anonymous(p):
        with open(f"/proc/{p}/maps") as f:
            return [line for line in f if "/dev/zero" in line]

    assert shared_anonymous(monitor)
    assert not shared_anonymous(pid)


def test_unhealthy_gateway_names_each_failing_check(make_world, keys):
    # No worker (so no checkpoint), no staff recipient, a disk threshold no
    # disk meets, and short periods for the checkpoint age and the warning.
    w = make_world(settings={"health_min_free_bytes": str(1 << 60), "health_checkpoint_max_age": "1s",
                             "staff_warning_interval": "1s"})
    kp.kp_ok("account", "disable", "s.staff", data=w.data.path)
    s = w.serve()
    # The warning at start, before any client came.
    assert kp.wait_for(lambda: warnings_in(s) >= 1, timeout=5), s.log_text()
    with w.jj():  # a login: transfer-log records that no checkpoint covers
        pass

    def failing():
        status, body = get(s.http_port, "/healthz")
        assert status in (200, 503), (status, body)
        return status, [line.split(":", 1)[0] for line in body.splitlines()], body

    assert kp.wait_for(lambda: failing()[1] == ["disk", "staff", "checkpoint"], timeout=15), failing()
    status, _, body = failing()
    assert status == 503
    assert "below health_min_free_bytes" in body
    assert "no staff member with an age recipient" in body
    assert "waited" in body and "health_checkpoint_max_age (1s)" in body
    assert get(s.http_port, "/health")[0] == 503
    m = samples(get(s.http_port, "/metrics")[1])
    assert m['knooppunt_health_check{check="staff"}'] == 0 and m['knooppunt_health_check{check="database"}'] == 1
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"http://127.0.0.1:{s.http_port}/healthz", timeout=10)
    assert e.value.code == 503 and e.value.reason == "Service Unavailable"
    # Repeated while no staff recipient exists ...
    assert kp.wait_for(lambda: warnings_in(s) >= 2, timeout=10), s.log_text()
    # ... and no more once one is registered; /healthz drops the staff line.
    w.data.staff(keys("s.staff2"))
    assert kp.wait_for(lambda: failing()[1] == ["disk", "checkpoint"], timeout=10), failing()
    seen = warnings_in(s)
    time.sleep(2.5)  # more than two warning intervals
    assert warnings_in(s) == seen


def test_crash_looping_worker_fails_the_workers_check(make_world):
    # A worker that cannot load the hub's signing key exits at once; serve
    # restarts it (at most once a second), which /healthz calls a crash loop
    # once there are more restarts within a minute than workers.
    w = make_world(settings={"workers": "1"})
    key = os.path.join(w.data.path, "keys", "hub.minisign.key")
    os.rename(key, key + ".away")
    s = w.serve()

    def answer():
        status, body = get(s.http_port, "/healthz")
        return status, [line.split(":", 1)[0] for line in body.splitlines()], body

    assert kp.wait_for(lambda: answer()[:2] == (503, ["workers"]), timeout=20), (answer(), s.log_text()[-2000:])
    assert "intake worker restarts in the last minute" in answer()[2]
    m = samples(get(s.http_port, "/metrics")[1])
    assert m["knooppunt_worker_restarts_total"] >= 2
    assert m['knooppunt_health_check{check="workers"}'] == 0

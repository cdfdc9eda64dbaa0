"""The hub's side, end to end with real clients: the ranked queue, staff
decisions, enrichment requests and SIPs back to the municipality's outbox.

A municipality uploads a signal (OpenSSH sftp); staff list and download it
from /queue and open it with their own age identity; `queue take`; staff
upload a sealed enrichment request to /outgoing (paramiko), which a worker
signs with the hub key and seals to the municipality's recipient; the
municipality answers with an enrichment-response that joins the case;
`sip publish` sends the SIP; the municipality opens it with stock age and
minisign (and `knooppunt open`); one flipped byte fails verification;
`queue close`. Negative: another municipality's case, an unknown case, a
bad signature, a submission sealed to the wrong recipient, a municipality
without a recipient, reserved names, capacity, closing without a SIP.
"""

import io
import json
import os
import subprocess
import tarfile
import time

import pytest

import intake_packages as ip
import kp

MUNI = "GM0363"
TIMEOUT = 90


def hub_manifest(fmt, case, municipality, submitted_by, files, **extra):
    m = {
        "format": fmt,
        "case": case,
        "municipality": municipality,
        "submitted_by": submitted_by,
        "created": "2026-11-22T12:00:00Z",
        "files": [{"name": n, "size": len(d), "sha256": ip.sha256_hex(d)} for n, d in files.items()],
    }
    m.update(extra)
    return ip.manifest_bytes(m)


class Hub:
    def __init__(self, world):
        self.w = world
        self.data = world.data
        shown = json.loads(kp.kp_ok("keys", "show", "--json", data=self.data.path).stdout)
        self.gateway = shown["intake_recipient"]
        self.hub_pub = os.path.join(self.data.path, "keys", "hub.minisign.pub")
        self.n = 0

    def kp(self, *args):
        return kp.kp(*args, data=self.data.path)

    # -- municipality side
    def signal(self, person, login, **fields):
        """Uploads a valid signal with OpenSSH sftp; returns the upload name."""
        self.n += 1
        name = f"signal-{self.n}-{time.time_ns()}.age"
        files = {"files/rapport.pdf": b"%PDF-1.4 evidence " + os.urandom(64)}
        municipality = login.split("@")[1]
        submitted = login.split("@")[0]
        tar = ip.signed_tar(files, person.sign_sec, municipality=municipality, submitted_by=submitted, **fields)
        local = os.path.join(self.data.path, "..", name)
        with open(local, "wb") as f:
            f.write(ip.age_seal(tar, self.gateway))
        r = kp.run(kp.ssh_argv("sftp", self.w.port, login, person, "-b", "-", "127.0.0.1"),
                   input=f"put {local} /inbox/{name}\n")
        assert r.returncode == 0, r.stderr
        return name

    def receipt(self, folder, name):
        path = os.path.join(folder, name + ".receipt.json")
        assert kp.wait_for(lambda: os.path.exists(path) and os.path.exists(path + ".minisig"), timeout=TIMEOUT), \
            f"no receipt for {name}\n" + self.w.server.log_text()[-3000:]
        r = kp.run(["minisign", "-V", "-q", "-p", self.hub_pub, "-m", path])
        assert r.returncode == 0, r.stderr
        with open(path) as f:
            return json.load(f)

    def outbox(self, code=MUNI):
        return self.data.box(code, "outbox")

    def case(self, name, code=MUNI):
        rec = self.receipt(self.outbox(code), name)
        assert rec["verdict"] == "accepted", rec
        return rec["case_id"]

    # -- staff side
    def staff_upload(self, name, sealed):
        with self.w.connect("s.staff", self.w.staff) as sftp:
            kp.upload(sftp, "/outgoing/" + name, sealed)

    def staff_package(self, fmt, case, municipality, files=None, signer=None, recipient=None, **extra):
        files = files if files is not None else {"files/vraag.txt": b"welke declaraties? " + os.urandom(8)}
        text = {"title": "SIP"} if fmt == "knooppunt-sip/1" else {"question": "Graag de declaraties van mei."}
        text.update(extra)
        mb = hub_manifest(fmt, case, municipality, "s.staff", files, **text)
        entries = ip.package_entries(files, signer or self.w.staff.sign_sec, manifest_override=mb)
        return ip.age_seal(ip.tar_bytes(entries), recipient or self.gateway)

    def submit(self, fmt, case, municipality, **kw):
        self.n += 1
        name = f"staff-{self.n}-{time.time_ns()}.age"
        self.staff_upload(name, self.staff_package(fmt, case, municipality, **kw))
        return self.receipt(os.path.join(self.data.path, "outgoing"), name)

    def queue(self):
        return {c["case_id"]: c for c in json.loads(self.kp("queue", "list", "--json").stdout)}


@pytest.fixture(scope="module")
def hub(make_world):
    w = make_world(settings={"workers": "1", "case_capacity_per_year": "3"})
    w.serve()
    return Hub(w)


def open_with_stock_tools(hub, sealed_path, identity, tmp_path):
    """age -d | tar x, minisign -V on the manifest, sha256 of every file."""
    rc, plain, err = ip.age_open(open(sealed_path, "rb").read(), identity)
    assert rc == 0, err
    out = tmp_path / ("opened-" + os.path.basename(sealed_path))
    out.mkdir()
    with tarfile.open(fileobj=io.BytesIO(plain)) as t:
        t.extractall(out)
    r = kp.run(["minisign", "-V", "-q", "-p", hub.hub_pub, "-m", str(out / "manifest.json")])
    assert r.returncode == 0, r.stderr
    m = json.loads((out / "manifest.json").read_text())
    for f in m["files"]:
        assert kp.sha256_file(str(out / f["name"])) == f["sha256"]
    return m


def test_staff_download_is_the_upload_rewrapped(hub, tmp_path):
    """A queued package is the upload's own payload behind a new header
    (workers/queue_pair.h): what staff download with OpenSSH sftp opens with
    stock `age -d` and the staff identity, not with the gateway's intake
    identity, and its payload bytes are the uploaded payload bytes. Reads
    at any offset, across the seam between header and payload, agree."""
    w = hub.w
    name = hub.signal(w.jansen, "j.jansen@GM0363")
    case = hub.case(name)
    qfile = hub.queue()[case]["queue_file"]
    local = tmp_path / "dl.age"
    r = kp.run(kp.ssh_argv("sftp", w.port, "s.staff", w.staff, "-b", "-", "127.0.0.1"),
               input=f"get /queue/{qfile} {local}\n")
    assert r.returncode == 0, r.stderr
    got = local.read_bytes()
    uploaded = open(os.path.join(hub.data.box(MUNI, "inbox"), name), "rb").read()
    assert got[ip.payload_offset(got):] == uploaded[ip.payload_offset(uploaded):]
    assert got[:ip.header_end(got)] != uploaded[:ip.header_end(uploaded)]
    rc, plain, err = ip.age_open(got, w.staff.age_key)
    assert rc == 0, err
    with tarfile.open(fileobj=io.BytesIO(plain)) as t:
        assert "files/rapport.pdf" in t.getnames()
    rc, _, _ = ip.age_open(got, os.path.join(hub.data.path, "keys", "intake.age"))
    assert rc != 0, "the queue entry must be sealed to staff only"
    seam = ip.header_end(got)
    with w.connect("s.staff", w.staff) as sftp:
        assert sftp.stat("/queue/" + qfile).st_size == len(got)
        assert [a.st_size for a in sftp.listdir_attr("/queue") if a.filename == qfile] == [len(got)]
        with sftp.open("/queue/" + qfile, "rb") as f:
            assert f.stat().st_size == len(got)
            for at, n in ((0, 10), (seam - 5, 40), (seam + 16, 100), (len(got) - 7, 64)):
                f.seek(at)
                assert f.read(n) == got[at:at + n], at


def test_round_trip(hub, tmp_path):
    w = hub.w
    name = hub.signal(w.jansen, "j.jansen@GM0363")
    case = hub.case(name)

    # Staff see it in /queue (highest rank first), download it and open it.
    q = hub.queue()
    assert q[case]["state"] == "queued" and q[case]["municipality"] == MUNI
    assert q[case]["provider"]["kvk"] == "12345678" and "rank_parts" in q[case]
    with w.connect("s.staff", w.staff) as sftp:
        listing = sftp.listdir("/queue")
        assert q[case]["queue_file"] in listing
        sealed = kp.download(sftp, "/queue/" + q[case]["queue_file"])
        assert sorted(sftp.listdir("/")) == ["decided", "outgoing", "queue"]
    local = tmp_path / "queued.age"
    local.write_bytes(sealed)
    r = kp.run([kp.BIN, "open", str(local), "-i", w.staff.age_key, "--verify-key", w.jansen.sign_pub,
                "-o", str(tmp_path / "queued")])
    assert r.returncode == 0, r.stderr

    assert hub.kp("queue", "take", case).returncode == 0
    assert hub.queue()[case]["state"] == "taken"

    # An enrichment request, uploaded by staff to /outgoing.
    rec = hub.submit("knooppunt-request/1", case, MUNI)
    assert rec["verdict"] == "accepted", rec
    request_id = f"{case}-R1"
    req_path = os.path.join(hub.outbox(), f"request-{request_id}.age")
    assert os.path.exists(req_path)
    m = open_with_stock_tools(hub, req_path, w.keys("gm0363-intake").age_key, tmp_path)
    assert m["id"] == request_id and m["format"] == "knooppunt-request/1" and m["case"] == case

    # The municipality answers; the answer joins the case, not the queue.
    cases_before = len(hub.queue())
    answer = hub.signal(w.jansen, "j.jansen@GM0363", kind="enrichment-response", in_reply_to=request_id)
    rec = hub.receipt(hub.outbox(), answer)
    assert rec["verdict"] == "accepted" and rec["case_id"] == case, rec
    q = hub.queue()
    assert len(q) == cases_before
    assert len(q[case]["replies"]) == 1
    assert kp.wait_for(lambda: os.path.exists(os.path.join(hub.data.path, "queue", q[case]["replies"][0])))

    # Closing needs a SIP first.
    r = hub.kp("queue", "close", case)
    assert r.returncode == 1 and "case-no-sip" in r.stderr

    # The SIP, from the gateway host.
    doc = tmp_path / "sip-rapport.pdf"
    doc.write_bytes(b"%PDF-1.4 SIP " + os.urandom(256))
    r = hub.kp("sip", "publish", "--case", case, "--title", "Samengesteld informatieproduct", str(doc))
    assert r.returncode == 0, r.stderr
    sub_name = r.stdout.split()[1]
    rec = hub.receipt(os.path.join(hub.data.path, "outgoing"), sub_name)
    assert rec["verdict"] == "accepted", rec
    sip = os.path.join(hub.outbox(), f"sip-{case}-S1.age")
    m = open_with_stock_tools(hub, sip, w.keys("gm0363-intake").age_key, tmp_path)
    assert m["format"] == "knooppunt-sip/1" and m["files"][0]["name"] == "files/sip-rapport.pdf"

    # The municipality downloads it and knooppunt open verifies it; one flipped byte fails.
    with w.jj() as sftp:
        data = kp.download(sftp, f"/outbox/sip-{case}-S1.age")
    good = tmp_path / "sip.age"
    good.write_bytes(data)
    r = kp.run([kp.BIN, "open", str(good), "-i", w.keys("gm0363-intake").age_key, "--verify-key", hub.hub_pub,
                "-o", str(tmp_path / "sip-open")])
    assert r.returncode == 0, r.stderr
    bad = tmp_path / "sip-bad.age"
    bad.write_bytes(ip.flip(data, len(data) - 40))
    r = kp.run([kp.BIN, "open", str(bad), "-i", w.keys("gm0363-intake").age_key, "--verify-key", hub.hub_pub,
                "-o", str(tmp_path / "sip-bad")])
    assert r.returncode == 1 and "age-" in r.stderr

    assert hub.kp("queue", "close", case).returncode == 0
    assert hub.queue()[case]["state"] == "closed"

    # Acknowledging the SIP archives it and records when.
    with w.jj() as sftp:
        sftp.remove(f"/outbox/sip-{case}-S1.age")
    rows = hub.data.sql("SELECT acknowledged_ms FROM outbox_items WHERE name = ?", (f"sip-{case}-S1.age",))
    assert rows and rows[0]["acknowledged_ms"]

    # Nothing more goes out for a closed case.
    rec = hub.submit("knooppunt-sip/1", case, MUNI)
    assert rec["verdict"] == "rejected" and rec["reason_code"] == "case-not-open"


def test_decline_sends_signed_notice(hub):
    case = hub.case(hub.signal(hub.w.jansen, "j.jansen@GM0363"))
    r = hub.kp("queue", "decline", case)
    assert r.returncode == 2  # --reason is required
    r = hub.kp("queue", "decline", case, "--reason", "buiten de wegingscriteria")
    assert r.returncode == 0, r.stderr
    notice = os.path.join(hub.outbox(), f"notice-{case}.json")
    r = kp.run(["minisign", "-V", "-q", "-p", hub.hub_pub, "-m", notice])
    assert r.returncode == 0, r.stderr
    n = json.load(open(notice))
    assert n["decision"] == "declined" and n["reason"] == "buiten de wegingscriteria" and n["case_id"] == case
    assert hub.queue()[case]["state"] == "declined"
    assert hub.kp("queue", "take", case).returncode == 1
    assert hub.data.audit(event="case.declined")
    # Staff tell decided cases apart: /queue lists the open ones, /decided the rest.
    qfile = hub.queue()[case]["queue_file"]
    with hub.w.connect("s.staff", hub.w.staff) as sftp:
        assert qfile not in sftp.listdir("/queue")
        assert qfile in sftp.listdir("/decided")
        assert kp.download(sftp, "/decided/" + qfile)


def test_staff_submissions_refused_with_reasons(hub):
    w = hub.w
    case = hub.case(hub.signal(w.jansen, "j.jansen@GM0363"))
    other = hub.case(hub.signal(w.pietersen, "p.pietersen@GM0599"), code="GM0599")
    checks = [
        # a case of another municipality
        (dict(fmt="knooppunt-sip/1", case=case, municipality="GM0599"), "case-municipality-mismatch"),
        # an unknown case
        (dict(fmt="knooppunt-sip/1", case="KP-2026-999999", municipality=MUNI), "case-unknown"),
        # signed by someone else's key
        (dict(fmt="knooppunt-sip/1", case=case, municipality=MUNI, signer=w.jansen.sign_sec),
         "manifest-signature-invalid"),
        # sealed to staff instead of the gateway
        (dict(fmt="knooppunt-sip/1", case=case, municipality=MUNI, recipient=w.staff.recipient), "age-no-match"),
        # a municipality without a registered recipient
        (dict(fmt="knooppunt-request/1", case=other, municipality="GM0599"), "municipality-no-recipient"),
        # the gateway sets the id
        (dict(fmt="knooppunt-sip/1", case=case, municipality=MUNI, id="KP-X"), "manifest-field-invalid"),
    ]
    for kw, code in checks:
        fmt, c, muni = kw.pop("fmt"), kw.pop("case"), kw.pop("municipality")
        rec = hub.submit(fmt, c, muni, **kw)
        assert rec["verdict"] == "rejected" and rec["reason_code"] == code, (code, rec)
    assert not [f for f in os.listdir(hub.outbox("GM0599")) if f.endswith(".age")]
    # The CLI refuses a municipality without recipients at once, not later.
    for words in (["sip", "publish", "--case", other, "never-read.pdf"], ["request", "send", "--case", other, "--question", "Q?"]):
        r = hub.kp(*words)
        assert r.returncode == 1 and "municipality-no-recipient" in r.stderr, r.stderr

    # Receipt names are the gateway's; staff cannot write anywhere else; no overwrite.
    with w.connect("s.staff", w.staff) as sftp:
        assert kp.fails(kp.upload, sftp, "/outgoing/x.age.receipt.json", b"{}")
        assert "receipts" in str(kp.fails.last), kp.fails.last
        assert kp.fails(kp.upload, sftp, "/queue/x.age", b"x")
        kp.upload(sftp, "/outgoing/once.age", b"junk")
        assert kp.fails(kp.upload, sftp, "/outgoing/once.age", b"junk")
    rec = hub.receipt(os.path.join(hub.data.path, "outgoing"), "once.age")
    assert rec["verdict"] == "rejected"

    # Persons cannot send hub items: their /outbox is read-only and /outgoing does not exist for them.
    with w.jj() as sftp:
        assert kp.fails(kp.upload, sftp, "/outgoing/x.age", b"x")


def test_capacity_and_state_rules(hub):
    r = hub.kp("queue", "take", "KP-2026-999999")
    assert r.returncode == 1 and "case-unknown" in r.stderr
    r = hub.kp("queue", "take", "nonsense")
    assert r.returncode == 1 and "case-id-invalid" in r.stderr
    r = hub.kp("queue", "list")
    assert r.returncode == 0 and "capacity" in r.stdout
    # Capacity 3 per year: take queued cases until it is reached.
    queued = [c for c, v in hub.queue().items() if v["state"] == "queued"]
    while len(queued) < 4:
        queued.append(hub.case(hub.signal(hub.w.jansen, "j.jansen@GM0363")))
    results = [hub.kp("queue", "take", c) for c in queued]
    refused = [r for r in results if r.returncode != 0]
    assert refused and all("capacity-reached" in r.stderr for r in refused)


def worker_pids(serve_pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = open(f"/proc/{d}/stat").read()
            fields = stat.rsplit(")", 1)[1].split()
            argv = open(f"/proc/{d}/cmdline", "rb").read().split(b"\0")
        except (OSError, IndexError):
            continue
        if int(fields[1]) == serve_pid and b"worker" in argv and fields[0] != "Z":
            out.append(int(d))
    return sorted(out)


def test_publishing_exactly_once_across_kill_9(make_world):
    """Six staff SIPs reach the worker at once; it is killed with SIGKILL
    while it holds a submission's claim. In the end each submission has
    exactly one receipt, one outbox item and one SIP file; nothing is left
    in DATA/work."""
    import signal
    w = make_world(settings={"workers": "1"})
    w.serve()
    hub = Hub(w)
    case = hub.case(hub.signal(w.jansen, "j.jansen@GM0363"))
    names = []
    with w.connect("s.staff", w.staff) as sftp:
        for i in range(6):
            files = {"files/sip.pdf": b"%PDF-1.4\n" + os.urandom(4 << 20)}
            name = f"sip-{i}.age"
            kp.upload(sftp, f"/outgoing/{name}.part", hub.staff_package("knooppunt-sip/1", case, MUNI, files=files),
                      chunk=1 << 16)
            names.append(name)
        for name in names:
            sftp.rename(f"/outgoing/{name}.part", f"/outgoing/{name}")
    kills = []
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        rows = hub.data.sql("SELECT * FROM submissions")
        if len(kills) >= 2 and any(r["attempts"] >= 2 for r in rows):
            break
        if rows and all(r["state"] in ("accepted", "rejected") for r in rows):
            break
        pids = worker_pids(w.server.proc.pid)
        busy = [r for r in rows if r["state"] == "processing" and pids and r["claim_pid"] == pids[0]]
        if busy and pids[0] not in kills:
            os.kill(pids[0], signal.SIGKILL)
            kills.append(pids[0])
        time.sleep(0.002)
    assert kills, "no kill landed before the worker finished"
    outgoing = os.path.join(hub.data.path, "outgoing")
    for name in names:
        rec = hub.receipt(outgoing, name)
        assert rec["verdict"] == "accepted", rec
    items = hub.data.sql("SELECT * FROM outbox_items WHERE kind = 'sip'")
    assert len(items) == 6 and len({i["name"] for i in items}) == 6
    sips = sorted(f for f in os.listdir(hub.outbox()) if f.startswith("sip-"))
    assert sips == sorted(i["name"] for i in items)
    assert len(hub.data.audit(event="publish.placed")) == 6
    assert not os.listdir(os.path.join(hub.data.path, "work")), "work files left behind"
    for s in sips:
        rc, _, err = ip.age_open(open(os.path.join(hub.outbox(), s), "rb").read(), w.keys("gm0363-intake").age_key)
        assert rc == 0, err


def test_mail_for_each_outbox_item_and_retention_after_acknowledgement(make_world, keys, tmp_path):
    """The issue's full loop with mail and retention: a request and a SIP go
    out, the contact person gets one mail per item (naming the file, never
    its content), the municipality acknowledges the SIP, and after the short
    retention period the sweeper deletes the archived copy, audited."""
    from test_notify import Sink
    sink = Sink(str(tmp_path / "mail"))
    try:
        w = make_world(settings={"workers": "1", "smtp_host": "127.0.0.1", "smtp_port": str(sink.port),
                                 "smtp_starttls": "no", "smtp_sender": "knooppunt@hub.test",
                                 "retention_outbox": "2s", "retention_sweep_interval": "1s"})
        w.data.person(keys("m.mail"), email="m.mail@gemeente.test")
        w.data.grant("m.mail", MUNI)
        w.serve()
        hub = Hub(w)
        case = hub.case(hub.signal(w.jansen, "j.jansen@GM0363"))
        assert not sink.messages(), "receipts are not mailed"

        r = hub.kp("request", "send", "--case", case, "--question", "Graag de declaraties van mei")
        assert r.returncode == 0, r.stderr
        assert hub.receipt(os.path.join(hub.data.path, "outgoing"), r.stdout.split()[1])["verdict"] == "accepted"
        assert kp.wait_for(lambda: len(sink.messages()) == 1, timeout=TIMEOUT), w.server.log_text()[-2000:]
        mail = sink.messages()[0]
        assert f"request-{case}-R1.age" in mail and "m.mail@gemeente.test" in mail
        assert "declaraties van mei" not in mail

        doc = tmp_path / "rapport.pdf"
        doc.write_bytes(b"%PDF-1.4 " + os.urandom(100))
        r = hub.kp("sip", "publish", "--case", case, str(doc))
        assert r.returncode == 0, r.stderr
        assert kp.wait_for(lambda: len(sink.messages()) == 2, timeout=TIMEOUT)
        assert f"sip-{case}-S1.age" in sink.messages()[1]
        assert len(hub.data.audit(event="notify.attempt", outcome="success")) == 2

        with w.jj() as sftp:
            sftp.remove(f"/outbox/sip-{case}-S1.age")
        archived = os.path.join(hub.data.box(MUNI, "archive"), f"sip-{case}-S1.age")
        assert os.path.exists(archived) or kp.wait_for(lambda: hub.data.audit(event="retention.deleted"))
        assert kp.wait_for(lambda: not os.path.exists(archived), timeout=TIMEOUT), "the sweeper kept it"
        deleted = hub.data.audit(event="retention.deleted")
        assert any(f"sip-{case}-S1.age" in (e["object"] or "") for e in deleted), deleted
        # The request was not acknowledged: it stays.
        assert os.path.exists(os.path.join(hub.outbox(), f"request-{case}-R1.age"))
        assert hub.kp("audit", "verify").returncode == 0
    finally:
        sink.stop()

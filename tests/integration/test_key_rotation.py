"""Keys for the long run: rotating the intake identity, the hub signing key
and the log key, the signed announcements that carry a new key to whoever
holds the old one, the SSH host keys as `keys show` prints them, and the
log's origin as a setting.

Judged from outside, with stock tools where they exist:

- a hub key announcement verifies with stock `minisign -V` and the OLD hub
  key alone; receipts after the rotation verify with the NEW key (and not
  the old one); a forged announcement (signed by another key) is refused by
  minisign and by `keys verify-announcement`;
- a log key announcement (a signed note) verifies with the old log key;
  during the grace period every checkpoint is signed by both keys, so a
  receipt checks with either; after it, with the new key only; `audit
  verify` checks the checkpoints of both eras; a forged log announcement in
  DATA/public breaks the chain and `audit verify` says so;
- the intake rotation is announced under the hub key, and packages sealed
  to the old recipient still open during its grace period;
- municipalities and auditors fetch the announcements over SFTP (/keys);
- `keys show` prints the host key fingerprints exactly as `ssh-keygen -l`
  does for its known_hosts lines, and OpenSSH's sftp connects with
  StrictHostKeyChecking=yes against them (and refuses another host key);
- `log_origin` names the checkpoints of a new log and is refused
  (log-origin-fixed) once the log has records.
"""

import json
import os
import shutil
import subprocess
import time

import pytest

import intake_packages as ip
import kp
from test_intake import Intake

MUNI = "GM0363"


@pytest.fixture(scope="module")
def it(make_world):
    w = make_world(settings={"workers": "1"})
    w.serve()
    return Intake(w)


@pytest.fixture(scope="module")
def stranger(tmp_path_factory):
    """Another gateway's data directory, made with `init --host-name` (a
    fresh init: its own keys, which sign the forged announcements)."""
    path = str(tmp_path_factory.mktemp("stranger") / "data")
    kp.kp_ok("init", "--host-name", "kp.gemeente.example", data=path)
    d = _existing(path)
    kp.kp_ok("keys", "rotate", "--hub", data=d.path)
    kp.kp_ok("keys", "rotate", "--log", data=d.path)
    return d


def _existing(path):
    """A kp.DataDir for a directory already initialised."""
    d = kp.DataDir.__new__(kp.DataDir)
    d.path = path
    return d


def show(data):
    return json.loads(kp.kp_ok("keys", "show", "--json", data=data.path).stdout)


def public(data, name):
    return os.path.join(data.path, "public", name)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return str(path)


def accepted_receipt(it, name, recipient=None):
    """Uploads a valid package (sealed to `recipient`, default the current
    one) and returns the path of its receipt once accepted."""
    sealed = ip.age_seal(it.tar(), recipient or show(it.data)["intake_recipient"])
    it.upload({name: sealed})
    [row] = it.wait(name)
    assert row["state"] == "accepted", row
    return it.outbox(name + ".receipt.json")


def minisign_ok(pub_base64, path):
    return kp.run(["minisign", "-V", "-q", "-P", pub_base64, "-m", path]).returncode == 0


def receipt_verifies(path, hub_key_file, log_key_file):
    return kp.kp("receipt", "verify", path, "--hub-key", hub_key_file, "--log-key", log_key_file)


# ---------------------------------------------------------------- host keys

def test_keys_show_prints_host_keys_as_ssh_keygen_does(it, tmp_path):
    out = json.loads(kp.kp_ok("keys", "show", "--json", "--listen", f"127.0.0.1:{it.w.port}",
                              data=it.data.path).stdout)
    known = write(tmp_path / "known_hosts", "\n".join(out["known_hosts"]) + "\n")
    # The text form's --known-hosts prints the same lines.
    plain = kp.kp_ok("keys", "show", "--known-hosts", "--listen", f"127.0.0.1:{it.w.port}",
                     data=it.data.path).stdout
    assert plain == open(known).read()
    assert all(line.startswith(f"[127.0.0.1]:{it.w.port} ") for line in out["known_hosts"])
    r = kp.run(["ssh-keygen", "-l", "-f", known])
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [k["ssh_keygen_l"] for k in out["ssh_host_keys"]]
    # The fingerprints are those of the host keys themselves.
    for k, f in zip(out["ssh_host_keys"], ("ssh_host_ed25519_key", "ssh_host_rsa_key")):
        r = kp.run(["ssh-keygen", "-l", "-f", os.path.join(it.data.path, "keys", f)])
        assert r.returncode == 0 and r.stdout.split()[1] == k["fingerprint"], r.stdout
    text = kp.kp_ok("keys", "show", "--listen", f"127.0.0.1:{it.w.port}", data=it.data.path).stdout
    for k in out["ssh_host_keys"]:
        assert "  " + k["ssh_keygen_l"] + "\n" in text

    # OpenSSH's sftp, checking the host key strictly against that line.
    argv = ["sftp", "-b", "-", "-P", str(it.w.port), "-i", it.sender.ssh_key,
            "-o", "User=j.jansen@GM0363", "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={known}", "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-F", "/dev/null", "127.0.0.1"]
    r = kp.run(argv, input="ls /keys\n")
    assert r.returncode == 0 and "hub.minisign.pub" in r.stdout, r.stderr
    # Another gateway's host key under the same name: refused before login.
    other = tmp_path / "other"
    kp.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)])
    wrong = write(tmp_path / "wrong_hosts",
                  f"[127.0.0.1]:{it.w.port} " + " ".join(open(str(other) + ".pub").read().split()[:2]) + "\n")
    argv[argv.index(f"UserKnownHostsFile={known}")] = f"UserKnownHostsFile={wrong}"
    r = kp.run(argv, input="ls /keys\n")
    assert r.returncode != 0 and "host key" in r.stderr.lower(), r.stderr


# ---------------------------------------------------------------- the hub signing key

def test_hub_key_rotation_is_announced_under_the_old_key(it, stranger, tmp_path):
    before = show(it.data)
    old_hub = before["hub_minisign_public_key"]
    old_file = write(tmp_path / "old-hub.pub", open(public(it.data, "hub.minisign.pub")).read())
    early = accepted_receipt(it, "before-hub-rotation.age")
    assert minisign_ok(old_hub, early)

    out = kp.kp_ok("keys", "rotate", "--hub", data=it.data.path).stdout
    after = show(it.data)
    new_hub = after["hub_minisign_public_key"]
    assert new_hub != old_hub and after["hub_minisign_previous_key"] == old_hub
    [ann] = [a for a in after["announcements"] if a["file"].startswith("rotation-hub-")]
    statement = public(it.data, ann["file"])
    assert ann["file"] in out and os.path.exists(statement + ".minisig")
    text = open(statement).read()
    assert text.startswith("knooppunt key rotation\nkey: hub\n")
    assert f"old key: {old_hub}\n" in text and f"new key: {new_hub}\n" in text

    # Stock minisign, with only the old public key, trusts the statement...
    assert minisign_ok(old_hub, statement)
    assert not minisign_ok(new_hub, statement)
    r = kp.kp("keys", "verify-announcement", statement, "--old-key", old_file)
    assert r.returncode == 0 and new_hub in r.stdout, r.stderr
    # ...and a municipality fetches it over SFTP from /keys.
    with kp.connect(it.w.port, "j.jansen@GM0363", it.sender) as sftp:
        assert ann["file"] in sftp.listdir("/keys")
        fetched = kp.download(sftp, "/keys/" + ann["file"])
        sig = kp.download(sftp, "/keys/" + ann["file"] + ".minisig")
    assert fetched == text.encode()
    copy = write(tmp_path / "fetched.txt", fetched.decode())
    write(tmp_path / "fetched.txt.minisig", sig.decode())
    assert minisign_ok(old_hub, copy)

    # Receipts from now on: the new key, not the old one.
    late = accepted_receipt(it, "after-hub-rotation.age")
    assert minisign_ok(new_hub, late) and not minisign_ok(old_hub, late)
    assert minisign_ok(old_hub, early)  # what the old key signed stays verifiable
    log_key = public(it.data, "log.note.vkey")
    assert receipt_verifies(late, public(it.data, "hub.minisign.pub"), log_key).returncode == 0
    r = receipt_verifies(late, old_file, log_key)
    assert r.returncode == 1 and "signature" in r.stderr, r.stderr

    # A second rotation while the first one's grace period runs: refused.
    r = kp.kp("keys", "rotate", "--hub", data=it.data.path)
    assert r.returncode == 1 and "rotation-in-progress" in r.stderr, r.stderr

    # A forged announcement: another gateway's rotation, claiming to replace
    # our key. Stock minisign and verify-announcement refuse it.
    [foreign] = [n for n in os.listdir(os.path.join(stranger.path, "public")) if n.startswith("rotation-hub-")
                 and n.endswith(".txt")]
    forged = write(tmp_path / "forged.txt",
                   open(public(stranger, foreign)).read().replace(
                       open(public(stranger, foreign)).read().split("old key: ")[1].split("\n")[0], old_hub))
    shutil.copy(public(stranger, foreign) + ".minisig", str(forged) + ".minisig")
    assert not minisign_ok(old_hub, forged)
    r = kp.kp("keys", "verify-announcement", forged, "--old-key", old_file)
    assert r.returncode == 1 and "announcement-signature-invalid" in r.stderr, r.stderr
    # The genuine one, checked against the wrong old key: refused as well.
    r = kp.kp("keys", "verify-announcement", statement, "--old-key", public(it.data, "hub.minisign.pub"))
    assert r.returncode == 1 and "announcement-signature-invalid" in r.stderr, r.stderr
    assert it.data.audit(event="keys.rotate")[-1]["object"].startswith("hub ")


# ---------------------------------------------------------------- the log key

def test_log_key_rotation_keeps_every_checkpoint_verifiable(it, stranger, tmp_path):
    old_vkey = show(it.data)["log_verifier_key"]
    old_file = write(tmp_path / "old-log.vkey", old_vkey + "\n")
    early = accepted_receipt(it, "before-log-rotation.age")
    kept = write(tmp_path / "kept-checkpoint", open(os.path.join(it.data.path, "audit", "checkpoint")).read())

    out = kp.kp_ok("keys", "rotate", "--log", data=it.data.path).stdout
    after = show(it.data)
    new_vkey = after["log_verifier_key"]
    new_file = write(tmp_path / "new-log.vkey", new_vkey + "\n")
    assert new_vkey != old_vkey and after["log_previous_verifier_key"] == old_vkey
    assert new_vkey.split("+")[0] == old_vkey.split("+")[0]  # the same name: the log's origin
    [ann] = [a for a in after["announcements"] if a["file"].startswith("rotation-log-")]
    note = public(it.data, ann["file"])
    assert ann["file"] in out
    r = kp.kp("keys", "verify-announcement", note, "--old-key", old_file)
    assert r.returncode == 0 and new_vkey in r.stdout, r.stderr
    r = kp.kp("keys", "verify-announcement", note, "--old-key", new_file)
    assert r.returncode == 1 and "announcement-signature-invalid" in r.stderr, r.stderr
    # Auditors fetch it over SFTP as well.
    with kp.connect(it.w.port, "a.audit", it.w.auditor) as sftp:
        assert kp.download(sftp, "/keys/" + ann["file"]) == open(note, "rb").read()

    # During the grace period: receipts' checkpoints carry both signatures.
    late = accepted_receipt(it, "after-log-rotation.age")
    hub = public(it.data, "hub.minisign.pub")
    for key in (old_file, new_file):
        r = receipt_verifies(late, hub, key)
        assert r.returncode == 0, r.stderr
    # The checkpoints of both eras, the kept one included.
    r = kp.kp("audit", "verify", "--from-checkpoint", kept, data=it.data.path)
    assert r.returncode == 0 and "extends the given checkpoint" in r.stdout, r.stderr
    r = kp.kp("audit", "verify", "--log-key", old_file, data=it.data.path)
    assert r.returncode == 0, r.stderr
    r = kp.kp("audit", "verify", "--log-key", public(stranger, "log.note.vkey"), data=it.data.path)
    assert r.returncode == 1 and "log-key-unknown" in r.stderr, r.stderr
    r = kp.kp("keys", "rotate", "--log", data=it.data.path)
    assert r.returncode == 1 and "rotation-in-progress" in r.stderr, r.stderr

    # A forged announcement (another gateway's log key) in DATA/public:
    # refused by verify-announcement, and `audit verify` names the break.
    [foreign] = [n for n in os.listdir(os.path.join(stranger.path, "public")) if n.startswith("rotation-log-")]
    r = kp.kp("keys", "verify-announcement", public(stranger, foreign), "--old-key", new_file)
    assert r.returncode == 1 and "announcement-signature-invalid" in r.stderr, r.stderr
    planted = public(it.data, "rotation-log-0002.note")
    shutil.copy(public(stranger, foreign), planted)
    try:
        r = kp.kp("audit", "verify", data=it.data.path)
        assert r.returncode == 1 and "announcement-chain-broken" in r.stderr, r.stderr
    finally:
        os.unlink(planted)
    assert kp.kp("audit", "verify", data=it.data.path).returncode == 0
    # What the old key signed alone stays verifiable with it (and only with it).
    assert receipt_verifies(early, hub, old_file).returncode == 0
    assert receipt_verifies(early, hub, new_file).returncode == 1


def test_grace_periods_end(it, tmp_path):
    """Both previous keys' grace periods end (simulated by moving their end
    into the past): the worker destroys the old secrets and stops
    publishing them; checkpoints then carry the new log key alone."""
    before = show(it.data)
    old_log = write(tmp_path / "old-log.vkey", before["log_previous_verifier_key"] + "\n")
    new_log = write(tmp_path / "new-log.vkey", before["log_verifier_key"] + "\n")
    for f in ("hub.previous.expires", "log.previous.expires"):
        write(os.path.join(it.data.path, "keys", f), "1\n")
    keys_dir = os.path.join(it.data.path, "keys")
    gone = [os.path.join(keys_dir, "log.previous.note.key"), os.path.join(keys_dir, "hub.previous.minisign.key"),
            public(it.data, "log.note.previous.vkey"), public(it.data, "hub.minisign.previous.pub")]
    assert kp.wait_for(lambda: not any(os.path.exists(p) for p in gone), timeout=40)
    # The record follows the removal (its own transaction): wait for it too.
    assert kp.wait_for(lambda: it.data.audit(event="keys.previous_signing_key_destroyed"), timeout=20)
    after = show(it.data)
    assert "log_previous_verifier_key" not in after and "hub_minisign_previous_key" not in after
    receipt = accepted_receipt(it, "after-grace.age")
    hub = public(it.data, "hub.minisign.pub")
    assert receipt_verifies(receipt, hub, new_log).returncode == 0
    r = receipt_verifies(receipt, hub, old_log)
    assert r.returncode == 1, r.stdout
    assert kp.kp("audit", "verify", data=it.data.path).returncode == 0

    # A second log rotation now: a chain of two announcements, still verified.
    kp.kp_ok("keys", "rotate", "--log", data=it.data.path)
    accepted_receipt(it, "after-second-log-rotation.age")
    r = kp.kp("audit", "verify", "--log-key", old_log, data=it.data.path)
    assert r.returncode == 0, r.stderr
    assert len([a for a in show(it.data)["announcements"] if a["file"].startswith("rotation-log-")]) == 2


# ---------------------------------------------------------------- the intake identity

def test_intake_rotation_is_announced_under_the_hub_key(it, tmp_path):
    before = show(it.data)
    old_recipient = before["intake_recipient"]
    hub_file = write(tmp_path / "hub.pub", open(public(it.data, "hub.minisign.pub")).read())
    sealed_early = ip.age_seal(it.tar(), old_recipient)
    kp.kp_ok("keys", "rotate", "--intake", data=it.data.path)
    after = show(it.data)
    assert after["intake_recipient"] != old_recipient
    [ann] = [a for a in after["announcements"] if a["file"].startswith("rotation-intake-")]
    statement = public(it.data, ann["file"])
    assert minisign_ok(before["hub_minisign_public_key"], statement)
    r = kp.kp("keys", "verify-announcement", statement, "--old-key", hub_file)
    assert r.returncode == 0 and after["intake_recipient"] in r.stdout, r.stderr
    # A statement altered after signing: refused.
    altered = write(tmp_path / "altered.txt", open(statement).read().replace(after["intake_recipient"],
                                                                              old_recipient))
    shutil.copy(statement + ".minisig", altered + ".minisig")
    r = kp.kp("keys", "verify-announcement", altered, "--old-key", hub_file)
    assert r.returncode == 1 and "announcement-signature-invalid" in r.stderr, r.stderr
    # A package sealed to the old recipient still opens (grace), one to the new one too.
    it.upload({"sealed-to-old.age": sealed_early})
    [row] = it.wait("sealed-to-old.age")
    assert row["state"] == "accepted"
    accepted_receipt(it, "sealed-to-new.age", after["intake_recipient"])


# ---------------------------------------------------------------- the log's origin

def test_log_origin_is_a_setting_fixed_once_the_log_has_records(template, tmp_path):
    d = kp.DataDir(tmp_path / "data", template=template)
    d.set("log_origin", "hub.example.nl/knooppunt-log")
    d.set("workers", "1")
    server = kp.Server(d).start()
    try:
        checkpoint = os.path.join(d.path, "audit", "checkpoint")
        kp.wait_for(lambda: os.path.exists(checkpoint), timeout=30)
        assert open(checkpoint).read().startswith("hub.example.nl/knooppunt-log\n")
    finally:
        server.stop()
    shown = show(d)
    assert shown["log_origin"] == "hub.example.nl/knooppunt-log"
    assert shown["log_verifier_key"].startswith("hub.example.nl/knooppunt-log+")
    d.municipality("GM0363", "Amsterdam")  # a record under that origin
    # Changing it now would orphan every signed checkpoint: refused, named.
    d.set("log_origin", "elsewhere.example/log")
    r = kp.kp("worker", data=d.path, timeout=30)
    assert r.returncode == 1 and "log-origin-fixed" in r.stderr and "hub.example.nl/knooppunt-log" in r.stderr, \
        r.stderr
    assert kp.kp("audit", "verify", data=d.path).returncode == 0
    assert show(d)["log_origin"] == "hub.example.nl/knooppunt-log"
    # A bad value is refused by the settings check.
    d.set("log_origin", "has+plus")
    r = kp.kp("worker", data=d.path, timeout=30)
    assert r.returncode == 1 and "settings-bad-value" in r.stderr, r.stderr


def test_init_takes_the_origin_from_the_host_name(stranger):
    path = stranger.path
    assert open(os.path.join(path, "public", "log.origin")).read() == "kp.gemeente.example/transfer-log\n"
    assert "\nhost_name = kp.gemeente.example\n" in open(os.path.join(path, "knooppunt.conf")).read()
    out = kp.kp_ok("keys", "show", "--known-hosts", data=path).stdout
    assert all(line.startswith("[kp.gemeente.example]:2222 ") for line in out.splitlines()) and out


# ---------------------------------------------------------------- the hub key's grace period

def test_hub_signed_submission_from_before_the_rotation(it, tmp_path):
    """`sip publish` signs its submission with the hub key of the moment. A
    worker that processes it after `keys rotate --hub` still accepts it
    during hub_key_grace, and refuses it once the old key is no longer
    accepted (a rotation with hub_key_grace = 0s)."""
    [case] = [r["id"] for r in it.data.sql(
        "SELECT id FROM cases WHERE municipality = ? AND state = 'queued' ORDER BY id LIMIT 1", (MUNI,))]
    doc = tmp_path / "rapport.pdf"
    doc.write_bytes(b"%PDF-1.4 " + os.urandom(100))
    outgoing = os.path.join(it.data.path, "outgoing")

    def submitted_while_rotating():
        it.w.server.stop()
        name = kp.kp_ok("sip", "publish", "--case", case, str(doc), data=it.data.path).stdout.split()[1]
        kp.kp_ok("keys", "rotate", "--hub", data=it.data.path)
        it.w.restart()
        path = os.path.join(outgoing, name + ".receipt.json")
        assert kp.wait_for(lambda: os.path.exists(path + ".minisig"), timeout=90), it.w.server.log_text()[-2000:]
        assert minisign_ok(show(it.data)["hub_minisign_public_key"], path)
        return json.load(open(path))

    receipt = submitted_while_rotating()
    assert receipt["verdict"] == "accepted", receipt
    # The old key's grace period ends at once now.
    write(os.path.join(it.data.path, "keys", "hub.previous.expires"), "1\n")
    it.data.set("hub_key_grace", "0s")
    receipt = submitted_while_rotating()
    assert receipt["verdict"] == "rejected" and receipt["reason_code"] == "manifest-signature-invalid", receipt
    it.data.set("hub_key_grace", "14d")

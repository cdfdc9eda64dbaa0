"""Backup and restore of a live data directory.

A World with one intake worker accepts two packages; then packages keep
arriving over SFTP while `knooppunt backup` runs (until one backup has
overlapped at least one upload). The backup restores into a new directory
whose transfer log verifies (`knooppunt audit verify`), whose keys have the
modes `init` gives them, and on which `serve` starts: staff download a
package accepted before the backup and it opens to the very tar that was
uploaded, every upload the backup holds gets its verdict, and a new upload
is accepted. The refusals: a backup into a non-empty folder, of a folder
that is not a data directory, into the data directory itself; a restore
into a non-empty folder, from a backup with a file missing, changed or
added, or with a cut or edited manifest.
"""

import os
import shutil
import stat
import threading
import time

import pytest

import intake_packages as ip
import kp
from test_intake import Intake

LOAD_PACKAGES = 16
MANIFEST = "knooppunt-backup.manifest"


class Restored:
    """A restored data directory served like a World (what Intake needs)."""

    def __init__(self, path, world):
        self.data = kp.DataDir.__new__(kp.DataDir)
        self.data.path = str(path)
        self.jansen = world.jansen
        self.staff = world.staff
        self.server = None

    def serve(self):
        self.server = kp.Server(self.data).start()
        return self.server

    @property
    def port(self):
        return self.server.port

    def close(self):
        if self.server:
            self.server.stop()


def refused(r, code):
    assert r.returncode == 1, f"expected a refusal, got {r.returncode}\n{r.stdout}\n{r.stderr}"
    assert f"knooppunt: {code}: " in r.stderr, r.stderr


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture(scope="module")
def live(make_world):
    w = make_world(settings={"workers": "1"})
    w.serve()
    return Intake(w)


@pytest.fixture(scope="module")
def taken(live, tmp_path_factory):
    """Two packages accepted, then backups taken while uploads arrive."""
    tars = {f"before-{i}.age": live.tar() for i in range(2)}
    live.upload({n: live.seal(t) for n, t in tars.items()})
    rows = live.wait(*tars)
    assert [r["state"] for r in rows] == ["accepted", "accepted"]
    load = [(f"load-{i}.age", live.valid()) for i in range(LOAD_PACKAGES)]
    sent, stop = [], threading.Event()

    def uploader():
        for name, data in load:
            if stop.is_set():
                return
            live.upload({name: data})
            sent.append(name)

    thread = threading.Thread(target=uploader, daemon=True)
    thread.start()
    kp.wait_for(lambda: len(sent) >= 1, timeout=30)
    root = tmp_path_factory.mktemp("backups")
    chosen, timings = None, []
    try:
        # Backups one after another while the uploads last, until one of
        # them saw an upload complete while it ran.
        while chosen is None and thread.is_alive() and len(timings) < 200:
            target = root / f"b{len(timings)}"
            before, t0 = len(sent), time.monotonic()
            r = kp.kp("backup", target, data=live.data.path, timeout=120)
            timings.append(round(time.monotonic() - t0, 3))
            assert r.returncode == 0, r.stderr
            if len(sent) > before:
                chosen = target
            else:
                shutil.rmtree(target)
    finally:
        stop.set()
        thread.join(timeout=120)
    assert chosen, "no backup ran while an upload arrived"
    print("backup seconds:", timings)
    return {"dir": str(chosen), "tars": tars, "cases": {r["name"]: live.case_of(r) for r in rows}}


@pytest.fixture(scope="module")
def restored(taken, live, tmp_path_factory):
    path = tmp_path_factory.mktemp("restored") / "data"
    r = kp.kp("restore", taken["dir"], data=path, timeout=120)
    assert r.returncode == 0, r.stderr
    rw = Restored(path, live.w)
    yield rw
    rw.close()


def test_backup_holds_a_manifest_of_every_file(taken):
    d = taken["dir"]
    text = open(os.path.join(d, MANIFEST)).read().splitlines()
    assert text[0] == "knooppunt-backup/1" and text[-1].startswith("end\t")
    listed = {line.split("\t")[-1] for line in text if line[:2] == "f\t"}
    assert {"knooppunt.db", "knooppunt.conf", "keys/hub.minisign.key", "audit/checkpoint"} <= listed
    # Every accepted package is there as its two parts, the payload a hard link of the upload.
    for name, case in taken["cases"].items():
        head = os.path.join(d, "queue", case["queue_name"])
        payload = os.path.join(d, "queue", ".payload", case["queue_name"])
        assert os.path.exists(head)
        assert os.stat(payload).st_ino == os.stat(os.path.join(d, "boxes", "GM0363", "inbox", name)).st_ino
    assert not os.path.exists(os.path.join(d, "knooppunt.db-wal"))


def test_restored_directory_verifies_and_keeps_modes(restored, live, template):
    r = kp.kp("audit", "verify", data=restored.data.path, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    for rel in ("keys", "keys/hub.minisign.key", "keys/log.note.key", "keys/intake.age", "public",
                "public/hub.minisign.pub", "boxes/GM0363/inbox", "queue"):
        assert mode(os.path.join(restored.data.path, rel)) == mode(os.path.join(live.data.path, rel)), rel
    # Owners as `init` leaves them (as root: the private keys the worker
    # user's); the test's live directory is a copy, the template is init's own.
    for rel in ("keys", "keys/hub.minisign.key", "keys/intake.age", "keys/ssh_host_ed25519_key", "knooppunt.db"):
        a, b = os.lstat(os.path.join(restored.data.path, rel)), os.lstat(os.path.join(template, rel))
        assert (a.st_uid, a.st_gid) == (b.st_uid, b.st_gid), rel
    assert mode(os.path.join(restored.data.path, "keys", "hub.minisign.key")) == 0o600
    assert mode(restored.data.path) == 0o700


def test_restored_directory_serves(restored, taken):
    restored.serve()
    intake = Intake(restored)
    # A package accepted before the backup: staff download it and it opens
    # to the tar the municipality sealed.
    for name, case in taken["cases"].items():
        with kp.connect(restored.port, restored.staff.name, restored.staff) as sftp:
            got = kp.download(sftp, "/queue/" + case["queue_name"])
        rc, plain, err = ip.age_open(got, restored.staff.age_key)
        assert rc == 0, err
        assert plain == taken["tars"][name]
    # Every upload the backup holds gets its verdict (those received but not
    # judged when the database was copied are judged now).
    names = [row["name"] for row in restored.data.uploads("GM0363")]
    assert len(names) >= 3
    rows = intake.wait(*names)
    assert {r["state"] for r in rows} == {"accepted"}
    # And new work goes on.
    intake.upload({"after-restore.age": intake.valid()})
    assert intake.wait("after-restore.age")[0]["state"] == "accepted"
    r = kp.kp("audit", "verify", data=restored.data.path, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


# ---------------------------------------------------------------- refusals

def copy_of(taken, tmp_path, name="copy"):
    target = tmp_path / name
    shutil.copytree(taken["dir"], target)
    return target


def test_restore_refuses_a_non_empty_target(taken, tmp_path):
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    refused(kp.kp("restore", taken["dir"], data=target), "restore-target-not-empty")
    assert os.listdir(target) == ["keep.txt"]


@pytest.mark.parametrize("damage, code", [
    ("missing", "backup-file-missing"),
    ("changed", "backup-file-damaged"),
    ("added", "backup-unexpected-file"),
    ("cut", "backup-incomplete"),
    ("edited", "backup-invalid"),
    ("no-manifest", "backup-incomplete"),
])
def test_restore_refuses_a_damaged_backup(taken, tmp_path, damage, code):
    b = copy_of(taken, tmp_path)
    lines = open(b / MANIFEST).read().splitlines(keepends=True)
    some_file = next(line.rstrip("\n").split("\t")[-1] for line in lines if line.startswith("f\t")
                     and "/inbox/" in line)
    if damage == "missing":
        os.unlink(b / some_file)
    elif damage == "changed":
        data = bytearray(open(b / some_file, "rb").read())
        data[len(data) // 2] ^= 1
        open(b / some_file, "wb").write(bytes(data))
    elif damage == "added":
        (b / "boxes" / "GM0363" / "inbox" / "smuggled.age").write_bytes(b"x")
    elif damage == "cut":
        open(b / MANIFEST, "w").write("".join(lines[:-1]))
    elif damage == "edited":
        edited = [line.replace("\t0600\t", "\t0644\t", 1) if line.startswith("f\t") else line for line in lines]
        open(b / MANIFEST, "w").write("".join(edited))
    elif damage == "no-manifest":
        os.unlink(b / MANIFEST)
    target = tmp_path / "new"
    refused(kp.kp("restore", b, data=target), code)
    assert not os.path.exists(target / "knooppunt.conf")
    assert not os.path.exists(target) or os.listdir(target) == []


def test_backup_refuses_a_non_empty_target(live, tmp_path):
    target = tmp_path / "busy"
    target.mkdir()
    (target / "old").write_text("x")
    refused(kp.kp("backup", target, data=live.data.path), "backup-target-not-empty")
    assert os.listdir(target) == ["old"]


def test_backup_refuses_what_is_not_a_data_directory(tmp_path):
    src = tmp_path / "plain"
    src.mkdir()
    (src / "notes.txt").write_text("x")
    refused(kp.kp("backup", tmp_path / "out", data=src), "not-a-data-directory")
    assert not os.path.exists(tmp_path / "out")


def test_backup_refuses_a_target_inside_the_data_directory(live):
    inside = os.path.join(live.data.path, "backup-here")
    refused(kp.kp("backup", inside, data=live.data.path), "backup-inside-data")
    assert not os.path.exists(inside)


def test_backup_while_the_outbox_is_acknowledged(live, taken, tmp_path):
    """Receipts the copied database has in the outbox move to the archive
    while the backup copies files: each is found there and put back where
    the copied database has it, so no backup fails or starts over for it."""
    names = [r["name"] for r in live.data.uploads("GM0363")]
    live.wait(*names)
    acked, done = [], threading.Event()

    def acknowledge():
        try:
            with kp.connect(live.w.port, "j.jansen@GM0363", live.sender) as sftp:
                for n in names:
                    for suffix in (".receipt.json", ".receipt.json.minisig"):
                        sftp.remove(f"/outbox/{n}{suffix}")
                    acked.append(n)
        finally:
            done.set()

    thread = threading.Thread(target=acknowledge, daemon=True)
    thread.start()
    overlapped = 0
    for i in range(100):
        if done.is_set():
            break
        before = len(acked)
        r = kp.kp("backup", tmp_path / f"b{i}", data=live.data.path, timeout=120)
        assert r.returncode == 0, r.stderr
        assert "backup.retry" not in r.stderr, r.stderr
        overlapped += len(acked) > before
        r = kp.kp("restore", tmp_path / f"b{i}", data=tmp_path / f"r{i}", timeout=120)
        assert r.returncode == 0, r.stderr
    thread.join(timeout=60)
    assert len(acked) == len(names)
    assert overlapped >= 1

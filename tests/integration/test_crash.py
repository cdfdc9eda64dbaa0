"""Crash safety: `kill -9` of the whole server (its process group, as systemd
would on a hard stop) in the middle of 20 parallel uploads. After a restart no
partial file is visible, every inbox file has exactly one `uploads` row with
its size and SHA-256 (and every row its file), and every upload the client
saw complete is there.
"""

import os
import random
import threading
import time

import pytest

import kp

N = 20


@pytest.fixture(scope="module")
def w(make_world):
    w = make_world()
    w.serve()
    return w


def consistent(w):
    """Inbox files and uploads rows match one to one, by size and hash."""
    problems = []
    for code in ("GM0363", "GM0599"):
        inbox = w.data.box(code, "inbox")
        files = {n: (os.path.getsize(os.path.join(inbox, n)), kp.sha256_file(os.path.join(inbox, n)))
                 for n in os.listdir(inbox)}
        rows = w.data.uploads(code)
        names = [r["name"] for r in rows]
        if len(names) != len(set(names)):
            problems.append(f"{code}: duplicate uploads rows {names}")
        for r in rows:
            if r["name"] not in files:
                problems.append(f"{code}: row {r['name']} has no file")
            elif files[r["name"]] != (r["size"], r["sha256"]):
                problems.append(f"{code}: {r['name']} file {files[r['name']]} != row {(r['size'], r['sha256'])}")
        for n in files:
            if n not in names:
                problems.append(f"{code}: file {n} has no uploads row")
    return problems


def test_kill9_during_parallel_uploads(w):
    rng = random.Random(7)
    sizes = [rng.randint(2, 8) * 1024 * 1024 + rng.randint(0, 4095) for _ in range(N)]
    payloads = [os.urandom(s) for s in sizes]
    completed, errors = {}, {}
    conns = []
    for i in range(N):
        user, ident = (("j.jansen@GM0363", w.jansen) if i % 2 == 0 else ("p.pietersen@GM0599", w.pietersen))
        conns.append(w.connect(user, ident))
    started = threading.Barrier(N + 1)

    def worker(i):
        name = f"crash-{i:02d}.bin"
        try:
            started.wait(timeout=30)
            digest = kp.upload(conns[i].sftp, "/inbox/" + name, payloads[i])
            completed[name] = (i, digest)
        except Exception as e:  # the kill ends uploads in many different ways
            errors[name] = repr(e)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(N)]
    for t in threads:
        t.start()
    started.wait(timeout=30)
    # Kill as soon as the first upload is through (the rest are then mid-way),
    # so the test sees both finished and interrupted uploads on any machine.
    deadline = time.time() + 5
    while not completed and time.time() < deadline:
        time.sleep(0.02)
    w.server.kill9()
    for t in threads:
        t.join(timeout=60)
    for c in conns:
        c.close()
    assert len(completed) < N, "the kill came too late to test anything; all uploads had finished"

    w.serve()
    # Nothing half-written is visible on the host ...
    problems = consistent(w)
    assert not problems, "\n".join(problems)
    # ... and every upload the client saw complete survived the crash.
    for name, (i, digest) in completed.items():
        code = "GM0363" if i % 2 == 0 else "GM0599"
        rows = [r for r in w.data.uploads(code) if r["name"] == name]
        assert rows and rows[0]["sha256"] == digest, f"{name} completed before the kill but is lost"
    # ... nor over SFTP.
    for user, ident, code in (("j.jansen@GM0363", w.jansen, "GM0363"), ("p.pietersen@GM0599", w.pietersen, "GM0599")):
        with w.connect(user, ident) as sftp:
            try:
                listed = sftp.listdir("/inbox")
            except kp.REFUSED:
                continue  # an inbox that does not list shows nothing partial either
            registered = {r["name"] for r in w.data.uploads(code)}
            assert set(listed) <= registered, f"{code}: listed but not registered: {set(listed) - registered}"
    # The interrupted names can be uploaded again after the restart.
    interrupted = sorted(set(f"crash-{i:02d}.bin" for i in range(0, N, 2)) - set(completed))
    if interrupted:
        with w.jj() as sftp:
            digest = kp.upload(sftp, "/inbox/" + interrupted[0], b"second try")
        assert [r["sha256"] for r in w.data.uploads("GM0363") if r["name"] == interrupted[0]] == [digest]
    assert not consistent(w)


def test_restart_after_clean_stop_keeps_everything(w):
    with w.jj() as sftp:
        digest = kp.upload(sftp, "/inbox/before-restart.bin", os.urandom(100_000))
    w.restart()
    assert [r["sha256"] for r in w.data.uploads("GM0363") if r["name"] == "before-restart.bin"] == [digest]
    assert not consistent(w)
    with w.jj() as sftp:
        assert kp.fails(kp.upload, sftp, "/inbox/before-restart.bin", b"again")

"""The intake benchmark: open + verify + reseal of one big signal package by
the knooppunt intake worker, next to the stock `age -d` CLI decrypting the
same package to /dev/null.

The question it answers (issue: "open + verify + reseal of a 1 GiB package
against age -d"): is our whole intake pipeline -- age open, tar read,
SHA-256 of every file, manifest signature and policy checks, tar write,
age seal to staff, fsync, signed receipt -- at least as fast as the
reference implementation only decrypting? And does the worker stay within
bounded memory (peak RSS < 64 MiB) whatever the package size?

Three runners over the same sealed package, alternated run by run:

  worker  the real intake worker: the package is hard-linked into
          DATA/boxes/GM0363/inbox under a fresh name and its `uploads` row
          inserted with state 'received' (what the gateway does after an
          SFTP upload), then `knooppunt worker --data DATA` is started and
          timed from spawn until the signed receipt appears in the outbox.
          Peak RSS is the worker's VmHWM, read from /proc just before it is
          stopped; CPU is its utime + stime (wait4). Includes worker start-up
          (SQLite, keys) and the receipt, both milliseconds.
  open    `knooppunt open PKG -i ID --verify-key PUB -o DIR` with DIR on the
          same file system as the work dir: the same opening code as the
          worker, but it writes the plaintext files instead of resealing.
  age     `age -d -i DATA/keys/intake.age PKG > /dev/null` (stock Go CLI).

The package is built once with `knooppunt seal`: one file `files/data.csv`
of random bytes (1 GiB, --quick 256 MiB; .csv because the package rules
accept only document types), sealed to the data dir's intake recipient and
signed with a fresh minisign key registered for the person.

Run alone (no sshd, no root needed beyond writing the work dir):

  /usr/bin/python3 bench/lib/intake.py [--quick] [--runs N] [--warmup N]
                                        [--bin build/knooppunt] [--tmp DIR]

or as the `intake` case of bench/run (there "ours" = worker, "openssh" =
age -d, and the `open` figures are reported on the ours side only).
"""

import argparse
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

MIB = 1024 * 1024
GIB = 1024 * MIB
MB = 1000 * 1000

MUNICIPALITY = "GM0363"
PERSON = "j.jansen"
STAFF = "s.staff"

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

MANIFEST = {
    "format": "knooppunt-signal/1",
    "kind": "signal",
    "municipality": MUNICIPALITY,
    "submitted_by": PERSON,
    "created": "2026-11-22T10:15:00Z",
    "provider": {"kvk": "12345678", "agb": "01234567", "name": "Zorg BV"},
    "domain": "Wmo",
    "period": {"from": "2026-01-01", "until": "2026-06-30"},
    "irregularity": "care billed but not delivered",
    "estimated_damage_eur": 125000,
    "clients_affected": 14,
    "health_risk": "high",
    "summary": "intake benchmark package",
    "bsns": ["111222333"],
    "files": [],
}


class RunFailed(Exception):
    """One run did not complete; the message says why."""


def _run(cmd, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=600, **kw)
    if r.returncode != 0:
        why = " / ".join((r.stderr or r.stdout).strip().splitlines())
        raise RunFailed(f"{' '.join(cmd)} exited {r.returncode}: {why[-800:]}")
    return r.stdout


def _spawn_timed(cmd, stdout=subprocess.DEVNULL):
    """Run CMD to completion; returns (wall s, cpu s, peak RSS KiB) of that
    one child. CPU comes from wait4 (not RUSAGE_CHILDREN, so runs do not
    mix). Peak RSS is the child's VmHWM polled from /proc every few ms while
    it runs: wait4's ru_maxrss would report this Python process's RSS,
    which the child inherits at fork and keeps as its high-water mark
    across exec."""
    t0 = time.monotonic()
    errf = tempfile.TemporaryFile()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=errf)
    hwm = None
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        hwm = _vm_hwm_kib(p.pid) or hwm
        time.sleep(0.003)
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    errf.seek(0)
    err = errf.read().decode(errors="replace")
    errf.close()
    if p.returncode != 0:
        raise RunFailed(f"{os.path.basename(cmd[0])} exited {p.returncode}: {err.strip()[-500:]}")
    return wall, ru.ru_utime + ru.ru_stime, hwm


def _vm_hwm_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class IntakeBench:
    """A data dir with one municipality, person (with mandate) and staff
    member, and one sealed package of SIZE bytes of file content."""

    def __init__(self, tmp, binary, size):
        self.tmp = os.path.join(tmp, "intake")
        self.bin = binary
        self.size = size
        self.data = os.path.join(self.tmp, "data")
        self.inbox = os.path.join(self.data, "boxes", MUNICIPALITY, "inbox")
        self.outbox = os.path.join(self.data, "boxes", MUNICIPALITY, "outbox")
        self.identity = os.path.join(self.data, "keys", "intake.age")
        self.pkg = os.path.join(self.tmp, "package.age")
        self.sign_pub = os.path.join(self.tmp, "minisign.pub")
        self.ready = False

    def _kp(self, *args):
        return _run([self.bin, *args], env=dict(os.environ, KNOOPPUNT_DATA=self.data))

    def setup(self):
        if self.ready:
            return
        os.makedirs(self.tmp, exist_ok=True)
        self._kp("init", "--data", self.data)
        sign_sec = os.path.join(self.tmp, "minisign.key")
        _run(["minisign", "-G", "-W", "-p", self.sign_pub, "-s", sign_sec])
        ssh_key = os.path.join(self.tmp, "ssh_ed25519")
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bench", "-f", ssh_key])
        staff_ssh = os.path.join(self.tmp, "staff_ed25519")  # one key, one account
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bench-staff", "-f", staff_ssh])
        staff_id = os.path.join(self.tmp, "staff.age")
        _run(["age-keygen", "-o", staff_id])
        staff_recipient = _run(["age-keygen", "-y", staff_id]).strip()
        self._kp("municipality", "add", MUNICIPALITY, "--name", "Amsterdam", "--data", self.data)
        self._kp("person", "add", PERSON, "--ssh-key", ssh_key + ".pub",
                 "--sign-key", self.sign_pub, "--data", self.data)
        self._kp("mandate", "grant", PERSON, MUNICIPALITY, "--level", "EH3",
                 "--scope", "upload,download", "--data", self.data)
        self._kp("staff", "add", STAFF, "--ssh-key", staff_ssh + ".pub",
                 "--recipient", staff_recipient, "--sign-key", self.sign_pub,
                 "--data", self.data)
        os.makedirs(self.inbox, exist_ok=True)
        os.makedirs(self.outbox, exist_ok=True)
        recipient = _run(["age-keygen", "-y", self.identity]).strip()

        content = os.path.join(self.tmp, "data.csv")
        with open(content, "wb") as f:
            left = self.size
            while left:
                n = min(left, 4 * MIB)
                f.write(os.urandom(n))
                left -= n
        manifest = os.path.join(self.tmp, "manifest.json")
        with open(manifest, "w") as f:
            json.dump(MANIFEST, f, indent=2)
        self._kp("seal", "--to", recipient, "--sign-key", sign_sec,
                 "--manifest", manifest, content, "-o", self.pkg)
        os.unlink(content)  # only the sealed form is needed from here on
        h = hashlib.sha256()
        with open(self.pkg, "rb") as f:
            while True:
                b = f.read(4 * MIB)
                if not b:
                    break
                h.update(b)
        self.pkg_sha256 = h.hexdigest()
        self.pkg_size = os.path.getsize(self.pkg)
        self.ready = True

    # ------------------------------------------------------------ runners --

    def run_age(self, tag):
        with open(os.devnull, "wb") as null:
            wall, cpu, rss = _spawn_timed(["age", "-d", "-i", self.identity, self.pkg], null)
        return self._metrics(wall, cpu, rss)

    def run_open(self, tag):
        out = os.path.join(self.tmp, f"open-{tag}")
        try:
            wall, cpu, rss = _spawn_timed([self.bin, "open", self.pkg, "-i", self.identity,
                                           "--verify-key", self.sign_pub, "-o", out])
            got = os.path.getsize(os.path.join(out, "files", "data.csv"))
            if got != self.size:
                raise RunFailed(f"open wrote {got} bytes, expected {self.size}")
        finally:
            shutil.rmtree(out, ignore_errors=True)
        return self._metrics(wall, cpu, rss)

    def run_worker(self, tag):
        name = f"pkg-{tag}.age"
        landed = os.path.join(self.inbox, name)
        try:
            os.link(self.pkg, landed)  # same bytes, no copy (tmpfs: no extra RAM)
        except OSError:
            shutil.copyfile(self.pkg, landed)
        db = sqlite3.connect(os.path.join(self.data, "knooppunt.db"), timeout=30)
        with db:
            # The same package every run: forget that it was accepted, or
            # intake refuses it as a duplicate (workers/duplicates.h).
            db.execute("DELETE FROM accepted_manifests")
            db.execute("INSERT INTO uploads(municipality, person, name, partial_name, size, "
                       "sha256, received_ms, state) VALUES (?, ?, ?, ?, ?, ?, ?, 'received')",
                       (MUNICIPALITY, PERSON, name, "." + name + ".partial", self.pkg_size,
                        self.pkg_sha256, int(time.time() * 1000)))
        db.close()
        receipt = os.path.join(self.outbox, name + ".receipt.json")
        log_path = os.path.join(self.tmp, "worker.log")
        deadline = 600
        with open(log_path, "ab") as log:
            t0 = time.monotonic()
            p = subprocess.Popen([self.bin, "worker", "--data", self.data],
                                 stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                 start_new_session=True)
        hwm = None
        try:
            while not os.path.exists(receipt):
                if p.poll() is not None:
                    raise RunFailed(f"worker exited {p.returncode} before the receipt (see {log_path})")
                if time.monotonic() - t0 > deadline:
                    raise RunFailed("no receipt within 600 s")
                time.sleep(0.002)
            wall = time.monotonic() - t0
            hwm = _vm_hwm_kib(p.pid)
        finally:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGTERM)
            try:
                _, _, ru = os.wait4(p.pid, 0)
                cpu = ru.ru_utime + ru.ru_stime
            except ChildProcessError:
                cpu = None
            p.returncode = 0
            self._clean(name)
        with open(receipt) as f:
            verdict = json.load(f)
        for suffix in (".receipt.json", ".receipt.json.minisig"):
            try:
                os.unlink(os.path.join(self.outbox, name + suffix))
            except FileNotFoundError:
                pass
        if verdict.get("verdict") != "accepted":
            raise RunFailed(f"worker rejected the package: {verdict.get('reason_code')}: "
                            f"{verdict.get('reason_text')}")
        return self._metrics(wall, cpu, hwm)

    def _clean(self, name):
        """Remove the upload and what the worker made of it (queue file,
        quarantine) so repeated runs do not fill the work dir."""
        try:
            os.unlink(os.path.join(self.inbox, name))
        except FileNotFoundError:
            pass
        for top in ("queue", "quarantine", "work"):
            d = os.path.join(self.data, top)
            for f in os.listdir(d) if os.path.isdir(d) else []:
                p = os.path.join(d, f)
                if os.path.isfile(p):
                    os.unlink(p)

    def _metrics(self, wall, cpu, rss_kib):
        gib = self.pkg_size / GIB
        return {"mbps": self.pkg_size / MB / wall,
                "cpu_per_gib": cpu / gib if cpu is not None else None,
                "peak_rss_mib": rss_kib / 1024 if rss_kib is not None else None}


METRICS = [("mbps", "throughput", "MB/s", "higher"),
           ("cpu_per_gib", "CPU", "s/GiB", "lower"),
           ("peak_rss_mib", "peak RSS", "MiB", "lower")]


# ----------------------------------------------------------- standalone --

def _summary(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals)}


def _fmt(v):
    if v is None:
        return "–"
    a = abs(v)
    return f"{v:.0f}" if a >= 100 else f"{v:.1f}" if a >= 10 else f"{v:.2f}"


def main(argv):
    p = argparse.ArgumentParser(prog="bench/lib/intake.py",
                                description="intake worker vs age -d (see the file's docstring)")
    p.add_argument("--quick", action="store_true", help="256 MiB, 1 warm-up + 3 runs")
    p.add_argument("--runs", type=int)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--bin", default=os.environ.get("KNOOPPUNT_BIN",
                                                   os.path.join(REPO, "build", "knooppunt")))
    p.add_argument("--tmp", help="work dir (default: a new dir under /dev/shm, else $TMPDIR)")
    p.add_argument("--disk", action="store_true",
                   help="work dir on the disk ($TMPDIR or /var/tmp), as a real data directory")
    p.add_argument("--size", type=int, help="package size in MiB (default 1024; --quick 256)")
    p.add_argument("--only", default="worker,age,open",
                   help="runners, comma-separated (worker, age, open)")
    p.add_argument("--results", default=os.path.join(REPO, "bench", "results"))
    a = p.parse_args(argv)
    runs = a.runs if a.runs is not None else (3 if a.quick else 5)
    size = a.size * MIB if a.size else (256 * MIB if a.quick else GIB)
    for tool in ("age", "age-keygen", "minisign", "ssh-keygen"):
        if not shutil.which(tool):
            print(f"intake.py: {tool} not found", file=sys.stderr)
            return 2
    own_tmp = a.tmp is None
    if own_tmp:
        base = None if a.disk else ("/dev/shm" if shutil.disk_usage("/dev/shm").free > 4 * size else None)
        if a.disk and not os.environ.get("TMPDIR"):
            base = "/var/tmp"  # often tmpfs-free where /tmp is not
        tmp = tempfile.mkdtemp(prefix="knooppunt-intake.", dir=base)
    else:
        tmp = a.tmp
    kind = "ram (tmpfs)" if tmp.startswith("/dev/shm") else "disk"
    load0 = open("/proc/loadavg").read().split()[:3]
    bench = IntakeBench(tmp, os.path.abspath(a.bin), size)
    runners = {"worker": bench.run_worker, "age": bench.run_age, "open": bench.run_open}
    order = [r for r in ("worker", "age", "open") if r in a.only.split(",")]
    results = {r: [] for r in order}
    errors = []
    try:
        print(f"intake.py: building a {size // MIB} MiB package in {tmp}", file=sys.stderr)
        bench.setup()
        for i in range(a.warmup + runs):
            warm = i < a.warmup
            for r in order:
                tag = f"{r}-{i}-{int(time.time() * 1000) % 10**8}"
                try:
                    m = runners[r](tag)
                except RunFailed as e:
                    errors.append(f"{r} run {i}: {e}")
                    print(f"  {r} {'warm-up' if warm else f'run {i - a.warmup + 1}'}: FAILED {e}",
                          file=sys.stderr)
                    m = None
                else:
                    print(f"  {r} {'warm-up' if warm else f'run {i - a.warmup + 1}'}: "
                          + ", ".join(f"{k}={_fmt(v)}" for k, v in m.items()), file=sys.stderr)
                if not warm:
                    results[r].append(m)
    finally:
        if own_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    load1 = open("/proc/loadavg").read().split()[:3]
    lines = [f"# intake: {size // MIB} MiB package, {a.warmup} warm-up + {runs} runs, alternating "
             f"({', '.join(order)})", "",
             f"- date: {time.strftime('%Y-%m-%d %H:%M:%S %z')}, work dir on {kind}, "
             f"{os.cpu_count()} CPUs, load average at start {' '.join(load0)}, at end {' '.join(load1)}",
             f"- binary: {os.path.relpath(os.path.abspath(a.bin), REPO)}", "",
             "| runner | metric | unit | median | min–max | ratio to age -d |",
             "| --- | --- | --- | ---: | ---: | ---: |"]
    summary = {}
    for r in order:
        summary[r] = {}
        for key, label, unit, _better in METRICS:
            s = _summary([m.get(key) if m else None for m in results[r]])
            summary[r][key] = s
    for r in order:
        for key, label, unit, _better in METRICS:
            s = summary[r][key]
            ref = summary.get("age", {}).get(key)
            ratio = (f"{s['median'] / ref['median']:.2f}"
                     if s and ref and ref["median"] and r != "age" else "")
            cells = [_fmt(s["median"]), f"{_fmt(s['min'])}–{_fmt(s['max'])}"] if s else ["failed", ""]
            lines.append(f"| {r} | {label} | {unit} | {cells[0]} | {cells[1]} | {ratio} |")
    if errors:
        lines += ["", "Failures:", ""] + [f"- {e}" for e in errors]
    md = "\n".join(lines) + "\n"
    print(md)
    os.makedirs(a.results, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    with open(os.path.join(a.results, f"{stamp}-intake.md"), "w") as f:
        f.write(md)
    with open(os.path.join(a.results, f"{stamp}-intake.json"), "w") as f:
        json.dump({"size": size, "runs": runs, "warmup": a.warmup, "runs_raw": results,
                   "summary": summary, "errors": errors, "loadavg": [load0, load1]}, f, indent=2)
    print(f"wrote bench/results/{stamp}-intake.md and .json", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

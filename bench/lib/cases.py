"""The benchmarks: what each one does to one server in one run.

A benchmark is a Case: a name, what it measures, the metrics it reports
(with the direction that is better), and run(ctx, server, tag) which does one
measured run against one server and returns {metric: value}. The harness
(harness.py) alternates the servers run by run and does the statistics, so a
case only knows how to drive a client and read the server's counters.

Cases that depend on features not built yet are Stub cases: they carry the
plan for the measurement and report "not yet available". To add one later,
replace the Stub with a Case whose run() does the work; nothing else changes.

Clients: OpenSSH's `sftp` in batch mode for transfers (the client real
municipalities use; fast enough that the client is not the bottleneck), and
paramiko for holding many idle sessions open cheaply in one process.
"""

import concurrent.futures
import os
import resource
import subprocess
import sys
import time
import warnings

import intake as intake_bench
import procstat

MIB = 1024 * 1024
GIB = 1024 * MIB
MB = 1000 * 1000

CIPHERS = {
    "aes128gcm": "aes128-gcm@openssh.com",
    "chacha20": "chacha20-poly1305@openssh.com",
}


# Key exchange and host key pinned for both sides, so both do the same
# work per session. OpenSSH 9.2 prefers the post-quantum hybrid
# sntrup761x25519-sha512, which libssh 0.10 (ours) does not offer; left to
# negotiate, sshd would pay ~0.3 s more per session than ours for a stronger
# key exchange, and `connect` would compare algorithms, not servers.
KEX = "curve25519-sha256"
HOSTKEY_ALG = "ssh-ed25519"


class RunFailed(Exception):
    """One run did not complete; the message says why (shown in the report)."""


class Context:
    """Per-invocation settings and the client-side data files."""

    def __init__(self, tmp, client_key, quick):
        self.tmp = tmp
        self.client_key = client_key
        self.quick = quick
        self.big_size = 256 * MIB if quick else GIB
        self.small_count = 500 if quick else 2000
        self.small_size = 16 * 1024
        self.conc_sizes = (50, 200)
        self.conc_bytes = 4 * MIB
        self.connect_count = 10 if quick else 20
        self.data = os.path.join(tmp, "data")
        self.big = os.path.join(self.data, "big.bin")
        self.small_dir = os.path.join(self.data, "small")
        self.conc_file = os.path.join(self.data, "conc.bin")
        self.download_dir = os.path.join(tmp, "downloads")
        self.batch_dir = os.path.join(tmp, "batches")
        self._made = set()

    def need(self, what):
        """Create the client-side data file(s) WHAT on first use."""
        if what in self._made:
            return
        os.makedirs(self.data, exist_ok=True)
        os.makedirs(self.download_dir, exist_ok=True)
        os.makedirs(self.batch_dir, exist_ok=True)
        if what == "big":
            _random_file(self.big, self.big_size)
        elif what == "small":
            os.makedirs(self.small_dir, exist_ok=True)
            for k in range(self.small_count):
                _random_file(os.path.join(self.small_dir, f"f{k:05d}.bin"),
                             self.small_size)
        elif what == "conc":
            _random_file(self.conc_file, self.conc_bytes)
        self._made.add(what)


def _random_file(path, size):
    """Write SIZE random (incompressible) bytes to PATH."""
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 4 * MIB)
            f.write(os.urandom(n))
            left -= n


# ---------------------------------------------------------------- clients --

def sftp_cmd(ctx, server, cipher=None):
    """argv for OpenSSH's sftp in batch mode (commands on stdin) against
    SERVER. No user config (-F /dev/null), no agent, no known_hosts."""
    cmd = ["sftp", "-b", "-", "-F", "/dev/null",
           "-o", "StrictHostKeyChecking=no",
           "-o", "UserKnownHostsFile=/dev/null",
           "-o", "LogLevel=ERROR",
           "-o", "BatchMode=yes",
           "-o", "IdentitiesOnly=yes",
           "-o", "IdentityAgent=none",
           "-o", "ConnectTimeout=30",
           "-o", f"KexAlgorithms={KEX}",
           "-o", f"HostKeyAlgorithms={HOSTKEY_ALG}",
           "-o", f"User={server.user}",
           "-i", ctx.client_key, "-P", str(server.port)]
    if cipher:
        cmd += ["-o", f"Ciphers={cipher}"]
    return cmd + ["127.0.0.1"]


def sftp_batch(ctx, server, lines, cipher=None, timeout=600):
    """Run one sftp session executing LINES; raise RunFailed unless it
    exits 0 within TIMEOUT seconds."""
    try:
        r = subprocess.run(sftp_cmd(ctx, server, cipher),
                           input="\n".join(lines) + "\n",
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RunFailed(f"sftp timed out after {timeout}s")
    if r.returncode != 0:
        raise RunFailed(f"sftp exited {r.returncode}: {r.stderr.strip()[-300:]}")


def measured(server, action):
    """Run ACTION() and return (wall seconds, server CPU seconds, client CPU
    seconds). Server CPU is read from the listener's process tree once the
    per-connection processes are gone (see procstat). Client CPU is the
    rusage of our reaped children (sftp and its ssh)."""
    procstat.wait_quiet(server.pid, server.base_procs)
    cpu0 = procstat.cpu_seconds(server.pid)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    action()
    wall = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if not procstat.wait_quiet(server.pid, server.base_procs):
        # Not fatal: the tree sum also counts live processes; only the reap
        # race is no longer excluded. A server that keeps a helper process
        # started during the run gets a new baseline, so later runs do not
        # each wait 15 s.
        now = len(procstat.tree(server.pid))
        print(f"  note: {server.name} kept {now - server.base_procs} extra "
              "process(es) after the run; new baseline", flush=True,
              file=sys.stderr)
        server.base_procs = now
    cpu1 = procstat.cpu_seconds(server.pid)
    client = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    return wall, cpu1 - cpu0, client


def check_alive(server):
    if not server.alive():
        raise RunFailed(f"{server.name} server has exited")


# ------------------------------------------------------------------ cases --

class Case:
    """One benchmark. METRICS: list of (key, label, unit, better) where
    better is "higher" or "lower"."""
    stub = False

    def __init__(self, name, title, how, metrics, run, prepare=None):
        self.name, self.title, self.how = name, title, how
        self.metrics, self._run, self._prepare = metrics, run, prepare

    def prepare(self, ctx, servers):
        if self._prepare:
            self._prepare(ctx, servers)

    def run(self, ctx, server, tag):
        check_alive(server)
        return self._run(ctx, server, tag)


class Stub(Case):
    """A benchmark whose subject is not built yet: reported as a row saying
    so, with the plan in HOW."""
    stub = True

    def __init__(self, name, title, how, reason):
        super().__init__(name, title, how, [], None)
        self.reason = reason


def _upload_big(cipher):
    def run(ctx, server, tag):
        ctx.need("big")
        remote = f"{server.remote_inbox}/up-{tag}.bin"
        try:
            wall, cpu, client = measured(server, lambda: sftp_batch(
                ctx, server, [f"put {ctx.big} {remote}"], cipher))
            landed = os.path.join(server.host_inbox, f"up-{tag}.bin")
            if os.path.exists(landed) and os.path.getsize(landed) != ctx.big_size:
                raise RunFailed(f"uploaded file has {os.path.getsize(landed)} bytes")
        finally:
            server.clear_inbox()
        gib = ctx.big_size / GIB
        return {"mbps": ctx.big_size / MB / wall, "cpu_per_gib": cpu / gib,
                "client_cpu_per_gib": client / gib}
    return run


def _prepare_download(ctx, servers):
    """Put the big file in each server's outbox (hard link when possible:
    same bytes, no extra RAM on tmpfs)."""
    ctx.need("big")
    for s in servers:
        os.makedirs(s.host_outbox, exist_ok=True)
        dst = os.path.join(s.host_outbox, "big.bin")
        if os.path.exists(dst):
            continue
        try:
            os.link(ctx.big, dst)
        except OSError:
            subprocess.run(["cp", ctx.big, dst], check=True)


def _download_big(cipher):
    def run(ctx, server, tag):
        local = os.path.join(ctx.download_dir, f"down-{tag}.bin")
        try:
            wall, cpu, client = measured(server, lambda: sftp_batch(
                ctx, server, [f"get {server.remote_outbox}/big.bin {local}"], cipher))
            got = os.path.getsize(local) if os.path.exists(local) else -1
            if got != ctx.big_size:
                raise RunFailed(f"downloaded {got} bytes, want {ctx.big_size}")
        finally:
            if os.path.exists(local):
                os.unlink(local)
        gib = ctx.big_size / GIB
        return {"mbps": ctx.big_size / MB / wall, "cpu_per_gib": cpu / gib,
                "client_cpu_per_gib": client / gib}
    return run


def _small_files(ctx, server, tag):
    ctx.need("small")
    names = sorted(os.listdir(ctx.small_dir))
    lines = [f"put {os.path.join(ctx.small_dir, n)} {server.remote_inbox}/s-{tag}-{n}"
             for n in names]
    try:
        wall, cpu, _client = measured(server, lambda: sftp_batch(
            ctx, server, lines, CIPHERS["aes128gcm"]))
        landed = sum(1 for n in names if os.path.exists(
            os.path.join(server.host_inbox, f"s-{tag}-{n}")))
        if landed not in (0, len(names)):   # 0: server stores under other names
            raise RunFailed(f"only {landed} of {len(names)} files landed")
    finally:
        server.clear_inbox()
    return {"files_per_s": len(names) / wall,
            "cpu_ms_per_file": 1000 * cpu / len(names)}


def _connect(ctx, server, tag):
    n = ctx.connect_count

    def sessions():
        for _ in range(n):
            sftp_batch(ctx, server, ["pwd"], CIPHERS["aes128gcm"], timeout=60)
    wall, cpu, _client = measured(server, sessions)
    return {"ms_per_session": 1000 * wall / n,
            "cpu_ms_per_session": 1000 * cpu / n}


# -- concurrency: idle memory with paramiko, then N parallel sftp uploads --

def _paramiko_sessions(ctx, server, n):
    """Open N authenticated SFTP sessions with paramiko (16 connecting at a
    time). Returns (clients, failures); the caller closes the clients."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import paramiko
    key = paramiko.Ed25519Key.from_private_key_file(ctx.client_key)

    def one(_):
        c = paramiko.SSHClient()
        c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        try:
            c.connect("127.0.0.1", port=server.port, username=server.user,
                      pkey=key, allow_agent=False, look_for_keys=False,
                      timeout=30, banner_timeout=30, auth_timeout=30)
            sftp = c.open_sftp()
            sftp.normalize(".")
            return (c, sftp)
        except Exception:  # any failure is counted, not raised
            c.close()
            return None

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        got = list(pool.map(one, range(n)))
    ok = [g for g in got if g is not None]
    return ok, n - len(ok)


def _close_all(sessions):
    for c, sftp in sessions:
        try:
            sftp.close()
        finally:
            c.close()


def _concurrency(n):
    def run(ctx, server, tag):
        ctx.need("conc")
        # Phase 1: memory with N sessions connected and idle.
        procstat.wait_quiet(server.pid, server.base_procs)
        base = procstat.pss_kib(server.pid)
        sessions, idle_fail = _paramiko_sessions(ctx, server, n)
        try:
            time.sleep(1.0)   # let per-session setup finish
            loaded = procstat.pss_kib(server.pid)
        finally:
            _close_all(sessions)
        per = (loaded - base) / max(1, len(sessions))

        # Phase 2: N sftp processes uploading at once.
        outcome = {"fails": 0}

        def burst():
            procs = []
            try:
                for k in range(n):
                    remote = f"{server.remote_inbox}/c{n}-{tag}-{k}.bin"
                    p = subprocess.Popen(sftp_cmd(ctx, server, CIPHERS["aes128gcm"]),
                                         stdin=subprocess.PIPE,
                                         stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, text=True)
                    procs.append(p)
                    p.stdin.write(f"put {ctx.conc_file} {remote}\n")
                    p.stdin.close()
                deadline = time.monotonic() + 300
                fails = 0
                for p in procs:
                    try:
                        rc = p.wait(timeout=max(1, deadline - time.monotonic()))
                    except subprocess.TimeoutExpired:
                        rc = -1
                    fails += rc != 0
                outcome["fails"] = fails
            finally:
                # Timed out or interrupted: end our own clients by pid.
                for p in procs:
                    if p.poll() is None:
                        p.kill()
                        p.wait()
        try:
            wall, cpu, _client = measured(server, burst)
        finally:
            server.clear_inbox()
        ok_bytes = (n - outcome["fails"]) * ctx.conc_bytes
        return {"rest_pss_mib": base / 1024,
                "mbps": ok_bytes / MB / wall,
                "failures": outcome["fails"] + idle_fail,
                "cpu_per_gib": cpu / (ok_bytes / GIB) if ok_bytes else None,
                "idle_pss_mib": loaded / 1024,
                "pss_per_session_kib": per}
    return run


def _prepare_intake(ctx, servers):
    """Build the package once (its own data dir, not the serving one, so
    the server's own workers never see it)."""
    if getattr(ctx, "intake", None) is None:
        ours = next((s for s in servers if s.name == "ours"), None)
        binary = ours.bin if ours else os.environ.get("KNOOPPUNT_BIN", "build/knooppunt")
        ctx.intake = intake_bench.IntakeBench(ctx.tmp, binary, ctx.big_size)
    ctx.intake_error = None
    try:
        ctx.intake.setup()
    except intake_bench.RunFailed as e:
        # Reported by every run of the case (prepare must not raise).
        ctx.intake_error = f"intake setup failed: {e}"


def _intake(ctx, server, tag):
    """ours: the worker, then `knooppunt open`; openssh side: `age -d`."""
    if ctx.intake_error:
        raise RunFailed(ctx.intake_error)
    try:
        if server.name != "ours":
            return ctx.intake.run_age(tag)
        m = ctx.intake.run_worker(tag)
        o = ctx.intake.run_open(tag)
    except intake_bench.RunFailed as e:
        raise RunFailed(str(e))
    m["open_mbps"] = o["mbps"]
    m["open_cpu_per_gib"] = o["cpu_per_gib"]
    return m


def all_cases(ctx):
    """Every benchmark, in the order they run."""
    cases = []
    transfer_metrics = [
        ("mbps", "throughput", "MB/s", "higher"),
        ("cpu_per_gib", "server CPU", "s/GiB", "lower"),
        ("client_cpu_per_gib", "client CPU (sftp+ssh)", "s/GiB", "lower"),
    ]
    size = "256 MiB" if ctx.quick else "1 GiB"
    for short, cipher in CIPHERS.items():
        cases.append(Case(
            f"upload-{short}", f"upload {size}, {cipher}",
            "sftp -b: one `put` of a random file into the inbox",
            transfer_metrics, _upload_big(cipher)))
    for short, cipher in CIPHERS.items():
        cases.append(Case(
            f"download-{short}", f"download {size}, {cipher}",
            "sftp -b: one `get` of a random file from the outbox to the temp dir",
            transfer_metrics, _download_big(cipher), prepare=_prepare_download))
    cases.append(Case(
        "small-files", f"{ctx.small_count} files of 16 KiB, one session",
        "sftp -b: one session with one `put` line per file (aes128-gcm)",
        [("files_per_s", "files", "files/s", "higher"),
         ("cpu_ms_per_file", "server CPU", "ms/file", "lower")],
        _small_files))
    cases.append(Case(
        "connect", f"{ctx.connect_count} sequential sessions (`pwd` only)",
        "sftp -b: connect, authenticate (ed25519), open SFTP, pwd, bye",
        [("ms_per_session", "session setup", "ms", "lower"),
         ("cpu_ms_per_session", "server CPU", "ms/session", "lower")],
        _connect))
    for n in ctx.conc_sizes:
        cases.append(Case(
            f"concurrency-{n}", f"{n} sessions x {ctx.conc_bytes // MIB} MiB upload at once",
            f"{n} idle paramiko sessions for memory, then {n} parallel sftp "
            f"processes each putting {ctx.conc_bytes // MIB} MiB (aes128-gcm)",
            [("rest_pss_mib", "server PSS at rest (before the sessions)", "MiB", "lower"),
             ("mbps", "aggregate throughput", "MB/s", "higher"),
             ("failures", "failed sessions", "count", "lower"),
             ("cpu_per_gib", "server CPU", "s/GiB", "lower"),
             ("idle_pss_mib", f"server PSS, {n} idle sessions", "MiB", "lower"),
             ("pss_per_session_kib", "PSS per idle session", "KiB", "lower")],
            _concurrency(n)))
    cases.append(Case(
        "intake", f"intake: open+verify+reseal {size} package",
        "one package (one file of random bytes) sealed with `knooppunt seal`; "
        "ours = `knooppunt worker` from start until the signed receipt is in "
        "the outbox (age open, tar read, SHA-256 per file, signature and "
        "manifest checks, reseal to staff, fsync), then `knooppunt open` of "
        "the same package into the work dir; openssh column = stock "
        "`age -d -i KEY PKG > /dev/null` (see bench/lib/intake.py)",
        [("mbps", "throughput (ours: worker)", "MB/s", "higher"),
         ("cpu_per_gib", "CPU (ours: worker)", "s/GiB", "lower"),
         ("peak_rss_mib", "peak RSS (ours: worker)", "MiB", "lower"),
         ("open_mbps", "`knooppunt open` throughput", "MB/s", "higher"),
         ("open_cpu_per_gib", "`knooppunt open` CPU", "s/GiB", "lower")],
        _intake, prepare=_prepare_intake))
    cases.append(Stub(
        "end-to-end", "1,000 packages of 4 KiB, upload to receipt",
        "seal 1,000 small packages, upload them in one session, wait until "
        "every receipt is in the outbox; packages/s and p50/p99 latency "
        "(no OpenSSH counterpart: ratio n/a)",
        "run by bench/e2e.sh (per-package latency needs its own timing; "
        "bench/README.md, \"End to end\")"))
    return cases

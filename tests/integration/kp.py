"""Helpers for the integration tests: run the real `knooppunt` binary, build a
data directory with real keys (ssh-keygen, minisign, age-keygen), start and
stop `knooppunt serve` on a free loopback port, and connect real SFTP clients.

Everything here is deliberately plain: subprocesses with timeouts, SQLite read
with the standard library, paramiko for in-process SFTP. The tests judge the
gateway only by what a client, the data directory and the store show, never by
its internals.
"""

import hashlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import time

import paramiko
import paramiko.file
import paramiko.sftp

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("KNOOPPUNT_BIN", os.path.join(REPO, "build", "knooppunt"))

# Options that make OpenSSH clients non-interactive and blind to known_hosts,
# so a fresh host key per test data directory never stops them.
SSH_OPTS = [
    "-o", "BatchMode=yes",
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "GlobalKnownHostsFile=/dev/null",
    "-o", "IdentitiesOnly=yes",
    "-o", "LogLevel=ERROR",
    "-o", "ConnectTimeout=10",
    "-F", "/dev/null",
]

DAY_MS = 86400 * 1000


def now_ms():
    """Wall-clock milliseconds since the epoch, like the store's *_ms columns."""
    return int(time.time() * 1000)


def sha256_file(path):
    """Lowercase hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def free_port():
    """A loopback TCP port that was free a moment ago (bind port 0, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args, timeout=60, input=None, env=None, cwd=None):
    """Runs a command, capturing text output; never hangs past `timeout`."""
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                          input=input, env=env, cwd=cwd)


def kp(*args, data=None, timeout=60):
    """Runs `knooppunt ARGS [--data DATA]` and returns the CompletedProcess."""
    argv = [BIN] + [str(a) for a in args]
    if data is not None:
        argv += ["--data", str(data)]
    return run(argv, timeout=timeout)


def kp_ok(*args, data=None):
    """Like kp(), but fails the test unless the command succeeded."""
    r = kp(*args, data=data)
    assert r.returncode == 0, f"knooppunt {' '.join(map(str, args))} -> {r.returncode}\n{r.stderr}"
    return r


# ---------------------------------------------------------------- key material

class Identity:
    """One account's keys: SSH (private + .pub), minisign (pub/sec), age."""

    def __init__(self, directory, name, ssh_type="ed25519", ssh_bits=None):
        os.makedirs(directory, exist_ok=True)
        self.name = name
        self.ssh_key = os.path.join(directory, f"{name}.ssh")
        self.ssh_pub = self.ssh_key + ".pub"
        argv = ["ssh-keygen", "-q", "-t", ssh_type, "-N", "", "-C", name, "-f", self.ssh_key]
        if ssh_bits:
            argv[4:4] = ["-b", str(ssh_bits)]
        r = run(argv, timeout=120)
        assert r.returncode == 0, r.stderr
        self.sign_pub = os.path.join(directory, f"{name}.minisign.pub")
        self.sign_sec = os.path.join(directory, f"{name}.minisign.sec")
        r = run(["minisign", "-G", "-W", "-p", self.sign_pub, "-s", self.sign_sec])
        assert r.returncode == 0, r.stderr
        self.age_key = os.path.join(directory, f"{name}.age")
        r = run(["age-keygen", "-o", self.age_key])
        assert r.returncode == 0, r.stderr
        r = run(["age-keygen", "-y", self.age_key])
        assert r.returncode == 0, r.stderr
        self.recipient = r.stdout.strip()

    def pkey(self):
        """The SSH private key as a paramiko key object."""
        kind = open(self.ssh_pub).read().split()[0]
        cls = {"ssh-ed25519": paramiko.Ed25519Key, "ssh-rsa": paramiko.RSAKey}.get(kind, paramiko.ECDSAKey)
        return cls.from_private_key_file(self.ssh_key)


# ---------------------------------------------------------------- data directory

class DataDir:
    """A `knooppunt init`ed data directory plus convenience registry commands."""

    def __init__(self, path, template=None):
        """Runs `knooppunt init` at `path`, or copies an initialised `template`
        (init makes an RSA-3072 host key, too slow to repeat for every test)."""
        self.path = str(path)
        if template is None:
            kp_ok("init", data=self.path)
        else:
            shutil.copytree(str(template), self.path)

    # -- files
    @property
    def conf(self):
        return os.path.join(self.path, "knooppunt.conf")

    @property
    def db_path(self):
        return os.path.join(self.path, "knooppunt.db")

    def queued(self, name):
        """The bytes staff download for DATA/queue/NAME. A rewrapped package is
        two parts (common/pair_file.h): the head (the new age header, then an
        8-byte big-endian offset) and DATA/queue/.payload/NAME, the upload,
        whose bytes from that offset follow the header."""
        head = open(os.path.join(self.path, "queue", name), "rb").read()
        payload = os.path.join(self.path, "queue", ".payload", name)
        if not os.path.exists(payload):
            return head
        skip = int.from_bytes(head[-8:], "big")
        return head[:-8] + open(payload, "rb").read()[skip:]

    def box(self, code, sub=""):
        return os.path.join(self.path, "boxes", code, sub) if sub else os.path.join(self.path, "boxes", code)

    def set(self, key, value):
        """Replaces the `key = value` line of the settings file (or appends it)."""
        lines = open(self.conf).read().splitlines()
        out, done = [], False
        for line in lines:
            stripped = line.strip()
            if not stripped.startswith("#") and "=" in stripped and stripped.split("=", 1)[0].strip() == key:
                out.append(f"{key} = {value}")
                done = True
            else:
                out.append(line)
        if not done:
            out.append(f"{key} = {value}")
        # Atomically: a worker re-reads the file every sweep, and a half-written
        # (or empty) file would read as the defaults (a 1-minute sweep interval).
        tmp = self.conf + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(out) + "\n")
        os.chmod(tmp, os.stat(self.conf).st_mode & 0o777)
        os.replace(tmp, self.conf)

    # -- store
    def sql(self, query, params=()):
        """Runs one statement against the store; returns all rows (as dicts)."""
        con = sqlite3.connect(self.db_path, timeout=30)
        try:
            con.row_factory = sqlite3.Row
            cur = con.execute(query, params)
            rows = [dict(r) for r in cur.fetchall()]
            con.commit()
            return rows
        finally:
            con.close()

    def audit(self, event=None, outcome=None, actor=None, since_id=0):
        q, p = "SELECT * FROM audit_events WHERE id > ?", [since_id]
        for col, val in (("event", event), ("outcome", outcome), ("actor", actor)):
            if val is not None:
                q += f" AND {col} = ?"
                p.append(val)
        return self.sql(q + " ORDER BY id", p)

    def last_audit_id(self):
        rows = self.sql("SELECT COALESCE(MAX(id), 0) AS m FROM audit_events")
        return rows[0]["m"]

    def uploads(self, code=None):
        if code:
            return self.sql("SELECT * FROM uploads WHERE municipality = ? ORDER BY id", (code,))
        return self.sql("SELECT * FROM uploads ORDER BY id")

    # -- registry
    def municipality(self, code, name="Gemeente", recipients=()):
        args = ["municipality", "add", code, "--name", name]
        if recipients:
            args += ["--recipient", ",".join(recipients)]
        kp_ok(*args, data=self.path)

    def person(self, ident, email=None):
        args = ["person", "add", ident.name, "--ssh-key", ident.ssh_pub, "--sign-key", ident.sign_pub]
        if email:
            args += ["--email", email]
        kp_ok(*args, data=self.path)

    def staff(self, ident):
        kp_ok("staff", "add", ident.name, "--ssh-key", ident.ssh_pub, "--recipient", ident.recipient,
              "--sign-key", ident.sign_pub, data=self.path)

    def auditor(self, ident):
        kp_ok("auditor", "add", ident.name, "--ssh-key", ident.ssh_pub, data=self.path)

    def grant(self, person, code, *extra):
        kp_ok("mandate", "grant", person, code, *extra, data=self.path)

    def revoke(self, person, code):
        kp_ok("mandate", "revoke", person, code, data=self.path)


# ---------------------------------------------------------------- the server

def _die_with_parent():
    """In the child before exec: SIGKILL when the test run dies, so a killed
    pytest never leaves a server listening."""
    import ctypes
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Server:
    """`knooppunt serve` on free loopback ports; stderr goes to a log file."""

    def __init__(self, datadir, http=False, bin=None):
        self.data = datadir
        self.bin = bin or BIN
        self.port = free_port()
        # Always a port of our own: the settings default (8080) would collide
        # between servers of parallel tests.
        self.http_port = free_port()
        self.proc = None
        self.log_path = os.path.join(datadir.path, f"serve-{self.port}.log")

    def start(self, timeout=20):
        argv = [self.bin, "serve", "--data", self.data.path, "--listen", f"127.0.0.1:{self.port}",
                "--http", f"127.0.0.1:{self.http_port}"]
        self.log = open(self.log_path, "ab")
        # A process group of its own, so a kill reaches per-connection children too.
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                     start_new_session=True, preexec_fn=_die_with_parent)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"knooppunt serve exited {self.proc.returncode}:\n{self.log_text()}")
            if "event=serve.listening" in self.log_text() and self._connectable():
                return self
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"knooppunt serve not ready within {timeout}s:\n{self.log_text()}")

    def _connectable(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def stop(self):
        """Terminates the server and its process group (SIGTERM, then SIGKILL)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill9()
        self._reap_group()
        self.proc = None
        self.log.close()

    def kill9(self):
        """SIGKILL to the whole process group: a crash, no cleanup."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self._reap_group()

    def _reap_group(self):
        # Per-connection children may outlive the parent briefly; make sure none stays.
        pid = self.proc.pid
        for _ in range(50):
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                return
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                return
            time.sleep(0.05)


def start_server(datadir, http=False):
    return Server(datadir, http=http).start()


# ---------------------------------------------------------------- clients

class Conn:
    """A paramiko SSH transport with an SFTP client; close() tears both down."""

    def __init__(self, transport, sftp):
        self.transport = transport
        self.sftp = sftp

    def close(self):
        try:
            if self.sftp is not None:
                self.sftp.close()
        except Exception:
            pass
        self.transport.close()

    def __enter__(self):
        return self.sftp

    def __exit__(self, *exc):
        self.close()


def connect(port, user, ident_or_key, timeout=15, sftp=True):
    """Logs in with public-key auth and opens SFTP (unless sftp=False: then
    Conn.sftp is None). Raises paramiko errors on refusal."""
    pkey = ident_or_key.pkey() if isinstance(ident_or_key, Identity) else ident_or_key
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    t = paramiko.Transport(sock)
    t.banner_timeout = timeout
    t.auth_timeout = timeout
    try:
        t.start_client(timeout=timeout)
        t.auth_publickey(user, pkey)
        client = None
        if sftp:
            client = open_sftp(t, timeout)
    except Exception:
        t.close()
        raise
    return Conn(t, client)


def open_sftp(transport, timeout=15):
    """One more SFTP channel on a transport, never waiting longer than
    `timeout` for the server's answer (paramiko's default is an hour)."""
    ch = transport.open_session(timeout=timeout)
    ch.settimeout(timeout)
    ch.invoke_subsystem("sftp")
    return paramiko.SFTPClient(ch)


def login_refused(port, user, ident_or_key):
    """True when public-key login (or opening SFTP right after) is refused."""
    try:
        c = connect(port, user, ident_or_key)
    except (paramiko.SSHException, EOFError, OSError):
        return True
    try:
        c.sftp.listdir("/")
    except (IOError, OSError, paramiko.SSHException, EOFError):
        c.close()
        return True
    c.close()
    return False


def ssh_argv(tool, port, user, ident, *rest):
    """argv for an OpenSSH client (ssh, sftp, scp) logging in as `user`."""
    port_flag = "-p" if tool == "ssh" else "-P"
    return [tool, port_flag, str(port), "-i", ident.ssh_key, "-o", f"User={user}"] + SSH_OPTS + list(rest)


def write_random(path, size, seed=None):
    """Writes `size` pseudo-random bytes to `path`; returns their sha256 hex."""
    data = os.urandom(size)
    with open(path, "wb") as f:
        f.write(data)
    return sha256_bytes(data)


def wait_for(predicate, timeout=10, interval=0.05):
    """Polls `predicate` until it is truthy or `timeout` passes; returns its last value."""
    deadline = time.time() + timeout
    value = predicate()
    while not value and time.time() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


# ---------------------------------------------------------------- SFTP helpers

# What a refused SFTP operation raises in paramiko: an SFTP status (OSError
# subclasses), or the session ending (SSHException, EOFError).
REFUSED = (OSError, paramiko.SSHException, EOFError)


def strict_close(sftp, f):
    """Closes an SFTP file handle and RAISES when the server refuses a
    pending WRITE or the CLOSE itself. paramiko's own close() swallows both
    (and a dropped connection), which would make a refused or lost upload
    look like a success."""
    f.flush()
    # paramiko files pipelined WRITE statuses under NoneType and ignores them
    # unless read through the file's own queue; read every one, in order.
    while f._reqs:
        t, _ = sftp._read_response(f._reqs.popleft())  # raises on an error status
        if t != paramiko.sftp.CMD_STATUS:
            raise paramiko.SFTPError("expected a status for WRITE")
    handle = f.handle
    paramiko.file.BufferedFile.close(f)  # marks it closed; paramiko sends no CLOSE of its own
    sftp._request(paramiko.sftp.CMD_CLOSE, handle)


def upload(sftp, path, data, chunk=32768, mode="wb", pipelined=True):
    """Writes `data` to `path` the way most clients do (open, write, close),
    pipelined like OpenSSH and WinSCP; raises on any refusal, including one
    the server only reports at CLOSE. Returns the sha256 hex of `data`."""
    f = sftp.open(path, mode)
    try:
        f.set_pipelined(pipelined)
        for i in range(0, len(data), chunk):
            f.write(data[i:i + chunk])
        strict_close(sftp, f)
    finally:
        if not f._closed:
            f.close()
    return sha256_bytes(data)


def download(sftp, path):
    with sftp.open(path, "rb") as f:
        f.prefetch()
        return f.read()


def fails(fn, *args, **kwargs):
    """True when fn(*args) raises one of REFUSED; the exception is kept in fails.last."""
    try:
        fn(*args, **kwargs)
    except REFUSED as e:
        fails.last = e
        return True
    fails.last = None
    return False


class Session:
    """A paramiko SFTP session that reconnects when the server ended it
    (a gateway may end a session on a malformed request; the next probe
    must still run)."""

    def __init__(self, port, user, ident):
        self.port, self.user, self.ident = port, user, ident
        self.conn = None

    @property
    def sftp(self):
        if self.conn is None or not self.conn.transport.is_active() or self._channel_gone():
            if self.conn is not None:
                self.conn.close()
            self.conn = connect(self.port, self.user, self.ident)
        return self.conn.sftp

    def _channel_gone(self):
        ch = self.conn.sftp.get_channel()
        return ch is None or ch.closed or ch.eof_received

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None


def tree(path):
    """Every file below `path` (relative name -> bytes), for before/after comparisons."""
    out = {}
    for root, dirs, files in os.walk(path):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            p = os.path.join(root, name)
            rel = os.path.relpath(p, path)
            if os.path.islink(p):
                out[rel] = b"->" + os.readlink(p).encode()
            else:
                with open(p, "rb") as f:
                    out[rel] = f.read()
    return out

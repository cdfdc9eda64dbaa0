"""The two servers under test, behind one small interface.

OpenSSHServer runs the system's /usr/sbin/sshd in the foreground with its own
config, host key and authorized_keys inside the benchmark's temp dir, serving
only internal-sftp on a free loopback port. KnooppuntServer creates a fresh
data directory with `knooppunt init`, raises the limits that would otherwise
throttle a benchmark, registers one municipality, person and mandate, and
runs `knooppunt serve` on another free loopback port.

Both expose the same attributes so a benchmark can treat them alike:
  name, port, user, pid (the listener, root of the process tree we measure),
  remote_inbox / remote_outbox (SFTP paths to upload into / download from),
  host_inbox / host_outbox (the same directories on the host),
  start(), stop(), clear_inbox().
Servers run in their own process group so stop() ends exactly what we started.
"""

import os
import shutil
import signal
import socket
import subprocess
import time

import procstat

SSHD = "/usr/sbin/sshd"
MUNICIPALITY = "GM0363"
PERSON = "j.jansen"

# Settings raised for benchmarks (written over the defaults from `init`).
KNOOPPUNT_SETTINGS = {
    "max_connections_per_source": "1000",
    "max_connections": "1000",
    "max_startups": "1000",
    "max_startups_per_source": "1000",
    "max_files_per_day": "1000000",
    "max_bytes_per_day": "1099511627776",
    "max_file_size": "4294967296",
    # Same as the LoginGraceTime we give sshd: hundreds of simultaneous
    # handshakes on a small machine can take longer than the default 30 s.
    "login_grace_seconds": "120",
}


class ServerError(Exception):
    """A server could not be set up or started; the message says why."""


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _log_has(path, marker, offset):
    """Whether MARKER occurs in the file at PATH after byte OFFSET."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return marker.encode() in f.read()
    except OSError:
        return False


def wait_ready(port, proc, log_path=None, marker=None, offset=0, timeout=20.0):
    """Wait until the server is ready, or PROC exits, or TIMEOUT passes.
    Returns True when ready. With MARKER, ready means MARKER appeared in
    LOG_PATH after byte OFFSET (no connection is made, so a server that counts aborted
    connections as failed logins is not provoked); otherwise, or if the
    marker never comes, ready means 127.0.0.1:PORT answers with an SSH
    banner."""
    deadline = time.monotonic() + timeout
    if marker:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            if _log_has(log_path, marker, offset):
                return True
            time.sleep(0.05)
        deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.settimeout(2)
                if s.recv(64).startswith(b"SSH-"):
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def _run(cmd, **kw):
    """Run a setup command; raise ServerError with its stderr on failure."""
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=120, **kw)
    if r.returncode != 0:
        why = " / ".join((r.stderr or r.stdout).strip().splitlines())
        raise ServerError(f"{' '.join(cmd)} exited {r.returncode}: {why[-800:]}")
    return r.stdout


def _tail(path, n=20):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


class _Server:
    name = "?"

    def __init__(self, tmp, client_key):
        self.tmp = tmp
        self.client_key = client_key
        self.port = None
        self.proc = None
        self.base_procs = 1
        self.log_path = None

    @property
    def pid(self):
        return self.proc.pid

    ready_marker = None

    def _spawn(self, cmd, env=None):
        self.port = self.port or free_port()
        if getattr(self, "log", None) is not None and not self.log.closed:
            self.log.close()
        self.log = open(self.log_path, "ab")
        offset = self.log.tell()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log,
                                     start_new_session=True, env=env)
        register_pgid(self.tmp, self.proc.pid)
        if not wait_ready(self.port, self.proc, self.log_path, self.ready_marker,
                          offset):
            self.stop()
            log = " / ".join(_tail(self.log_path, 5).split("\n")).strip(" /")
            raise ServerError(f"{self.name} did not start on port {self.port} "
                              f"(log: {log[-500:]})")
        time.sleep(0.2)
        self.base_procs = len(procstat.tree(self.pid))

    def stop(self):
        """End the server's process group (started by us) and wait for it."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
        # Per-connection children may outlive a killed listener briefly.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.log.close()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    scratch_dirs = ()

    def clear_inbox(self):
        """Delete every uploaded file (and leftover partial, and for ours
        anything moved to quarantine) on the host so repeated runs do not
        fill the work dir. Directories stay."""
        for top in (self.host_inbox, *self.scratch_dirs):
            self._clear(top)

    @staticmethod
    def _clear(top):
        for dirpath, _dirs, files in os.walk(top):
            for f in files:
                try:
                    os.unlink(os.path.join(dirpath, f))
                except FileNotFoundError:
                    pass


def register_pgid(tmp, pgid):
    """Record a process group we started, so bench/run's EXIT trap can end it
    even if this Python process is killed."""
    with open(os.path.join(tmp, "pgids"), "a") as f:
        f.write(f"{pgid}\n")


class OpenSSHServer(_Server):
    """sshd -D -e with internal-sftp for root, keys and config in TMP/openssh."""
    name = "openssh"

    def __init__(self, tmp, client_key):
        super().__init__(tmp, client_key)
        self.dir = os.path.join(tmp, "openssh")
        self.root = os.path.join(self.dir, "srv")
        self.host_inbox = os.path.join(self.root, "inbox")
        self.host_outbox = os.path.join(self.root, "outbox")
        self.remote_inbox = self.host_inbox      # no chroot: real paths
        self.remote_outbox = self.host_outbox
        self.user = "root"
        self.log_path = os.path.join(self.dir, "sshd.log")

    def setup(self):
        os.makedirs(self.host_inbox, exist_ok=True)
        os.makedirs(self.host_outbox, exist_ok=True)
        if not os.path.isdir("/run/sshd"):
            # sshd refuses to start without its privilege separation dir.
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        hostkey = os.path.join(self.dir, "ssh_host_ed25519_key")
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bench-host",
              "-f", hostkey])
        authorized = os.path.join(self.dir, "authorized_keys")
        shutil.copyfile(self.client_key + ".pub", authorized)
        self.port = free_port()
        self.config = os.path.join(self.dir, "sshd_config")
        with open(self.config, "w") as f:
            f.write(f"""# sshd for bench/run only: loopback, key auth, internal-sftp.
Port {self.port}
ListenAddress 127.0.0.1
HostKey {hostkey}
PidFile {os.path.join(self.dir, 'sshd.pid')}
AuthorizedKeysFile {authorized}
UsePAM no
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers root
UseDNS no
PrintMotd no
PermitTTY no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
LogLevel ERROR
# The concurrency benchmark opens hundreds of sessions at once; the default
# MaxStartups 10:30:100 would drop most of them before authentication.
MaxStartups 1000
LoginGraceTime 120
Subsystem sftp internal-sftp
ForceCommand internal-sftp -d {self.root}
""")
        _run([SSHD, "-t", "-f", self.config])

    def start(self):
        self._spawn([SSHD, "-D", "-e", "-f", self.config])

    def version(self):
        r = subprocess.run(["ssh", "-V"], stderr=subprocess.PIPE, text=True)
        return r.stderr.strip()


class KnooppuntServer(_Server):
    """`knooppunt serve` on a fresh data dir in TMP/knooppunt-data."""
    name = "ours"
    ready_marker = "event=serve.listening"

    def __init__(self, tmp, client_key, binary):
        super().__init__(tmp, client_key)
        self.bin = binary
        self.data = os.path.join(tmp, "knooppunt-data")
        self.host_inbox = os.path.join(self.data, "boxes", MUNICIPALITY, "inbox")
        self.host_outbox = os.path.join(self.data, "boxes", MUNICIPALITY, "outbox")
        self.scratch_dirs = (os.path.join(self.data, "quarantine"),)
        self.remote_inbox = "/inbox"
        self.remote_outbox = "/outbox"
        self.user = f"{PERSON}@{MUNICIPALITY}"
        self.log_path = os.path.join(tmp, "knooppunt.log")
        self.env = dict(os.environ, KNOOPPUNT_DATA=self.data)
        self.http_port = None

    def _kp(self, *args):
        return _run([self.bin, *args], env=self.env)

    def setup(self):
        self._kp("init", "--data", self.data)
        self._raise_limits(os.path.join(self.data, "knooppunt.conf"))
        sign_pub = os.path.join(self.tmp, "minisign.pub")
        sign_sec = os.path.join(self.tmp, "minisign.key")
        _run(["minisign", "-G", "-W", "-p", sign_pub, "-s", sign_sec])
        self._kp("municipality", "add", MUNICIPALITY, "--name", "Amsterdam",
                 "--data", self.data)
        self._kp("person", "add", PERSON, "--ssh-key", self.client_key + ".pub",
                 "--sign-key", sign_pub, "--data", self.data)
        self._kp("mandate", "grant", PERSON, MUNICIPALITY, "--level", "EH3",
                 "--scope", "upload,download", "--data", self.data)
        os.makedirs(self.host_outbox, exist_ok=True)
        self.port = free_port()

    @staticmethod
    def _raise_limits(conf):
        """Replace the `key = value` line of each benchmark setting (keeping
        everything else, comments included); append keys that are missing."""
        with open(conf) as f:
            lines = f.read().splitlines()
        todo = dict(KNOOPPUNT_SETTINGS)
        out = []
        for line in lines:
            key = line.split("=", 1)[0].strip() if "=" in line else None
            if key in todo and not line.lstrip().startswith("#"):
                out.append(f"{key} = {todo.pop(key)}")
            else:
                out.append(line)
        if todo:
            out.append("# raised by bench/run")
            out.extend(f"{k} = {v}" for k, v in todo.items())
        with open(conf, "w") as f:
            f.write("\n".join(out) + "\n")

    def start(self):
        # Its own HTTP port too: the default (8080) may be taken, and two
        # benchmark runs must not collide.
        self.http_port = self.http_port or free_port()
        self._spawn([self.bin, "serve", "--data", self.data,
                     "--listen", f"127.0.0.1:{self.port}",
                     "--http", f"127.0.0.1:{self.http_port}"], env=self.env)

    def version(self):
        r = subprocess.run([self.bin, "--version"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        out = r.stdout.strip().splitlines()
        return out[0] if r.returncode == 0 and out else "knooppunt (no --version)"

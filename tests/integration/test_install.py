"""The installed service (packaging/): `cmake --install` into a DESTDIR puts
every file in its FHS place with a man page per command; the systemd units
pass `systemd-analyze verify` without a single warning and keep their
exposure score; the Debian package installs with `dpkg -i` into a fresh
Debian root (debootstrap --variant=minbase, cached in the build directory
for the rest of the CI run), where its postinst made the system users and
an initialised data directory, and `knooppunt init` and `--version` run.

Real tools only: cmake, help2man (through the install), man, systemd-analyze,
cpack with dpkg-shlibdeps, debootstrap, dpkg and chroot.
"""

import hashlib
import os
import re
import shutil
import subprocess
import time

import pytest

import kp

BUILD = os.path.dirname(os.path.abspath(kp.BIN))
DATA = "/var/lib/knooppunt"
UNITS = ("knooppunt.service", "knooppunt-worker.service")


def cmake_cache(key):
    with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
        for line in f:
            m = re.match(re.escape(key) + r":[A-Z]+=(.*)$", line.rstrip("\n"))
            if m:
                return m.group(1)
    return None


def run_ok(args, timeout=600, **kw):
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    assert r.returncode == 0, f"{args}: {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


def command_words():
    """["audit verify", "init", ...]: every command `knooppunt --help` lists."""
    out = run_ok([kp.BIN, "--help"]).stdout
    words = []
    for line in out.splitlines():
        if not line.startswith("  knooppunt "):
            continue
        w = []
        for token in line.split()[1:]:
            if not re.fullmatch(r"[a-z-]+", token) or token.startswith("-"):
                break
            w.append(token)
        words.append(" ".join(w))
    return words


@pytest.fixture(scope="module")
def prefix():
    p = cmake_cache("CMAKE_INSTALL_PREFIX")
    assert p == "/usr", f"the build is configured for prefix {p}; the package and these checks expect /usr"
    return p


@pytest.fixture(scope="module")
def destdir(tmp_path_factory, prefix):
    dest = str(tmp_path_factory.mktemp("destdir"))
    run_ok(["cmake", "--install", BUILD], env={**os.environ, "DESTDIR": dest})
    return dest


def test_install_puts_the_binary_units_settings_link_and_nothing_else(destdir):
    files = sorted(os.path.relpath(os.path.join(d, f), destdir)
                   for d, _, fs in os.walk(destdir) for f in fs)
    man = [f for f in files if f.startswith("usr/share/man/man1/")]
    assert [f for f in files if f not in man] == [
        "etc/knooppunt/knooppunt.conf",
        "lib/systemd/system/knooppunt-worker.service",
        "lib/systemd/system/knooppunt.service",
        "usr/bin/knooppunt",
    ]
    binary = os.path.join(destdir, "usr/bin/knooppunt")
    assert os.stat(binary).st_mode & 0o777 == 0o755
    assert run_ok([binary, "--version"]).stdout == run_ok([kp.BIN, "--version"]).stdout
    # The settings live in the data directory (backups carry them); /etc
    # points there.
    link = os.path.join(destdir, "etc/knooppunt/knooppunt.conf")
    assert os.path.islink(link) and os.readlink(link) == DATA + "/knooppunt.conf"


def test_a_man_page_per_command_from_its_help(destdir):
    mandir = os.path.join(destdir, "usr/share/man/man1")
    words = command_words()
    assert "serve" in words and "audit verify" in words and len(words) > 20
    expected = {"knooppunt.1.gz"} | {"knooppunt-" + w.replace(" ", "-") + ".1.gz" for w in words}
    assert set(os.listdir(mandir)) == expected
    env = {**os.environ, "MANWIDTH": "100", "LC_ALL": "C.UTF-8"}
    # man renders every page; groff's warnings (a broken request, a line it
    # cannot fit) go to stderr and fail the test.
    r = run_ok(["man", "--warnings", "-l", *[os.path.join(mandir, p) for p in sorted(expected)]], env=env)
    assert r.stderr == ""
    assert r.stdout.count("SEE ALSO") == len(words)
    serve = run_ok(["man", "-l", os.path.join(mandir, "knooppunt-serve.1.gz")], env=env).stdout
    help_text = run_ok([kp.BIN, "serve", "--help"]).stdout.splitlines()[2]
    assert " ".join(help_text.split()) in " ".join(serve.split())
    assert "SEE ALSO" in serve and "knooppunt(1)" in serve
    overview = run_ok(["man", "-l", os.path.join(mandir, "knooppunt.1.gz")], env=env).stdout
    # help2man fills the usage lines into one justified paragraph: compare words.
    assert "knooppunt audit verify" in " ".join(overview.split())


def unit_settings(path):
    settings = {}
    for line in open(path):
        line = line.strip()
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    return settings


def test_units_run_the_installed_binary_in_a_sandbox_writing_only_the_data_directory(destdir):
    serve = unit_settings(os.path.join(destdir, "lib/systemd/system/knooppunt.service"))
    worker = unit_settings(os.path.join(destdir, "lib/systemd/system/knooppunt-worker.service"))
    assert serve["ExecStart"] == ["/usr/bin/knooppunt serve"]
    assert worker["ExecStart"] == ["/usr/bin/knooppunt worker"]
    for unit in (serve, worker):
        assert unit["Environment"] == [f"KNOOPPUNT_DATA={DATA}"]
        assert unit["ReadWritePaths"] == [DATA]
        for key, value in {"ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
                           "NoNewPrivileges": "yes", "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6"}.items():
            assert unit[key] == [value], key
        # The children's own sandbox needs seccomp() and Landlock.
        assert set(unit["SystemCallFilter"][0].split()) >= {
            "@system-service", "seccomp", "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self"}
        assert "User" not in unit  # root, to switch its children to knooppunt-session
    caps = {"CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_KILL", "CAP_DAC_READ_SEARCH"}
    assert set(worker["CapabilityBoundingSet"][0].split()) == caps
    assert set(serve["CapabilityBoundingSet"][0].split()) == caps | {"CAP_NET_BIND_SERVICE"}


@pytest.fixture(scope="module")
def verifiable_units(destdir, tmp_path_factory):
    """The installed units, ExecStart pointing into the DESTDIR: `verify`
    checks that the program exists, and systemd is not PID 1 here, so the
    files are checked as files (no running manager needed)."""
    d = str(tmp_path_factory.mktemp("units"))
    for unit in UNITS:
        text = open(os.path.join(destdir, "lib/systemd/system", unit)).read()
        text = text.replace("ExecStart=/usr/bin/knooppunt", f"ExecStart={destdir}/usr/bin/knooppunt")
        with open(os.path.join(d, unit), "w") as f:
            f.write(text)
    return d


def systemd_verify(destdir, paths):
    # Documentation=man:... is checked too: against the installed pages.
    env = {**os.environ, "MANPATH": os.path.join(destdir, "usr/share/man"), "SYSTEMD_LOG_COLOR": "0"}
    return subprocess.run(["systemd-analyze", "verify", *paths], capture_output=True, text=True,
                          timeout=120, env=env)


def test_units_pass_systemd_analyze_verify_without_a_warning(destdir, verifiable_units):
    r = systemd_verify(destdir, [os.path.join(verifiable_units, u) for u in UNITS])
    assert r.returncode == 0 and r.stderr == "" and r.stdout == "", r.stdout + r.stderr


def test_systemd_analyze_verify_would_see_a_bad_line(destdir, verifiable_units, tmp_path):
    """verify exits 0 on an unknown key or a bad value, so the test above
    fails on any output; this shows such a line does produce some."""
    text = open(os.path.join(verifiable_units, "knooppunt.service")).read()
    bad = tmp_path / "knooppunt.service"
    bad.write_text(text.replace("ProtectSystem=strict", "ProtectSystem=stricter\nProtectEverything=yes"))
    r = systemd_verify(destdir, [str(bad)])
    assert "stricter" in r.stderr and "ProtectEverything" in r.stderr, r.stderr


def exposure(path):
    r = run_ok(["systemd-analyze", "security", "--offline=yes", "--no-pager", path])
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", r.stdout)
    assert m, r.stdout[-2000:]
    return float(m.group(1))


def test_exposure_scores_stay_as_the_readme_states(verifiable_units):
    # README "Installing the service": 2.5 and 2.4 (systemd 252).
    assert exposure(os.path.join(verifiable_units, "knooppunt.service")) <= 2.5
    assert exposure(os.path.join(verifiable_units, "knooppunt-worker.service")) <= 2.4


# --- the Debian package in a fresh Debian root ------------------------------


def apt_mirror():
    """The Debian mirror this machine's apt uses (deb822 or one-line form)."""
    sources = ["/etc/apt/sources.list"]
    d = "/etc/apt/sources.list.d"
    if os.path.isdir(d):
        sources += [os.path.join(d, f) for f in sorted(os.listdir(d))]
    for path in sources:
        if not os.path.isfile(path):
            continue
        text = open(path).read()
        for m in re.finditer(r"^URIs:\s*(\S+)", text, re.M):
            if "security" not in m.group(1):
                return m.group(1)
        for m in re.finditer(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+(\S+)", text, re.M):
            if "security" not in m.group(1) and "-" not in m.group(2):
                return m.group(1)
    pytest.fail("no Debian mirror in the apt sources")


def codename():
    for line in open("/etc/os-release"):
        if line.startswith("VERSION_CODENAME="):
            return line.split("=", 1)[1].strip()
    pytest.fail("no VERSION_CODENAME in /etc/os-release")


def depends(deb):
    field = run_ok(["dpkg-deb", "-f", deb, "Depends"]).stdout
    return sorted({d.split()[0] for d in field.replace("|", ",").split(",") if d.strip()})


def fresh_root_cache(packages):
    """A minbase root with `packages`, made once per build directory and
    package list: BUILD/install-test/root-<hash>. debootstrap writes a
    scratch folder that is renamed when complete."""
    key = hashlib.sha256(" ".join([codename(), *packages]).encode()).hexdigest()[:12]
    cache = os.path.join(BUILD, "install-test", "root-" + key)
    if os.path.isdir(cache):
        return cache
    scratch = cache + ".partial"
    if os.path.isdir(scratch):
        unmount_under(scratch)
        shutil.rmtree(scratch)
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    r = subprocess.run(["debootstrap", "--variant=minbase", "--include=" + ",".join(packages),
                        codename(), scratch, apt_mirror()],
                       capture_output=True, text=True, timeout=900)
    unmount_under(scratch)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    os.rename(scratch, cache)
    return cache


def unmount_under(root):
    """debootstrap mounts /proc and /sys in the root; an interrupted run leaves them."""
    real = os.path.realpath(root)
    mounts = [line.split()[1] for line in open("/proc/self/mounts")]
    for m in sorted((m for m in mounts if m == real or m.startswith(real + "/")), reverse=True):
        subprocess.run(["umount", "-l", m], capture_output=True)


@pytest.fixture(scope="module")
def deb(prefix):
    if cmake_cache("KP_SANITIZE") == "ON":
        pytest.skip("the package is built and installed from the normal build only")
    run_ok(["cpack", "-G", "DEB"], cwd=BUILD)
    version = run_ok([kp.BIN, "--version"]).stdout.split()[1]
    path = os.path.join(BUILD, "packages", f"knooppunt_{version}_amd64.deb")
    assert os.path.isfile(path)
    return path


def test_package_declares_its_libraries_and_scripts(deb):
    names = depends(deb)
    # dpkg-shlibdeps found the libraries the binary links; passwd has useradd.
    for lib in ("libssh-4", "libsodium23", "libsqlite3-0", "libseccomp2", "libarchive13", "passwd"):
        assert lib in names, names
    control = run_ok(["dpkg-deb", "-I", deb]).stdout
    for script in ("postinst", "prerm", "postrm"):
        assert script in control


def chroot(root, *args, check=True):
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive"}
    r = subprocess.run(["chroot", root, *args], capture_output=True, text=True, timeout=300, env=env)
    if check:
        assert r.returncode == 0, f"{args}: {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def installed(deb, tmp_path_factory):
    """A copy of the cached fresh root (with systemd, to boot it below) with
    the package installed by `dpkg -i`; its output."""
    started = time.monotonic()
    cache = fresh_root_cache(sorted({p for p in depends(deb) if p != "passwd"} | {"systemd"}))
    cached = time.monotonic()
    root = str(tmp_path_factory.mktemp("fresh") / "root")
    run_ok(["cp", "-a", cache, root])
    try:
        shutil.copy(deb, os.path.join(root, "tmp/knooppunt.deb"))
        out = chroot(root, "dpkg", "-i", "/tmp/knooppunt.deb").stdout
        print(f"\nfresh root {cached - started:.1f} s ({os.path.basename(cache)}), "
              f"copy and dpkg -i {time.monotonic() - cached:.1f} s")
        yield root, out
    finally:
        unmount_under(root)
        shutil.rmtree(root, ignore_errors=True)


def test_package_installs_into_a_fresh_debian_and_runs_there(installed):
    root, out = installed
    assert f"initialised {DATA}" in out
    # postinst: the users the program switches to, and the data directory
    # `init` made, its keys handed to the worker user.
    for user in ("knooppunt-session", "knooppunt-worker"):
        entry = chroot(root, "getent", "passwd", user).stdout.split(":")
        assert entry[5:] == ["/nonexistent", "/usr/sbin/nologin\n"] and int(entry[2]) < 1000
    worker_gid = int(chroot(root, "getent", "group", "knooppunt-worker").stdout.split(":")[2])
    data = root + DATA
    assert os.stat(data).st_mode & 0o777 == 0o700
    assert os.stat(data + "/keys").st_gid == worker_gid
    chroot(root, "test", "-f", "/etc/knooppunt/knooppunt.conf")  # the link resolves
    assert os.path.islink(root + "/etc/systemd/system/multi-user.target.wants/knooppunt.service")
    assert not os.path.exists(root + "/etc/systemd/system/multi-user.target.wants/knooppunt-worker.service")
    version = chroot(root, "knooppunt", "--version").stdout
    assert version == run_ok([kp.BIN, "--version"]).stdout
    # `init` on the package's data directory: already done, refused.
    r = chroot(root, "knooppunt", "--data", DATA, "init", check=False)
    assert r.returncode == 1 and "already-exists" in r.stderr, r.stderr
    assert "initialised /srv/second" in chroot(root, "knooppunt", "--data", "/srv/second", "init").stdout
    assert "intake recipient" in chroot(root, "knooppunt", "--data", "/srv/second", "keys", "show").stdout


def set_setting(path, key, value):
    text = re.sub(rf"^{key} = .*$", f"{key} = {value}", open(path).read(), flags=re.M)
    with open(path, "w") as f:
        f.write(text)


class Booted:
    """The root booted with systemd-nspawn (the host's network: the service
    listens on free loopback ports). systemd-nspawn 252 keeps Landlock from
    its containers unless told otherwise."""

    def __init__(self, root, log):
        self.log = open(log, "w")
        self.proc = subprocess.Popen(
            ["systemd-nspawn", "--quiet", "--register=no", "--keep-unit", "--console=read-only",
             f"--machine=knooppunt-test-{os.getpid()}", "-D", root, "--boot",
             "--system-call-filter=landlock_create_ruleset landlock_add_rule landlock_restrict_self"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            preexec_fn=kp._die_with_parent)  # nspawn takes its container with it
        self.init = None
        assert kp.wait_for(self._find_init, timeout=30), open(log).read()[-3000:]

    def _find_init(self):
        """The container's systemd: nspawn's child once it has exec'd it."""
        assert self.proc.poll() is None, "systemd-nspawn ended"
        try:
            with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                children = f.read().split()
            for child in children:
                if open(f"/proc/{child}/comm").read().strip() == "systemd":
                    self.init = child
                    return True
        except FileNotFoundError:
            pass
        return False

    def run(self, *args, check=True):
        r = subprocess.run(["nsenter", "-t", self.init, "-a", *args], capture_output=True, text=True, timeout=60)
        if check:
            assert r.returncode == 0, f"{args}: {r.stdout[-2000:]}{r.stderr[-2000:]}"
        return r

    def journal(self, unit):
        return self.run("journalctl", "--no-pager", "-o", "cat", "-u", unit).stdout

    def stop(self):
        self.proc.terminate()  # nspawn powers the container off
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def test_the_unit_runs_serve_sandboxed_on_a_booted_system(installed, keys, tmp_path):
    """The unit's sandbox leaves serve what it needs: its HTTP process
    switches uid and enters Landlock, a person logs in and uploads, and the
    sandboxed parser child opens the package; then the same with the
    intake run apart, by the worker unit."""
    root, _ = installed
    ssh_port, http_port = kp.free_port(), kp.free_port()
    conf = root + DATA + "/knooppunt.conf"
    set_setting(conf, "listen", f"127.0.0.1:{ssh_port}")
    set_setting(conf, "http", f"127.0.0.1:{http_port}")
    jj, hub = keys("jj"), keys("hub1")
    os.makedirs(root + "/srv/keys", exist_ok=True)
    for ident in (jj, hub):
        for f in (ident.ssh_pub, ident.sign_pub):
            shutil.copy(f, root + "/srv/keys/" + os.path.basename(f))
    base = "/srv/keys/"
    chroot(root, "knooppunt", "--data", DATA, "municipality", "add", "GM0363", "--name", "Amsterdam")
    chroot(root, "knooppunt", "--data", DATA, "person", "add", "jj", "--ssh-key", base + os.path.basename(jj.ssh_pub),
           "--sign-key", base + os.path.basename(jj.sign_pub))
    chroot(root, "knooppunt", "--data", DATA, "mandate", "grant", "jj", "GM0363")
    chroot(root, "knooppunt", "--data", DATA, "staff", "add", "hub1", "--ssh-key",
           base + os.path.basename(hub.ssh_pub), "--recipient", hub.recipient,
           "--sign-key", base + os.path.basename(hub.sign_pub))
    intake = open(root + DATA + "/public/intake.recipient").read().strip()

    def sealed(n):
        manifest, rapport, package = (tmp_path / f"m{n}.json", tmp_path / f"rapport{n}.txt",
                                      tmp_path / f"signal{n}.age")
        run_ok([kp.BIN, "manifest", "init", "--municipality", "GM0363", "--submitted-by", "jj", "-o", str(manifest)])
        rapport.write_text(f"rapport {n}\n")
        run_ok([kp.BIN, "seal", "--to", intake, "--sign-key", jj.sign_sec, "--manifest", str(manifest),
                str(rapport), "-o", str(package)], cwd=str(tmp_path))
        return package.read_bytes()

    started = time.monotonic()
    box = Booted(root, str(tmp_path / "boot.log"))
    try:
        assert kp.wait_for(lambda: box.run("systemctl", "is-active", "knooppunt", check=False).stdout.strip()
                           == "active", timeout=60), box.journal("knooppunt")
        assert kp.wait_for(lambda: "serve.listening" in box.journal("knooppunt"), timeout=30)
        # The HTTP process: uid switched, Landlock on, answering.
        assert kp.wait_for(lambda: re.search(r"event=http\.(sandboxed|failed)", box.journal("knooppunt")),
                           timeout=30)
        line = [x for x in box.journal("knooppunt").splitlines() if re.search(r"event=http\.(sandboxed|failed)", x)][0]
        assert "event=http.sandboxed" in line, line
        assert "uid_switched=yes" in line and "landlock_abi=0" not in line, line
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                            f"http://127.0.0.1:{http_port}/healthz"], capture_output=True, text=True, timeout=30)
        assert r.stdout in ("200", "503"), r.stdout
        # The bounding set is the unit's, for serve and every child.
        main = box.run("systemctl", "show", "-P", "MainPID", "knooppunt").stdout.strip()
        status = box.run("cat", f"/proc/{main}/status").stdout
        assert re.search(r"^CapBnd:\s+00000000000005e4$", status, re.M), status
        assert re.search(r"^NoNewPrivs:\s+1$", status, re.M) and re.search(r"^Seccomp:\s+2$", status, re.M)
        # A login, an upload, and its intake by the sandboxed parser.
        with kp.connect(ssh_port, "jj@GM0363", jj) as sftp:
            kp.upload(sftp, "/inbox/signal1.age", sealed(1))
        assert kp.wait_for(lambda: "event=intake.accepted" in box.journal("knooppunt"), timeout=60), \
            box.journal("knooppunt")[-3000:]
        journal = box.journal("knooppunt")
        assert "sandbox-failed" not in journal and "SIGSYS" not in journal
        assert box.run("systemctl", "show", "-P", "NRestarts", "knooppunt").stdout.strip() == "0"
        # The worker unit: intake apart from serve (workers = 0).
        set_setting(conf, "workers", "0")
        box.run("systemctl", "restart", "knooppunt")
        box.run("systemctl", "start", "knooppunt-worker")
        assert kp.wait_for(lambda: box.journal("knooppunt").count("event=serve.listening") == 2, timeout=30)
        with kp.connect(ssh_port, "jj@GM0363", jj) as sftp:
            kp.upload(sftp, "/inbox/signal2.age", sealed(2))
        assert kp.wait_for(lambda: "event=intake.accepted" in box.journal("knooppunt-worker"), timeout=60), \
            box.journal("knooppunt-worker")[-3000:]
        assert box.run("systemctl", "is-active", "knooppunt-worker").stdout.strip() == "active"
    finally:
        box.stop()
    print(f"\nboot and service checks {time.monotonic() - started:.1f} s")


def test_purging_the_package_keeps_the_data(installed):
    root, _ = installed
    chroot(root, "dpkg", "--purge", "knooppunt")
    assert not os.path.exists(root + "/usr/bin/knooppunt")
    assert not os.path.exists(root + "/lib/systemd/system/knooppunt.service")
    assert os.path.isfile(root + DATA + "/knooppunt.db")
    chroot(root, "getent", "passwd", "knooppunt-session")


# --- one serve per data directory ---------------------------------------------
# test_abuse.py::test_second_serve_on_a_data_directory_is_refused covers a
# second `serve` on the same path; the lock is on the file, so another path
# to the same directory is refused too.


def test_second_serve_through_another_path_is_refused(world, tmp_path):
    link = tmp_path / "same-data"
    link.symlink_to(world.data.path)
    r = kp.run([kp.BIN, "serve", "--data", str(link), "--listen", f"127.0.0.1:{kp.free_port()}",
                "--http", f"127.0.0.1:{kp.free_port()}"], timeout=20)
    assert r.returncode == 1 and "data-dir-busy" in r.stderr, r.stderr

"""Shared pytest fixtures for the integration tests.

Keys are made once per session (RSA-3072 generation is slow) and reused by
every module; each module builds its own data directory and, where it needs
one, a single `knooppunt serve` that lives for the whole module. Servers are
always stopped at teardown, also when a test fails.
"""

import logging
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import warnings  # noqa: E402

with warnings.catch_warnings():
    # paramiko imports `invoke`, which imports the deprecated `imp`.
    warnings.simplefilter("ignore", DeprecationWarning)
    import kp  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


@pytest.fixture(scope="session", autouse=True)
def _binary_present():
    assert os.access(kp.BIN, os.X_OK), f"knooppunt binary not found at {kp.BIN} (set KNOOPPUNT_BIN)"


class KeyRing:
    """Creates each named identity once per session and hands out the same one after."""

    def __init__(self, directory):
        self.directory = directory
        self.cache = {}

    def __call__(self, name, ssh_type="ed25519", bits=None):
        key = (name, ssh_type, bits)
        if key not in self.cache:
            sub = os.path.join(self.directory, f"{ssh_type}-{bits or 0}")
            self.cache[key] = kp.Identity(sub, name, ssh_type=ssh_type, ssh_bits=bits)
        return self.cache[key]


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    return KeyRing(str(tmp_path_factory.mktemp("keys")))


@pytest.fixture(scope="session")
def template(tmp_path_factory):
    """One `knooppunt init`ed directory that fresh data directories are copied from."""
    path = tmp_path_factory.mktemp("template") / "data"
    kp.DataDir(path)
    return str(path)


@pytest.fixture
def datadir(tmp_path, template):
    """A fresh, initialised data directory for one test."""
    return kp.DataDir(tmp_path / "data", template=template)


@pytest.fixture
def server_factory():
    """Starts servers for one test and stops every one of them at teardown."""
    started = []

    def make(datadir, http=False):
        s = kp.Server(datadir, http=http)
        started.append(s)
        return s.start()

    yield make
    for s in started:
        s.stop()


class World:
    """A module's data directory with two municipalities and the usual accounts.

    GM0363 (Amsterdam) and GM0599 (Rotterdam); persons:
      j.jansen    -- mandated for GM0363 only
      p.pietersen -- mandated for GM0599 only
      d.dubbel    -- mandated for both
    staff `s.staff`, auditor `a.audit`. Failed logins from loopback are part
    of many tests, so the ban threshold is raised unless a module says otherwise;
    no intake worker runs unless a module sets `workers`.
    """

    def __init__(self, path, keys, template=None, settings=None):
        self.data = kp.DataDir(path, template=template)
        self.keys = keys
        self.data.municipality("GM0363", "Amsterdam", [keys("gm0363-intake").recipient])
        self.data.municipality("GM0599", "Rotterdam")
        self.jansen = keys("j.jansen")
        self.pietersen = keys("p.pietersen")
        self.dubbel = keys("d.dubbel")
        self.staff = keys("s.staff")
        self.auditor = keys("a.audit")
        for p in (self.jansen, self.pietersen, self.dubbel):
            self.data.person(p)
        self.data.staff(self.staff)
        self.data.auditor(self.auditor)
        self.data.grant("j.jansen", "GM0363")
        self.data.grant("p.pietersen", "GM0599")
        self.data.grant("d.dubbel", "GM0363")
        self.data.grant("d.dubbel", "GM0599")
        self.data.set("ban_after_failures", "100000")
        # The gateway tests look at uploads as they land in the inbox; the
        # intake worker (tests/integration/test_intake.py) would move them on.
        self.data.set("workers", "0")
        # Without a worker nothing signs checkpoints: /healthz's checkpoint
        # check (5 minutes by default) would fail in a long module.
        self.data.set("health_checkpoint_max_age", "1d")
        for k, v in (settings or {}).items():
            self.data.set(k, v)
        self.server = None

    def serve(self, bin=None):
        self.server = kp.Server(self.data, bin=bin).start()
        return self.server

    def restart(self):
        if self.server:
            self.server.stop()
        return self.serve()

    @property
    def port(self):
        return self.server.port

    def connect(self, user, ident):
        return kp.connect(self.port, user, ident)

    def jj(self):
        """An SFTP connection as j.jansen@GM0363."""
        return self.connect("j.jansen@GM0363", self.jansen)

    def close(self):
        if self.server:
            self.server.stop()


@pytest.fixture(scope="module")
def make_world(tmp_path_factory, keys, template):
    """Builds worlds for a module (call with settings=..., then customise, then
    .serve()); every world's server is stopped at module teardown."""
    made = []

    def make(settings=None):
        w = World(str(tmp_path_factory.mktemp("world") / "data"), keys, template, settings)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


@pytest.fixture(scope="module")
def world(make_world):
    """One data directory and one running server per test module."""
    w = make_world()
    w.serve()
    return w


# paramiko logs every dropped connection at ERROR; the tests provoke many.
logging.getLogger("paramiko").setLevel(logging.CRITICAL)

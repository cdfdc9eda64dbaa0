"""Every common SFTP client, with its default settings, delivers a signal
package and fetches its receipt: OpenSSH sftp and scp (SFTP mode, the
default since OpenSSH 9.0), PuTTY's psftp, rclone, lftp, curl (libssh2),
paramiko and asyncssh. Each upload must be accepted by the intake worker and
the receipt each client fetched must be the hub-signed one.

rclone with its defaults sets the modification time after an upload
(SETSTAT) and checks the upload's size; the gateway accepts the SETSTAT on
the session's own just-written upload as a harmless no-op.
"""

import asyncio
import os
import shlex
import shutil
import subprocess

import pytest

import kp
from test_intake import Intake

USER = "j.jansen@GM0363"


@pytest.fixture(scope="module")
def it(make_world):
    w = make_world(settings={"workers": "1"})
    w.serve()
    return Intake(w)


def package(it, tmp_path, name):
    path = tmp_path / name
    path.write_bytes(it.valid())
    return path


def accepted_receipt(it, name, fetched_path):
    """The upload's verdict is accepted and the file the client fetched is
    the signed receipt in the outbox."""
    [row] = it.wait(name)
    receipt = it.receipt(name)
    assert row["state"] == "accepted", receipt
    with open(it.outbox(name + ".receipt.json"), "rb") as f:
        assert open(fetched_path, "rb").read() == f.read()


def need(tool):
    if not shutil.which(tool):
        pytest.skip(f"{tool} is not installed (scripts/install-deps installs it)")


def test_openssh_sftp(it, tmp_path):
    p = package(it, tmp_path, "openssh-sftp.age")
    batch = tmp_path / "put"
    batch.write_text(f"put {p} /inbox/openssh-sftp.age\n")
    r = kp.run(kp.ssh_argv("sftp", it.w.port, USER, it.sender, "-b", str(batch), "127.0.0.1"), timeout=120)
    assert r.returncode == 0, r.stderr
    it.wait("openssh-sftp.age")
    batch.write_text(f"get /outbox/openssh-sftp.age.receipt.json {tmp_path / 'r.json'}\n")
    r = kp.run(kp.ssh_argv("sftp", it.w.port, USER, it.sender, "-b", str(batch), "127.0.0.1"), timeout=120)
    assert r.returncode == 0, r.stderr
    accepted_receipt(it, "openssh-sftp.age", tmp_path / "r.json")


def test_openssh_scp(it, tmp_path):
    p = package(it, tmp_path, "scp.age")
    r = kp.run(kp.ssh_argv("scp", it.w.port, USER, it.sender, str(p), "127.0.0.1:/inbox/scp.age"), timeout=120)
    assert r.returncode == 0, r.stderr
    it.wait("scp.age")
    r = kp.run(kp.ssh_argv("scp", it.w.port, USER, it.sender, "127.0.0.1:/outbox/scp.age.receipt.json",
                           str(tmp_path / "r.json")), timeout=120)
    assert r.returncode == 0, r.stderr
    accepted_receipt(it, "scp.age", tmp_path / "r.json")


def host_key_fingerprint(port):
    """SHA256 fingerprint of the gateway's ed25519 host key, for clients
    that insist on checking it (psftp -batch)."""
    r = kp.run(["ssh-keyscan", "-t", "ed25519", "-p", str(port), "127.0.0.1"], timeout=30)
    assert r.returncode == 0 and r.stdout, r.stderr
    r = subprocess.run(["ssh-keygen", "-lf", "-"], input=r.stdout, capture_output=True, text=True)
    return r.stdout.split()[1]


def ppk(ident, tmp_path):
    out = tmp_path / "key.ppk"
    r = kp.run(["puttygen", ident.ssh_key, "-O", "private", "-o", str(out)])
    assert r.returncode == 0, r.stderr
    return str(out)


def psftp(it, tmp_path, script):
    batch = tmp_path / "psftp.batch"
    batch.write_text(script)
    return kp.run(["psftp", "-batch", "-b", str(batch), "-P", str(it.w.port), "-i", ppk(it.sender, tmp_path),
                   "-hostkey", host_key_fingerprint(it.w.port), f"{USER}@127.0.0.1"], timeout=120)


def test_psftp(it, tmp_path):
    need("psftp")
    p = package(it, tmp_path, "psftp.age")
    r = psftp(it, tmp_path, f"put {p} /inbox/psftp.age\n")
    assert r.returncode == 0, r.stdout + r.stderr
    it.wait("psftp.age")
    r = psftp(it, tmp_path, f"get /outbox/psftp.age.receipt.json {tmp_path / 'r.json'}\n")
    assert r.returncode == 0, r.stdout + r.stderr
    accepted_receipt(it, "psftp.age", tmp_path / "r.json")


def rclone_env(it):
    return dict(os.environ, RCLONE_CONFIG_KP_TYPE="sftp", RCLONE_CONFIG_KP_HOST="127.0.0.1",
                RCLONE_CONFIG_KP_PORT=str(it.w.port), RCLONE_CONFIG_KP_USER=USER,
                RCLONE_CONFIG_KP_KEY_FILE=it.sender.ssh_key, RCLONE_CONFIG=os.devnull)


def test_rclone_with_defaults(it, tmp_path):
    need("rclone")
    # Several chunks of rclone's 32 KiB, the last one short: pkg/sftp pads
    # that last WRITE, which the gateway must take as its data alone.
    p = tmp_path / "rclone.age"
    p.write_bytes(it.seal(it.tar({"files/scan.pdf": b"%PDF-1.4\n" + os.urandom(300_000)})))
    env = rclone_env(it)
    r = kp.run(["rclone", "copyto", str(p), "KP:/inbox/rclone.age"], env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "bad-message" not in it.w.server.log_text()
    it.wait("rclone.age")
    r = kp.run(["rclone", "copyto", "KP:/outbox/rclone.age.receipt.json", str(tmp_path / "r.json")], env=env,
               timeout=120)
    assert r.returncode == 0, r.stderr
    accepted_receipt(it, "rclone.age", tmp_path / "r.json")


def test_lftp(it, tmp_path):
    p = package(it, tmp_path, "lftp.age")
    connect = "ssh -a -x -i {} {}".format(shlex.quote(it.sender.ssh_key), " ".join(kp.SSH_OPTS))
    prefix = f'set sftp:connect-program "{connect}"; set net:max-retries 1; set net:timeout 20; '
    r = kp.run(["lftp", "-e", prefix + f"put {p} -o /inbox/lftp.age; bye", "-u", USER + ",",
                f"sftp://127.0.0.1:{it.w.port}"], timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    it.wait("lftp.age")
    r = kp.run(["lftp", "-e", prefix + f"get /outbox/lftp.age.receipt.json -o {tmp_path / 'r.json'}; bye",
                "-u", USER + ",", f"sftp://127.0.0.1:{it.w.port}"], timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    accepted_receipt(it, "lftp.age", tmp_path / "r.json")


def curl(it, *args):
    return kp.run(["curl", "-sS", "--insecure", "--max-time", "60", "--key", it.sender.ssh_key,
                   "--pubkey", it.sender.ssh_pub, "-u", USER + ":"] + list(args), timeout=90)


def test_curl(it, tmp_path):
    p = package(it, tmp_path, "curl.age")
    r = curl(it, "-T", str(p), f"sftp://127.0.0.1:{it.w.port}/inbox/curl.age")
    assert r.returncode == 0, r.stderr
    it.wait("curl.age")
    r = curl(it, "-o", str(tmp_path / "r.json"), f"sftp://127.0.0.1:{it.w.port}/outbox/curl.age.receipt.json")
    assert r.returncode == 0, r.stderr
    accepted_receipt(it, "curl.age", tmp_path / "r.json")


def test_paramiko(it, tmp_path):
    p = package(it, tmp_path, "paramiko.age")
    with kp.connect(it.w.port, USER, it.sender) as sftp:
        sftp.put(str(p), "/inbox/paramiko.age")
    it.wait("paramiko.age")
    with kp.connect(it.w.port, USER, it.sender) as sftp:
        sftp.get("/outbox/paramiko.age.receipt.json", str(tmp_path / "r.json"))
    accepted_receipt(it, "paramiko.age", tmp_path / "r.json")


def test_asyncssh(it, tmp_path):
    asyncssh = pytest.importorskip("asyncssh")
    p = package(it, tmp_path, "asyncssh.age")

    async def session(action):
        async with asyncssh.connect("127.0.0.1", port=it.w.port, username=USER, client_keys=[it.sender.ssh_key],
                                    known_hosts=None) as conn:
            async with conn.start_sftp_client() as sftp:
                await action(sftp)

    asyncio.run(session(lambda sftp: sftp.put(str(p), "/inbox/asyncssh.age")))
    it.wait("asyncssh.age")
    asyncio.run(session(lambda sftp: sftp.get("/outbox/asyncssh.age.receipt.json", str(tmp_path / "r.json"))))
    accepted_receipt(it, "asyncssh.age", tmp_path / "r.json")

"""Real SFTP clients against the gateway: OpenSSH `sftp -b` and `scp`,
paramiko, curl (libssh2) and lftp. What each uploads must arrive byte for
byte (SHA-256 of the inbox file and of the `uploads` row equal the sent
bytes); shells, exec, forwarding and other subsystems are refused; ssh-audit
finds nothing to fail.
"""

import os
import shlex
import socket
import threading

import paramiko
import pytest

import kp

USER = "j.jansen@GM0363"


@pytest.fixture(scope="module")
def w(world):
    return world


def row(w, name, code="GM0363"):
    rows = [u for u in w.data.uploads(code) if u["name"] == name]
    assert len(rows) == 1, f"want one uploads row for {name}, got {rows}"
    return rows[0]


def assert_arrived(w, name, digest, size):
    path = os.path.join(w.data.box("GM0363", "inbox"), name)
    assert os.path.isfile(path), f"{name} not in the inbox: {os.listdir(os.path.dirname(path))}"
    assert kp.sha256_file(path) == digest
    r = row(w, name)
    assert r["sha256"] == digest and r["size"] == size


def plant(w, name, data):
    with open(os.path.join(w.data.box("GM0363", "outbox"), name), "wb") as f:
        f.write(data)


def sftp_batch(w, tmp_path, script, ident=None):
    batch = tmp_path / "batch"
    batch.write_text(script)
    argv = kp.ssh_argv("sftp", w.port, USER, ident or w.jansen, "-b", str(batch), "127.0.0.1")
    return kp.run(argv, timeout=120, cwd=str(tmp_path))


# ---------------------------------------------------------------- OpenSSH sftp

def test_openssh_sftp_put_and_ls(w, tmp_path):
    digest = kp.write_random(tmp_path / "batch-put.bin", 3_000_000)
    r = sftp_batch(w, tmp_path, "put batch-put.bin /inbox/batch-put.bin\nls -l /\nls /outbox\n")
    assert r.returncode == 0, r.stderr
    assert "inbox" in r.stdout and "outbox" in r.stdout
    assert_arrived(w, "batch-put.bin", digest, 3_000_000)


def test_openssh_sftp_put_twice_fails(w, tmp_path):
    kp.write_random(tmp_path / "twice.bin", 1000)
    assert sftp_batch(w, tmp_path, "put twice.bin /inbox/twice.bin\n").returncode == 0
    first = row(w, "twice.bin")["sha256"]
    kp.write_random(tmp_path / "twice.bin", 1000)
    r = sftp_batch(w, tmp_path, "put twice.bin /inbox/twice.bin\n")
    assert r.returncode != 0, "the second put of the same name must fail"
    assert row(w, "twice.bin")["sha256"] == first


def test_openssh_sftp_get(w, tmp_path):
    data = os.urandom(2_500_000)
    plant(w, "batch-get.bin", data)
    r = sftp_batch(w, tmp_path, "get /outbox/batch-get.bin got.bin\n")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "got.bin").read_bytes() == data


def test_openssh_sftp_rm_archives(w, tmp_path):
    plant(w, "batch-rm.txt", b"ack")
    r = sftp_batch(w, tmp_path, "rm /outbox/batch-rm.txt\n")
    assert r.returncode == 0, r.stderr
    assert "batch-rm.txt" not in os.listdir(w.data.box("GM0363", "outbox"))
    assert b"ack" in kp.tree(w.data.box("GM0363", "archive")).values()


def test_openssh_sftp_rename_temp_upload(w, tmp_path):
    digest = kp.write_random(tmp_path / "r.bin", 200_000)
    r = sftp_batch(w, tmp_path, "put r.bin /inbox/renamed.pdf.filepart\nrename /inbox/renamed.pdf.filepart "
                                "/inbox/renamed.pdf\n")
    assert r.returncode == 0, r.stderr
    assert_arrived(w, "renamed.pdf", digest, 200_000)
    assert not [u for u in w.data.uploads() if u["name"].endswith(".filepart")]


def test_openssh_sftp_df(w, tmp_path):
    r = sftp_batch(w, tmp_path, "df /inbox\n")
    assert r.returncode == 0, r.stderr
    assert "Size" in r.stdout or "Avail" in r.stdout, r.stdout


def test_openssh_sftp_refusals_are_reported(w, tmp_path):
    for cmd in ("get /inbox/batch-put.bin x", "mkdir /inbox/d", "rm /inbox/batch-put.bin",
                "ln -s /outbox /inbox/l", "chmod 777 /outbox", "cd /GM0599"):
        r = sftp_batch(w, tmp_path, cmd + "\n")
        assert r.returncode != 0, f"`{cmd}` must fail: {r.stdout}"


# ---------------------------------------------------------------- scp

def test_scp_upload_and_download(w, tmp_path):
    digest = kp.write_random(tmp_path / "scp.bin", 2_000_000)
    r = kp.run(kp.ssh_argv("scp", w.port, USER, w.jansen, str(tmp_path / "scp.bin"), "127.0.0.1:/inbox/scp.bin"),
               timeout=120)
    assert r.returncode == 0, r.stderr
    assert_arrived(w, "scp.bin", digest, 2_000_000)
    data = os.urandom(100_000)
    plant(w, "scp-get.bin", data)
    r = kp.run(kp.ssh_argv("scp", w.port, USER, w.jansen, "127.0.0.1:/outbox/scp-get.bin", str(tmp_path / "back")),
               timeout=120)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "back").read_bytes() == data


def test_legacy_scp_protocol_is_refused(w, tmp_path):
    kp.write_random(tmp_path / "legacy.bin", 1000)
    r = kp.run(kp.ssh_argv("scp", w.port, USER, w.jansen, "-O", str(tmp_path / "legacy.bin"),
                           "127.0.0.1:/inbox/legacy.bin"), timeout=60)
    assert r.returncode != 0, "scp -O runs `scp -t` through exec, which is refused"
    assert "legacy.bin" not in os.listdir(w.data.box("GM0363", "inbox"))


# ---------------------------------------------------------------- curl (libssh2)

def curl(w, *args):
    return kp.run(["curl", "-sS", "--insecure", "--max-time", "60", "--key", w.jansen.ssh_key,
                   "--pubkey", w.jansen.ssh_pub, "-u", USER + ":"] + list(args), timeout=90)


def test_curl_upload(w, tmp_path):
    digest = kp.write_random(tmp_path / "curl.bin", 1_200_000)
    r = curl(w, "-T", str(tmp_path / "curl.bin"), f"sftp://127.0.0.1:{w.port}/inbox/curl.bin")
    assert r.returncode == 0, r.stderr
    assert_arrived(w, "curl.bin", digest, 1_200_000)


def test_curl_list_and_download(w, tmp_path):
    data = os.urandom(300_000)
    plant(w, "curl-get.bin", data)
    r = curl(w, f"sftp://127.0.0.1:{w.port}/outbox/")
    assert r.returncode == 0, r.stderr
    assert "curl-get.bin" in r.stdout
    r = curl(w, "-o", str(tmp_path / "c.out"), f"sftp://127.0.0.1:{w.port}/outbox/curl-get.bin")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "c.out").read_bytes() == data


# ---------------------------------------------------------------- lftp

def test_lftp_upload_and_list(w, tmp_path):
    digest = kp.write_random(tmp_path / "lftp.bin", 700_000)
    plant(w, "lftp-visible.txt", b"x")
    connect = "ssh -a -x -i {} {}".format(shlex.quote(w.jansen.ssh_key), " ".join(kp.SSH_OPTS))
    script = (f'set sftp:connect-program "{connect}"; set net:max-retries 1; set net:timeout 20; '
              f'put {tmp_path / "lftp.bin"} -o /inbox/lftp.bin; cls /outbox; bye')
    r = kp.run(["lftp", "-e", script, "-u", USER + ",", f"sftp://127.0.0.1:{w.port}"], timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "lftp-visible.txt" in r.stdout
    assert_arrived(w, "lftp.bin", digest, 700_000)


# ---------------------------------------------------------------- paramiko

def test_paramiko_large_upload(w):
    data = os.urandom(6 * 1024 * 1024 + 17)
    with w.jj() as sftp:
        digest = kp.upload(sftp, "/inbox/paramiko-large.bin", data)
    assert_arrived(w, "paramiko-large.bin", digest, len(data))


# ---------------------------------------------------------------- no shells, no exec, no forwarding

def test_ssh_exec_is_refused(w):
    r = kp.run(kp.ssh_argv("ssh", w.port, USER, w.jansen, "127.0.0.1", "ls", "/"), timeout=60)
    assert r.returncode != 0
    assert "etc" not in r.stdout and "inbox" not in r.stdout


def test_ssh_shell_is_refused(w):
    r = kp.run(kp.ssh_argv("ssh", w.port, USER, w.jansen, "-tt", "127.0.0.1"), input="id\nexit\n", timeout=60)
    assert r.returncode != 0
    assert "uid=" not in r.stdout


def refused_or_silent(ch, action):
    """True when the server rejects the request, or accepts it but runs nothing."""
    try:
        action(ch)
    except paramiko.SSHException:
        return True
    ch.settimeout(3)
    try:
        out = ch.recv(100)
    except socket.timeout:
        out = b""
    return not out


@pytest.mark.parametrize("request_kind", ["exec", "shell", "subsystem", "pty-shell"])
def test_paramiko_exec_shell_subsystem_refused(w, request_kind):
    actions = {
        "exec": lambda ch: ch.exec_command("id"),
        "shell": lambda ch: ch.invoke_shell(),
        "subsystem": lambda ch: ch.invoke_subsystem("netconf"),
        "pty-shell": lambda ch: (ch.get_pty(), ch.invoke_shell()),
    }
    c = kp.connect(w.port, USER, w.jansen, sftp=False)
    try:
        try:
            ch = c.transport.open_session(timeout=10)
        except paramiko.ChannelException:
            return  # refusing the channel outright is fine
        try:
            assert refused_or_silent(ch, actions[request_kind])
        finally:
            ch.close()
    finally:
        c.close()


def test_second_channel_is_answered_while_sftp_runs(w):
    """RFC 4254 5.1: every CHANNEL_OPEN gets a confirmation or a failure. A
    server that ignores it hangs clients that open a second channel (WinSCP's
    shell, OpenSSH multiplexing) for paramiko's one-hour channel timeout."""
    c = w.jj()
    try:
        try:
            ch = c.transport.open_session(timeout=10)
        except paramiko.ChannelException:
            ch = None  # refused: an answer
        except paramiko.SSHException as e:
            pytest.fail(f"no answer to a second session CHANNEL_OPEN while SFTP runs: {e}")
        if ch is not None:
            assert refused_or_silent(ch, lambda x: x.exec_command("id"))
            ch.close()
        assert sorted(c.sftp.listdir("/")) == ["inbox", "keys", "outbox"]
    finally:
        c.close()


def test_port_forwarding_is_refused(w):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    c = kp.connect(w.port, USER, w.jansen, sftp=False)
    try:
        try:
            c.transport.open_channel("direct-tcpip", ("127.0.0.1", listener.getsockname()[1]), ("127.0.0.1", 1),
                                     timeout=10)
            pytest.fail("direct-tcpip channel opened")
        except paramiko.ChannelException:
            pass
        except paramiko.SSHException as e:
            pytest.fail(f"no answer to a direct-tcpip CHANNEL_OPEN: {e}")
        result = {}

        def forward():
            try:
                result["port"] = c.transport.request_port_forward("127.0.0.1", 0)
            except paramiko.SSHException as e:
                result["refused"] = e

        th = threading.Thread(target=forward, daemon=True)
        th.start()
        th.join(10)
        assert not th.is_alive(), "no answer to a tcpip-forward global request within 10 s"
        assert "refused" in result, f"remote forwarding was granted: {result}"
    finally:
        c.close()
        listener.close()


def test_ssh_forwarding_via_openssh_is_refused(w):
    target = kp.free_port()
    r = kp.run(kp.ssh_argv("ssh", w.port, USER, w.jansen, "-N", "-o", "ExitOnForwardFailure=yes",
                           "-W", f"127.0.0.1:{target}", "127.0.0.1"), timeout=60)
    assert r.returncode != 0


# ---------------------------------------------------------------- ssh-audit

def test_ssh_audit_finds_no_failures(w):
    r = kp.run(["ssh-audit", "-n", "-t", "10", "-p", str(w.port), "127.0.0.1"], timeout=120)
    assert r.stdout.strip(), r.stderr
    fails = [line for line in r.stdout.splitlines() if "[fail]" in line]
    assert not fails, "ssh-audit [fail] lines:\n" + "\n".join(fails)

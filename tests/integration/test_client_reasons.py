"""Refusals on the client's screen. An SFTP refusal's status message is
"reason-code: sentence" and the same line goes to the channel's stderr,
which OpenSSH's ssh (under sftp and scp) and PuTTY's psftp print while the
SFTP client itself shows only a generic text per status code. A login
refused after the key's signature verified (no live mandate, a mandate
expired or revoked, several municipalities, a disabled account) is told in
an SSH_MSG_USERAUTH_BANNER; a client whose key is not the account's learns
nothing. What each client prints is in README.md ("What clients show")."""

import subprocess

import paramiko
import pytest

import kp

USER = "j.jansen@GM0363"
SHOWN_OPTS = ["-o", "LogLevel=INFO"]  # OpenSSH shows banners from INFO on (its default)


@pytest.fixture(scope="module")
def w(world):
    return world


def sftp(w, tmp_path, script, user=USER, ident=None, opts=()):
    batch = tmp_path / "batch"
    batch.write_text(script)
    # OpenSSH takes the first value given for an option: ours before kp's.
    argv = kp.ssh_argv("sftp", w.port, user, ident or w.jansen, "-b", str(batch), "127.0.0.1")
    argv[1:1] = list(opts)
    return kp.run(argv, timeout=120, cwd=str(tmp_path))


def test_openssh_sftp_shows_the_reason_of_a_refused_upload(w, tmp_path):
    (tmp_path / "once.txt").write_text("x")
    assert sftp(w, tmp_path, "put once.txt /inbox/reason-once.txt\n").returncode == 0
    r = sftp(w, tmp_path, "put once.txt /inbox/reason-once.txt\n")
    assert r.returncode != 0
    assert "knooppunt: already-exists: " in r.stderr, r.stderr
    r = sftp(w, tmp_path, "mkdir /inbox/d\n")
    assert r.returncode != 0 and "knooppunt: " in r.stderr, r.stderr


def test_paramiko_status_message_carries_code_and_sentence(w):
    with w.jj() as s:
        with pytest.raises(IOError) as e:
            s.mkdir("/inbox/d")
        assert "permission-denied: " in str(e.value), str(e.value)
        kp.upload(s, "/inbox/reason-paramiko.txt", b"x")
        with pytest.raises(IOError) as e:
            kp.upload(s, "/inbox/reason-paramiko.txt", b"y")
        assert "already-exists: " in str(e.value), str(e.value)


def test_probes_for_missing_files_stay_quiet(w, tmp_path):
    # `put` asks whether the target exists: the "no such file" answer is not
    # a refusal worth a line on the screen.
    (tmp_path / "quiet.txt").write_text("x")
    r = sftp(w, tmp_path, "put quiet.txt /inbox/reason-quiet.txt\n")
    assert r.returncode == 0 and "knooppunt:" not in r.stderr, r.stderr


def test_login_refused_after_a_verified_signature_is_explained(w, tmp_path):
    w.data.revoke("j.jansen", "GM0363")
    try:
        r = sftp(w, tmp_path, "ls\n", opts=SHOWN_OPTS)
        assert r.returncode != 0
        assert "knooppunt: mandate-revoked" in r.stderr or "knooppunt: mandate-missing" in r.stderr, r.stderr
    finally:
        w.data.grant("j.jansen", "GM0363")


def test_ambiguous_municipality_is_explained(w, tmp_path):
    r = sftp(w, tmp_path, "ls\n", user="d.dubbel", ident=w.dubbel, opts=SHOWN_OPTS)
    assert r.returncode != 0 and "knooppunt: municipality-ambiguous" in r.stderr, r.stderr


def test_nothing_is_told_to_a_key_that_is_not_the_accounts(w, tmp_path):
    # p.pietersen's own key, verified, but for j.jansen's login.
    r = sftp(w, tmp_path, "ls\n", user=USER, ident=w.pietersen, opts=SHOWN_OPTS)
    assert r.returncode != 0 and "knooppunt:" not in r.stderr, r.stderr
    # Unknown account.
    r = sftp(w, tmp_path, "ls\n", user="nobody@GM0363", opts=SHOWN_OPTS)
    assert r.returncode != 0 and "knooppunt:" not in r.stderr, r.stderr


def test_psftp_shows_the_reason(w, tmp_path):
    if subprocess.run(["which", "psftp"], capture_output=True).returncode != 0:
        pytest.skip("psftp is not installed (scripts/install-deps installs it)")
    from test_client_delivery import host_key_fingerprint, ppk
    key = ppk(w.jansen, tmp_path)
    (tmp_path / "p.txt").write_text("x")
    batch = tmp_path / "b"
    batch.write_text(f"put {tmp_path / 'p.txt'} /inbox/reason-psftp.txt\n")
    argv = ["psftp", "-batch", "-b", str(batch), "-P", str(w.port), "-i", key, "-hostkey",
            host_key_fingerprint(w.port), f"{USER}@127.0.0.1"]
    assert kp.run(argv, timeout=120).returncode == 0
    r = kp.run(argv, timeout=120)
    assert r.returncode != 0 and "already-exists" in r.stdout + r.stderr, r.stdout + r.stderr

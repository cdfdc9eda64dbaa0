"""The command line as a new user meets it: --version, help for a command
group, --data before the command, header rows in text listings, manifest
init/check, seal with a password-protected key and --armor, open into an
empty directory, publishing refused for a municipality without recipients.
No server needed."""

import json
import os
import subprocess

import pytest

import kp


@pytest.fixture(scope="module")
def reg(tmp_path_factory, template, keys):
    d = kp.DataDir(tmp_path_factory.mktemp("usability") / "data", template=template)
    d.municipality("GM0363", "Amsterdam")
    d.person(keys("j.jansen"))
    d.grant("j.jansen", "GM0363")
    return d


def test_version():
    r = kp.run([kp.BIN, "--version"])
    assert r.returncode == 0 and r.stdout.startswith("knooppunt "), r


def test_group_help_lists_its_commands():
    r = kp.run([kp.BIN, "audit", "--help"])
    assert r.returncode == 0, r.stderr
    for sub in ("audit verify", "audit export", "audit proof"):
        assert sub in r.stdout
    r = kp.run([kp.BIN, "audit"])
    assert r.returncode == 2 and "audit verify" in r.stderr


def test_data_before_the_command(reg):
    r = kp.run([kp.BIN, "--data", reg.path, "municipality", "list", "--json"])
    assert r.returncode == 0, r.stderr
    assert [m["code"] for m in json.loads(r.stdout)] == ["GM0363"]
    r = kp.run([kp.BIN, f"--data={reg.path}", "municipality", "list"])
    assert r.returncode == 0, r.stderr
    r = kp.run([kp.BIN, "--data", reg.path, "manifest", "init"])
    assert r.returncode == 2 and "takes no --data" in r.stderr


def test_text_listings_have_a_header_row(reg):
    for words, header in ((["municipality", "list"], "code\tname"),
                          (["person", "list"], "id\temail\tstate"),
                          (["mandate", "list"], "person\tmunicipality\tlevel\tscopes\tstate")):
        out = kp.kp_ok(*words, data=reg.path).stdout.splitlines()
        assert out[0] == header, (words, out)
        assert len(out[1].split("\t")) == len(header.split("\t")), out


def test_manifest_init_then_check(tmp_path):
    m = tmp_path / "m.json"
    kp.kp_ok("manifest", "init", "--municipality", "GM0599", "--submitted-by", "p.pietersen", "-o", str(m))
    doc = json.loads(m.read_text())
    assert doc["municipality"] == "GM0599" and doc["format"] == "knooppunt-signal/1"
    r = kp.kp("manifest", "check", str(m))
    assert r.returncode == 0 and "valid knooppunt-signal/1" in r.stdout, r.stderr
    doc["domain"] = "WMO"
    m.write_text(json.dumps(doc))
    r = kp.kp("manifest", "check", str(m))
    assert r.returncode == 1 and "manifest-field-invalid: domain must be one of" in r.stderr, r.stderr
    assert kp.kp("manifest", "init", "-o", str(m)).returncode == 1  # never overwrites


def _encrypted_key(tmp_path, password):
    pub, sec = tmp_path / "enc.pub", tmp_path / "enc.key"
    r = subprocess.run(["minisign", "-G", "-p", str(pub), "-s", str(sec)], input=f"{password}\n{password}\n",
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return str(pub), str(sec)


def test_seal_with_a_password_protected_key_armored_and_open_into_an_empty_dir(tmp_path, keys):
    pub, sec = _encrypted_key(tmp_path, "correct horse")
    me = keys("j.jansen")
    m = tmp_path / "m.json"
    kp.kp_ok("manifest", "init", "-o", str(m))
    doc = tmp_path / "rapport.pdf"
    doc.write_bytes(b"%PDF-1.4\n")
    pw = tmp_path / "pw"
    pw.write_text("correct horse\n")
    out = tmp_path / "s.age"
    r = kp.kp("seal", "--to", me.recipient, "--sign-key", sec, "--password-file", str(pw), "--manifest", str(m),
              "--armor", str(doc), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes().startswith(b"-----BEGIN AGE ENCRYPTED FILE-----\n")
    # The stock age CLI reads the armor, and `knooppunt open` does too,
    # into an existing empty directory.
    assert subprocess.run(["age", "-d", "-i", me.age_key, str(out)], capture_output=True).returncode == 0
    empty = tmp_path / "opened"
    empty.mkdir()
    r = kp.kp("open", str(out), "-i", me.age_key, "--verify-key", pub, "-o", str(empty))
    assert r.returncode == 0, r.stderr
    assert (empty / "files" / "rapport.pdf").read_bytes() == b"%PDF-1.4\n"
    r = kp.kp("open", str(out), "-i", me.age_key, "--verify-key", pub, "-o", str(empty))
    assert r.returncode == 1 and "dir-not-empty" in r.stderr

    # A wrong password, and no password without a terminal, are refused by name.
    pw.write_text("wrong\n")
    r = kp.kp("seal", "--to", me.recipient, "--sign-key", sec, "--password-file", str(pw), "--manifest", str(m),
              str(doc), "-o", str(tmp_path / "w.age"))
    assert r.returncode == 1 and "key-password-wrong" in r.stderr, r.stderr
    r = subprocess.run([kp.BIN, "seal", "--to", me.recipient, "--sign-key", sec, "--manifest", str(m), str(doc),
                        "-o", str(tmp_path / "n.age")], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                       start_new_session=True)
    assert r.returncode == 1 and "password-needed" in r.stderr, r.stderr


def test_seal_checks_files_and_manifest_before_sealing(tmp_path, keys):
    me = keys("j.jansen")
    m = tmp_path / "m.json"
    kp.kp_ok("manifest", "init", "-o", str(m))
    bad = tmp_path / "bijlage.bin"
    bad.write_bytes(b"\x00")
    out = tmp_path / "s.age"
    r = kp.kp("seal", "--to", me.recipient, "--sign-key", me.sign_sec, "--manifest", str(m), str(bad), "-o", str(out))
    assert r.returncode == 1 and '"files/bijlage.bin" has type .bin' in r.stderr and "accepted: .pdf" in r.stderr
    doc = json.loads(m.read_text())
    doc["provider"]["kvk"] = "1234"
    m.write_text(json.dumps(doc))
    good = tmp_path / "a.txt"
    good.write_text("x")
    r = kp.kp("seal", "--to", me.recipient, "--sign-key", me.sign_sec, "--manifest", str(m), str(good), "-o", str(out))
    assert r.returncode == 1 and "manifest-kvk-invalid" in r.stderr, r.stderr
    assert not out.exists() and not os.path.exists(str(out) + ".partial")

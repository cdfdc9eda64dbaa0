"""The registry part of the `knooppunt` command, driven as an operator would:
init, municipalities, persons, staff, auditors and mandates, with their
refusals. Contract: exit 0 ok, 1 refused with exactly one line
"knooppunt: <reason-code>: <text>" on stderr, 2 bad usage.
"""

import grp
import json
import os
import re
import stat

import pytest

import kp

REFUSAL = re.compile(r"^knooppunt: ([a-z0-9]+(?:-[a-z0-9]+)*): \S.*$")


def refused(r, code=None):
    """Asserts exit 1 with one well-formed refusal line (naming `code` if given)."""
    assert r.returncode == 1, f"exit {r.returncode}, stdout={r.stdout!r} stderr={r.stderr!r}"
    lines = r.stderr.strip("\n").split("\n")
    assert len(lines) == 1, f"want one stderr line, got {r.stderr!r}"
    m = REFUSAL.match(lines[0])
    assert m, f"not a refusal line: {lines[0]!r}"
    if code is not None:
        assert m.group(1) == code, f"reason {m.group(1)!r}, want {code!r}: {lines[0]!r}"
    return m.group(1)


def usage(r):
    assert r.returncode == 2, f"exit {r.returncode}, want 2 (usage); stderr={r.stderr!r}"
    assert r.stderr.strip(), "a usage error says what is wrong"


@pytest.fixture(scope="module")
def reg(tmp_path_factory, keys, template):
    """A data directory with GM0363 and person j.jansen, shared by the module."""
    d = kp.DataDir(str(tmp_path_factory.mktemp("cli") / "data"), template=template)
    d.municipality("GM0363", "Amsterdam", [keys("gm0363-intake").recipient])
    d.person(keys("j.jansen"))
    return d


# ---------------------------------------------------------------- help and usage

def test_overview_help_exits_0():
    for flag in ("--help", "-h", "help"):
        r = kp.kp(flag)
        assert r.returncode == 0, r.stderr
        assert "usage: knooppunt" in r.stdout
        for word in ("init", "serve", "municipality add", "person add", "mandate grant", "mandate revoke"):
            assert word in r.stdout


def test_no_arguments_is_usage():
    usage(kp.kp())


@pytest.mark.parametrize("words", [
    ["init"], ["serve"], ["municipality", "add"], ["municipality", "list"], ["person", "add"],
    ["person", "list"], ["staff", "add"], ["auditor", "add"], ["mandate", "grant"],
    ["mandate", "revoke"], ["mandate", "list"],
])
def test_subcommand_help_exits_0(words):
    r = kp.kp(*words, "--help")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage: knooppunt " + " ".join(words)), r.stdout


def test_unknown_command_is_usage():
    usage(kp.kp("frobnicate"))
    usage(kp.kp("municipality", "destroy", "GM0363"))


def test_unknown_option_is_usage(reg):
    r = kp.kp("municipality", "list", "--colour", data=reg.path)
    usage(r)
    assert "--colour" in r.stderr


def test_missing_and_extra_arguments_are_usage(reg):
    usage(kp.kp("municipality", "add", "--name", "X", data=reg.path))
    usage(kp.kp("mandate", "grant", "j.jansen", data=reg.path))
    usage(kp.kp("mandate", "grant", "j.jansen", "GM0363", "GM0599", data=reg.path))
    usage(kp.kp("mandate", "list", "--json=yes", data=reg.path))
    usage(kp.kp("municipality", "add", "GM0001", "--name", data=reg.path))  # value missing


def test_option_given_twice_is_usage(reg):
    usage(kp.kp("municipality", "add", "GM0002", "--name", "A", "--name", "B", data=reg.path))


def test_no_data_dir_is_usage(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "KNOOPPUNT_DATA"}
    r = kp.run([kp.BIN, "municipality", "list"], env=env, cwd=str(tmp_path))
    usage(r)


def test_knooppunt_data_env_is_honoured(reg):
    env = dict(os.environ, KNOOPPUNT_DATA=reg.path)
    r = kp.run([kp.BIN, "municipality", "list", "--json"], env=env)
    assert r.returncode == 0, r.stderr
    assert any(m["code"] == "GM0363" for m in json.loads(r.stdout))


def test_uninitialised_dir_is_refused(tmp_path):
    r = kp.kp("municipality", "list", data=tmp_path)
    refused(r, "not-initialised")


# ---------------------------------------------------------------- init

def test_init_layout_and_permissions(tmp_path):
    d = kp.DataDir(tmp_path / "d")
    for name in ("knooppunt.conf", "knooppunt.db"):
        p = os.path.join(d.path, name)
        assert os.path.isfile(p)
        assert stat.S_IMODE(os.stat(p).st_mode) & 0o077 == 0, f"{name} readable by others"
    for name in ("keys", "boxes"):
        p = os.path.join(d.path, name)
        assert os.path.isdir(p)
        mode = stat.S_IMODE(os.stat(p).st_mode)
        if name == "keys" and os.geteuid() == 0:
            # As root: root:knooppunt-worker 0710 (the worker group may enter, nobody else).
            assert mode == 0o710 and grp.getgrgid(os.stat(p).st_gid).gr_name == "knooppunt-worker"
        else:
            assert mode & 0o077 == 0, f"{name}/ open to others"
    # The public halves, readable by anyone (the data directory itself stays 0700).
    assert stat.S_IMODE(os.stat(os.path.join(d.path, "public")).st_mode) == 0o755
    for name in os.listdir(os.path.join(d.path, "public")):
        assert stat.S_IMODE(os.stat(os.path.join(d.path, "public", name)).st_mode) == 0o644
        assert "PRIVATE" not in open(os.path.join(d.path, "public", name)).read()
    keyfiles = os.listdir(os.path.join(d.path, "keys"))
    assert keyfiles, "init creates host keys"
    for k in keyfiles:
        p = os.path.join(d.path, "keys", k)
        if "PRIVATE KEY" in open(p, errors="replace").read():
            assert stat.S_IMODE(os.stat(p).st_mode) == 0o600, k


def test_init_settings_file_lists_every_setting(tmp_path):
    d = kp.DataDir(tmp_path / "d")
    text = open(d.conf).read()
    settings = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        k, v = (x.strip() for x in line.split("=", 1))
        settings[k] = v
    for key in ("login_grace_seconds", "idle_timeout_seconds", "max_auth_tries",
                "max_sessions_per_connection", "max_connections", "max_connections_per_source",
                "ban_after_failures", "ban_window_seconds", "ban_seconds",
                "ban_max_seconds", "ban_safelist", "max_file_size",
                "max_files_per_day", "max_bytes_per_day", "max_open_handles"):
        assert key in settings, f"{key} missing from knooppunt.conf"
        assert re.search(r"#[^\n]*\n\s*" + re.escape(key) + r"\s*=", text), f"{key} has no comment above it"


def test_init_twice_is_refused_and_keeps_data(datadir):
    d = datadir
    d.municipality("GM0363", "Amsterdam")
    r = kp.kp("init", data=d.path)
    refused(r, "already-exists")
    assert [m["code"] for m in json.loads(kp.kp_ok("municipality", "list", "--json", data=d.path).stdout)] == ["GM0363"]


# ---------------------------------------------------------------- municipalities

def test_municipality_add_creates_box(reg):
    assert os.path.isdir(reg.box("GM0363", "inbox"))
    assert os.path.isdir(reg.box("GM0363", "outbox"))


@pytest.mark.parametrize("code", [
    "GM363", "GM03630", "gm0363", "XX0363", "GM036a", "GM0363 ", " GM0363", "0363", "GM",
    "../GM0363", "GM0363/..", "GM\u0660\u0663\u0666\u0663", "GM0363\n",
])
def test_municipality_bad_code_is_refused(reg, code):
    r = kp.kp("municipality", "add", code, "--name", "X", data=reg.path)
    refused(r, "municipality-code-invalid")
    assert not os.path.exists(os.path.join(reg.path, "boxes", code.strip("./\n ") + "x"))


def test_municipality_bad_code_creates_no_directory(reg):
    before = sorted(os.listdir(os.path.join(reg.path, "boxes")))
    kp.kp("municipality", "add", "../evil", "--name", "X", data=reg.path)
    assert sorted(os.listdir(os.path.join(reg.path, "boxes"))) == before
    assert not os.path.exists(os.path.join(reg.path, "evil"))


def test_municipality_duplicate_is_refused(reg):
    r = kp.kp("municipality", "add", "GM0363", "--name", "Amsterdam again", data=reg.path)
    refused(r)
    names = [m["name"] for m in json.loads(kp.kp_ok("municipality", "list", "--json", data=reg.path).stdout)
             if m["code"] == "GM0363"]
    assert names == ["Amsterdam"]


def test_municipality_missing_name_is_refused(reg):
    r = kp.kp("municipality", "add", "GM0003", data=reg.path)
    assert r.returncode in (1, 2)
    assert "--name" in r.stderr


@pytest.mark.parametrize("recipient", [
    "age1notarecipient", "ssh-ed25519 AAAA", "AGE1" + "q" * 58,
])
def test_municipality_bad_recipient_is_refused(reg, recipient):
    r = kp.kp("municipality", "add", "GM0004", "--name", "X", "--recipient", recipient, data=reg.path)
    refused(r)
    codes = [m["code"] for m in json.loads(kp.kp_ok("municipality", "list", "--json", data=reg.path).stdout)]
    assert "GM0004" not in codes


def test_municipality_list_json(reg, keys):
    out = json.loads(kp.kp_ok("municipality", "list", "--json", data=reg.path).stdout)
    assert isinstance(out, list)
    m = [x for x in out if x["code"] == "GM0363"][0]
    assert m["name"] == "Amsterdam"
    assert m["recipients"] == [keys("gm0363-intake").recipient]
    text = kp.kp_ok("municipality", "list", data=reg.path).stdout
    assert "GM0363" in text and "Amsterdam" in text


def test_municipality_name_with_quotes_survives_json(datadir):
    d = datadir
    name = 'Súdwest-Fryslân "quoted" \\ back'
    d.municipality("GM1900", name)
    out = json.loads(kp.kp_ok("municipality", "list", "--json", data=d.path).stdout)
    assert out[0]["name"] == name


# ---------------------------------------------------------------- persons, staff, auditors

def test_person_list_json(reg):
    out = json.loads(kp.kp_ok("person", "list", "--json", data=reg.path).stdout)
    assert [p["id"] for p in out] == ["j.jansen"]
    assert out[0]["role"] == "person"


def test_person_with_email(reg, keys):
    k = keys("e.mail")
    kp.kp_ok("person", "add", "e.mail", "--ssh-key", k.ssh_pub, "--sign-key", k.sign_pub,
             "--email", "e.mail@amsterdam.nl", data=reg.path)
    out = {p["id"]: p for p in json.loads(kp.kp_ok("person", "list", "--json", data=reg.path).stdout)}
    assert out["e.mail"]["email"] == "e.mail@amsterdam.nl"


def test_person_bad_email_is_refused(reg, keys):
    k = keys("bad.mail")
    r = kp.kp("person", "add", "bad.mail", "--ssh-key", k.ssh_pub, "--sign-key", k.sign_pub,
              "--email", "not an address", data=reg.path)
    refused(r)


def test_person_duplicate_is_refused(reg, keys):
    k = keys("j.jansen")
    refused(kp.kp("person", "add", "j.jansen", "--ssh-key", k.ssh_pub, "--sign-key", k.sign_pub, data=reg.path))


def test_person_id_clashing_with_staff_is_refused(reg, keys):
    s = keys("clash.id")
    kp.kp_ok("staff", "add", "clash.id", "--ssh-key", s.ssh_pub, "--recipient", s.recipient,
             "--sign-key", s.sign_pub, data=reg.path)
    refused(kp.kp("person", "add", "clash.id", "--ssh-key", s.ssh_pub, "--sign-key", s.sign_pub, data=reg.path))


@pytest.mark.parametrize("ident", [
    "J.Jansen", ".jansen", "-jansen", "_jansen", "j jansen", "j/jansen", "j@jansen", "../x", "a" * 65,
    "jänsen", "j\njansen", "",
])
def test_person_bad_id_is_refused(reg, keys, ident):
    k = keys("badid")
    r = kp.kp("person", "add", ident, "--ssh-key", k.ssh_pub, "--sign-key", k.sign_pub, data=reg.path)
    refused(r, "id-invalid")


def test_person_id_of_64_chars_is_accepted(reg, keys):
    k = keys("long")
    kp.kp_ok("person", "add", "a" * 64, "--ssh-key", k.ssh_pub, "--sign-key", k.sign_pub, data=reg.path)


def test_weak_rsa_2048_key_is_refused(reg, keys):
    k = keys("rsa.weak", ssh_type="rsa", bits=2048)
    r = kp.kp("person", "add", "rsa.weak", "--ssh-key", k.ssh_pub, "--sign-key", k.sign_pub, data=reg.path)
    refused(r, "key-weak")
    assert "2048" in r.stderr


def test_rsa_3072_key_is_accepted(reg, keys):
    k = keys("rsa.strong", ssh_type="rsa", bits=3072)
    kp.kp_ok("person", "add", "rsa.strong", "--ssh-key", k.ssh_pub, "--sign-key", k.sign_pub, data=reg.path)


def test_ecdsa_key_is_accepted(reg, keys):
    k = keys("ec.person", ssh_type="ecdsa", bits=256)
    kp.kp_ok("person", "add", "ec.person", "--ssh-key", k.ssh_pub, "--sign-key", k.sign_pub, data=reg.path)


def test_dsa_key_is_refused(reg, keys):
    try:
        k = keys("dsa.person", ssh_type="dsa", bits=1024)
    except AssertionError:
        pytest.skip("this ssh-keygen cannot make DSA keys")
    r = kp.kp("person", "add", "dsa.person", "--ssh-key", k.ssh_pub, "--sign-key", k.sign_pub, data=reg.path)
    refused(r, "key-weak")


def test_unreadable_and_garbage_ssh_keys_are_refused(reg, keys, tmp_path):
    k = keys("garbage")
    missing = tmp_path / "missing.pub"
    garbage = tmp_path / "garbage.pub"
    garbage.write_text("ssh-ed25519 AAAA!!!notbase64 x\n")
    for path in (missing, garbage, tmp_path):
        r = kp.kp("person", "add", "garbage", "--ssh-key", path, "--sign-key", k.sign_pub, data=reg.path)
        refused(r, "key-unreadable")
    assert "garbage" not in [p["id"] for p in json.loads(kp.kp_ok("person", "list", "--json", data=reg.path).stdout)]


def test_bad_sign_key_is_refused(reg, keys, tmp_path):
    k = keys("badsign")
    bad = tmp_path / "bad.pub"
    bad.write_text("untrusted comment: nope\nnot a key\n")
    refused(kp.kp("person", "add", "badsign", "--ssh-key", k.ssh_pub, "--sign-key", bad, data=reg.path))
    refused(kp.kp("person", "add", "badsign", "--ssh-key", k.ssh_pub, "--sign-key", tmp_path / "none",
                  data=reg.path))


def test_person_add_without_keys_is_refused(reg, keys):
    k = keys("nokeys")
    r = kp.kp("person", "add", "nokeys", "--sign-key", k.sign_pub, data=reg.path)
    assert r.returncode in (1, 2) and "--ssh-key" in r.stderr
    r = kp.kp("person", "add", "nokeys", "--ssh-key", k.ssh_pub, data=reg.path)
    assert r.returncode in (1, 2) and "--sign-key" in r.stderr


def test_staff_add_and_list(reg, keys):
    s = keys("s.staff")
    kp.kp_ok("staff", "add", "s.staff", "--ssh-key", s.ssh_pub, "--recipient", s.recipient,
             "--sign-key", s.sign_pub, data=reg.path)
    out = {a["id"]: a for a in json.loads(kp.kp_ok("staff", "list", "--json", data=reg.path).stdout)}
    assert out["s.staff"]["recipient"] == s.recipient
    assert out["s.staff"]["role"] == "staff"


def test_staff_bad_recipient_is_refused(reg, keys):
    s = keys("s.bad")
    r = kp.kp("staff", "add", "s.bad", "--ssh-key", s.ssh_pub, "--recipient", "age1short",
              "--sign-key", s.sign_pub, data=reg.path)
    refused(r)
    r = kp.kp("staff", "add", "s.bad", "--ssh-key", s.ssh_pub, "--sign-key", s.sign_pub, data=reg.path)
    assert r.returncode in (1, 2) and "--recipient" in r.stderr


def test_auditor_add_and_list(reg, keys):
    a = keys("a.audit")
    kp.kp_ok("auditor", "add", "a.audit", "--ssh-key", a.ssh_pub, data=reg.path)
    out = json.loads(kp.kp_ok("auditor", "list", "--json", data=reg.path).stdout)
    assert "a.audit" in [x["id"] for x in out]
    refused(kp.kp("auditor", "add", "a.audit", "--ssh-key", a.ssh_pub, data=reg.path))


# ---------------------------------------------------------------- mandates

@pytest.fixture
def mreg(tmp_path, keys, template):
    """A fresh directory with GM0363, GM0599 and person j.jansen (no mandates)."""
    d = kp.DataDir(tmp_path / "m", template=template)
    d.municipality("GM0363", "Amsterdam")
    d.municipality("GM0599", "Rotterdam")
    d.person(keys("j.jansen"))
    return d


def mandates(d):
    return json.loads(kp.kp_ok("mandate", "list", "--json", data=d.path).stdout)


def test_mandate_grant_defaults(mreg):
    out = kp.kp_ok("mandate", "grant", "j.jansen", "GM0363", data=mreg.path)
    assert "j.jansen" in out.stdout
    [m] = mandates(mreg)
    assert m["person"] == "j.jansen" and m["municipality"] == "GM0363"
    assert m["level"] == "EH3"
    assert set(m["scopes"].split(",")) == {"upload", "download"}
    assert m["revoked"] is None and m["activated"] is None and m["valid_until"] is None
    assert m["state"] == "granted"


def test_mandate_grant_full_options(mreg):
    kp.kp_ok("mandate", "grant", "j.jansen", "GM0363", "--level", "EH4", "--scope", "upload",
             "--from", "2020-01-01", "--until", "2099-12-31", data=mreg.path)
    [m] = mandates(mreg)
    assert m["level"] == "EH4" and m["scopes"] == "upload"
    assert m["valid_from"].startswith("2020-01-01")
    assert m["valid_until"].startswith("2100-01-01") or m["valid_until"].startswith("2099-12-31")


def test_mandate_in_the_future_is_not_yet_valid(mreg):
    kp.kp_ok("mandate", "grant", "j.jansen", "GM0363", "--from", "2099-01-01", data=mreg.path)
    [m] = mandates(mreg)
    assert m["state"] != "granted" and m["state"] != "active"
    assert "valid" in m["state"]


@pytest.mark.parametrize("level", ["EH1", "EH2", "EH2+"])
def test_mandate_low_level_is_refused(mreg, level):
    refused(kp.kp("mandate", "grant", "j.jansen", "GM0363", "--level", level, data=mreg.path),
            "mandate-level-too-low")
    assert mandates(mreg) == []


@pytest.mark.parametrize("level", ["EH5", "eh3", "high", ""])
def test_mandate_unknown_level_is_refused(mreg, level):
    r = kp.kp("mandate", "grant", "j.jansen", "GM0363", "--level", level, data=mreg.path)
    assert r.returncode == 1, r.stderr
    assert mandates(mreg) == []


@pytest.mark.parametrize("scope", ["admin", "upload,upload", "upload, download", "", "read", "upload,download,delete"])
def test_mandate_bad_scope_is_refused(mreg, scope):
    r = kp.kp("mandate", "grant", "j.jansen", "GM0363", "--scope", scope, data=mreg.path)
    assert r.returncode == 1, r.stderr
    assert mandates(mreg) == []


def test_mandate_until_in_the_past_is_refused(mreg):
    refused(kp.kp("mandate", "grant", "j.jansen", "GM0363", "--until", "2001-01-01", data=mreg.path),
            "until-in-past")
    assert mandates(mreg) == []


def test_mandate_until_before_from_is_refused(mreg):
    refused(kp.kp("mandate", "grant", "j.jansen", "GM0363", "--from", "2099-06-01", "--until", "2099-01-01",
                  data=mreg.path))
    assert mandates(mreg) == []


@pytest.mark.parametrize("date", ["2099-13-01", "2099-02-30", "99-01-01", "2099/01/01", "tomorrow", "2099-01-01x"])
def test_mandate_bad_date_is_rejected(mreg, date):
    r = kp.kp("mandate", "grant", "j.jansen", "GM0363", "--until", date, data=mreg.path)
    assert r.returncode in (1, 2), r.stderr
    assert mandates(mreg) == []


def test_mandate_unknown_person_or_municipality_is_refused(mreg, keys):
    refused(kp.kp("mandate", "grant", "n.iemand", "GM0363", data=mreg.path), "not-found")
    refused(kp.kp("mandate", "grant", "j.jansen", "GM0001", data=mreg.path), "not-found")
    refused(kp.kp("mandate", "grant", "j.jansen", "GM363", data=mreg.path), "municipality-code-invalid")
    refused(kp.kp("mandate", "grant", "J.Jansen", "GM0363", data=mreg.path), "id-invalid")
    assert mandates(mreg) == []


def test_mandate_for_staff_account_is_refused(mreg, keys):
    s = keys("s.staff")
    mreg.staff(s)
    refused(kp.kp("mandate", "grant", "s.staff", "GM0363", data=mreg.path))
    assert mandates(mreg) == []


def test_mandate_duplicate_live_is_refused(mreg):
    mreg.grant("j.jansen", "GM0363")
    refused(kp.kp("mandate", "grant", "j.jansen", "GM0363", data=mreg.path))
    assert len(mandates(mreg)) == 1


def test_mandate_revoke_then_regrant(mreg):
    mreg.grant("j.jansen", "GM0363")
    mreg.grant("j.jansen", "GM0599")
    kp.kp_ok("mandate", "revoke", "j.jansen", "GM0363", data=mreg.path)
    ms = {m["municipality"]: m for m in mandates(mreg)}
    assert ms["GM0363"]["revoked"] is not None and ms["GM0363"]["state"] == "revoked"
    assert ms["GM0599"]["revoked"] is None, "revoking one municipality's mandate leaves the others"
    kp.kp_ok("mandate", "grant", "j.jansen", "GM0363", data=mreg.path)
    states = sorted(m["state"] for m in mandates(mreg) if m["municipality"] == "GM0363")
    assert states == ["granted", "revoked"], "the revoked row is kept for the record"


def test_mandate_revoke_without_live_mandate_is_refused(mreg):
    refused(kp.kp("mandate", "revoke", "j.jansen", "GM0363", data=mreg.path))
    mreg.grant("j.jansen", "GM0363")
    mreg.revoke("j.jansen", "GM0363")
    refused(kp.kp("mandate", "revoke", "j.jansen", "GM0363", data=mreg.path))


def test_mandate_list_text(mreg):
    mreg.grant("j.jansen", "GM0363")
    text = kp.kp_ok("mandate", "list", data=mreg.path).stdout
    assert "j.jansen" in text and "GM0363" in text and "EH3" in text


def test_registry_changes_are_audited(mreg):
    before = mreg.last_audit_id()
    mreg.grant("j.jansen", "GM0363")
    mreg.revoke("j.jansen", "GM0363")
    events = [(e["event"], e["outcome"]) for e in mreg.audit(since_id=before)]
    assert ("mandate.grant", "success") in events
    assert ("mandate.revoke", "success") in events
    earlier = [e["event"] for e in mreg.audit()]
    assert "municipality.add" in earlier and "person.add" in earlier

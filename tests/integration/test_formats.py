"""docs/formats.md in practice: a package built by docs/examples/make-package.sh
(tar, sha256sum, minisign and age only) is accepted by a live gateway; the
manifest it writes and the schemas' examples validate against
docs/schemas/*.schema.json, and a manifest the gateway refuses for a reason a
schema can express is refused by the schema too; a refused file type names
the file and lists the accepted types in the receipt.
"""

import io
import json
import os
import subprocess
import tarfile

import pytest

import intake_packages as ip
import kp
from test_intake import Intake

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(ROOT, "docs", "examples", "make-package.sh")
SCHEMAS = os.path.join(ROOT, "docs", "schemas")


@pytest.fixture(scope="module")
def it(make_world):
    w = make_world(settings={"workers": "1"})
    w.serve()
    return Intake(w)


def schema(name):
    with open(os.path.join(SCHEMAS, name)) as f:
        return json.load(f)


def make_package(it, tmp_path, files, env=None):
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    out = tmp_path / "signal.age"
    r = subprocess.run([SCRIPT, "-r", it.recipient, "-s", it.sender.sign_sec, "-m", "GM0363", "-u", "j.jansen",
                        "-o", str(out)] + [str(tmp_path / n) for n in files],
                       capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})
    assert r.returncode == 0, r.stderr
    return out.read_bytes()


def test_make_package_sh_is_accepted_by_a_live_gateway(it, tmp_path):
    sealed = make_package(it, tmp_path, {"rapport.pdf": b"%PDF-1.4\nevidence\n", "declaraties.csv": b"a;b\n1;2\n"},
                          env={"SUMMARY": 'a "quoted" summary with a \\ backslash'})
    it.upload({"make-package.age": sealed})
    [row] = it.wait("make-package.age")
    receipt = it.receipt("make-package.age")
    assert row["state"] == "accepted", receipt
    assert receipt["verdict"] == "accepted" and receipt["case_id"]


def test_make_package_sh_writes_a_manifest_the_schema_accepts(it, tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    # Sealed to the sender's own age key, so the test can look inside.
    mine = Intake.__new__(Intake)
    mine.recipient, mine.sender = it.sender.recipient, it.sender
    sealed = make_package(mine, tmp_path, {"a.txt": b"x"}, env={"KIND": "enrichment-response",
                                                                "IN_REPLY_TO": "KP-2026-000001-R1"})
    plain = subprocess.run(["age", "-d", "-i", it.sender.age_key], input=sealed, capture_output=True, timeout=60)
    assert plain.returncode == 0, plain.stderr
    with tarfile.open(fileobj=io.BytesIO(plain.stdout)) as t:
        assert sorted(t.getnames()) == ["files", "files/a.txt", "manifest.json", "manifest.json.minisig"]
        m = json.load(t.extractfile("manifest.json"))
    jsonschema.validate(m, schema("signal.schema.json"))
    assert m["files"] == [{"name": "files/a.txt", "size": 1, "sha256": ip.sha256_hex(b"x")}]


@pytest.mark.parametrize("name", ["signal.schema.json", "sip.schema.json", "request.schema.json"])
def test_schema_examples_validate(name):
    jsonschema = pytest.importorskip("jsonschema")
    s = schema(name)
    jsonschema.Draft202012Validator.check_schema(s)
    for example in s["examples"]:
        jsonschema.validate(example, s)


# Manifests the gateway refuses for a reason the schema can say too.
REFUSED = {
    "unknown field": dict(provder="x"),
    "missing summary": dict(summary=None),
    "amount in quotes": dict(estimated_damage_eur="125000"),
    "fraction": dict(clients_affected=1.5),
    "negative": dict(clients_affected=-1),
    "domain lowercase": dict(domain="wmo"),
    "bad municipality": dict(municipality="GM36"),
    "kvk as number": dict(provider={"kvk": 12345678, "name": "Zorg BV"}),
    "reply without in_reply_to": dict(kind="enrichment-response"),
    "in_reply_to on a signal": dict(in_reply_to="KP-2026-000001-R1"),
    "file outside files/": dict(files=[{"name": "rapport.pdf", "size": 1, "sha256": "a" * 64}]),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_schema_and_gateway_agree_on_refusals(case, tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    m = ip.manifest({})
    for k, v in REFUSED[case].items():
        if v is None:
            m.pop(k)
        else:
            m[k] = v
    assert not jsonschema.Draft202012Validator(schema("signal.schema.json")).is_valid(m)
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(m))
    r = kp.kp("manifest", "check", str(path))
    assert r.returncode == 1 and "manifest-" in r.stderr, (r.returncode, r.stderr)
    ok = ip.manifest({})
    assert jsonschema.Draft202012Validator(schema("signal.schema.json")).is_valid(ok)
    path.write_text(json.dumps(ok))
    assert kp.kp("manifest", "check", str(path)).returncode == 0


def test_refused_type_names_the_file_and_lists_the_accepted_types(it):
    files = {"files/rapport.pdf": b"%PDF-1.4\n", "files/bijlage.bin": b"\x00\x01"}
    it.upload({"bin-type.age": it.seal(it.tar(files))})
    [row] = it.wait("bin-type.age")
    receipt = it.receipt("bin-type.age")
    assert row["state"] == "rejected" and receipt["reason_code"] == "package-file-type"
    text = receipt["reason_text"]
    assert '"files/bijlage.bin" has type .bin' in text and "entry" not in text, text
    assert "accepted: .pdf .txt .csv .json .xml" in text, text


def test_armored_package_is_accepted(it):
    """`age -a` writes the ASCII armor of the age format; intake decodes it
    and accepts the package like its binary form."""
    r = subprocess.run(["age", "-a", "-r", it.recipient], input=it.tar(), capture_output=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----"), r.stderr
    it.upload({"armored.age": r.stdout})
    [row] = it.wait("armored.age")
    receipt = it.receipt("armored.age")
    assert row["state"] == "accepted", receipt
    assert receipt["sha256"] == ip.sha256_hex(r.stdout)
    # Nothing left behind in DATA/work (the decoded copy had no name).
    assert not [n for n in os.listdir(os.path.join(it.data.path, "work")) if "armor" in n]


# ---------------------------------------------------------------- receipts checked alone

def _verify_receipt_by_hand(receipt, log_vkey):
    """docs/formats.md section 4, steps 2-5, in plain Python (hashlib, base64,
    PyNaCl): what a municipality's own script does."""
    import base64
    import hashlib
    import nacl.signing

    record = receipt["record"].encode()
    assert record.startswith(b"knooppunt-audit/1\nindex: %d\n" % receipt["log_index"])
    fields = dict(l.split(": ", 1) for l in receipt["record"].splitlines()[1:] if ": " in l)
    assert fields["event"] == "intake.receipt" and fields["object"].endswith(" " + receipt["upload"])
    assert fields["sha256"] == receipt["sha256"] and fields["reason"] == receipt["reason_code"]
    leaf = hashlib.sha256(b"\x00" + record).digest()

    lines = receipt["proof"].split("\n")
    assert lines[0] == "c2sp.org/tlog-proof@v1"
    i = 1
    if lines[i].startswith("extra "):
        i += 1
    index = int(lines[i].split(" ")[1])
    i += 1
    path = []
    while lines[i]:
        path.append(base64.b64decode(lines[i]))
        i += 1
    checkpoint = "\n".join(lines[i + 1:])
    body, _, sigs = checkpoint.partition("\n\n")
    origin, size, root = body.split("\n")[:3]
    size, root = int(size), base64.b64decode(root)

    fn, sn, r = index, size - 1, leaf
    for p in path:
        assert sn != 0
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    assert sn == 0 and r == root, "the inclusion proof does not lead to the checkpoint's root"

    name, key_id, key = log_vkey.strip().split("+", 2)  # base64 may hold "+"
    assert name == origin
    raw = base64.b64decode(key)
    for line in sigs.strip().split("\n"):
        _, sig_name, blob = line.split(" ")
        blob = base64.b64decode(blob)
        if sig_name == name and blob[:4].hex() == key_id:
            nacl.signing.VerifyKey(raw[1:]).verify((body + "\n").encode(), blob[4:])
            return True
    raise AssertionError("no signature by the log key")


def test_receipt_verifies_alone_with_the_cli_and_by_hand(it, tmp_path):
    it.upload({"alone.age": it.valid()})
    [row] = it.wait("alone.age")
    receipt = it.receipt("alone.age")
    assert row["state"] == "accepted" and receipt["record"].startswith("knooppunt-audit/1\n")
    public = os.path.join(it.data.path, "public")
    hub, log = os.path.join(public, "hub.minisign.pub"), os.path.join(public, "log.note.vkey")
    path = it.outbox("alone.age.receipt.json")
    r = kp.kp("receipt", "verify", path, "--hub-key", hub, "--log-key", log)
    assert r.returncode == 0 and "valid receipt (accepted" in r.stdout, r.stderr
    assert _verify_receipt_by_hand(receipt, open(log).read())

    # A receipt whose record was changed: the hub's signature fails; the
    # same change re-signed by another key: the CLI names what is wrong.
    bad = tmp_path / "bad.receipt.json"
    text = open(path).read().replace("intake.receipt", "intake.receipX")
    bad.write_text(text)
    (tmp_path / "bad.receipt.json.minisig").write_text(open(path + ".minisig").read())
    r = kp.kp("receipt", "verify", str(bad), "--hub-key", hub, "--log-key", log)
    assert r.returncode == 1 and "receipt-signature-invalid" in r.stderr, r.stderr
    other = it.w.keys("other-signer")
    kp.run(["minisign", "-S", "-s", other.sign_sec, "-m", str(bad)])
    r = kp.kp("receipt", "verify", str(bad), "--hub-key", other.sign_pub, "--log-key", log)
    assert r.returncode == 1 and "receipt-record-mismatch" in r.stderr, r.stderr
    # The proof of another record does not verify this one.
    forged = json.loads(open(path).read())
    forged["log_index"] = forged["log_index"] - 1
    forged["record"] = forged["record"].replace(f"index: {forged['log_index'] + 1}\n", f"index: {forged['log_index']}\n")
    bad.write_text(json.dumps(forged))
    kp.run(["minisign", "-S", "-s", other.sign_sec, "-m", str(bad)])
    r = kp.kp("receipt", "verify", str(bad), "--hub-key", other.sign_pub, "--log-key", log)
    assert r.returncode == 1 and "receipt-proof-mismatch" in r.stderr, r.stderr


def test_the_same_signed_package_twice_is_a_duplicate(it):
    sealed = it.valid()
    it.upload({"first-copy.age": sealed})
    [first] = it.wait("first-copy.age")
    case = it.receipt("first-copy.age")["case_id"]
    # The same bytes under another name (a second seal of the same tar
    # would be other bytes with the same signed manifest: the same verdict).
    it.upload({"second-copy.age": sealed})
    [second] = it.wait("second-copy.age")
    receipt = it.receipt("second-copy.age")
    assert first["state"] == "accepted" and second["state"] == "rejected", receipt
    assert receipt["reason_code"] == "duplicate-package" and case in receipt["reason_text"], receipt
    assert len(it.data.sql("SELECT * FROM cases WHERE upload_id = ?", (second["id"],))) == 0


def test_the_same_files_under_a_new_manifest_are_accepted_and_shown_to_staff(it):
    files = it.files("same")
    it.upload({"files-once.age": it.seal(it.tar(files))})
    it.upload({"files-again.age": it.seal(it.tar(files, irregularity="the same files, told again"))})
    it.upload({"files-other.age": it.valid()})
    first, again, other = (it.wait(n)[0] for n in ("files-once.age", "files-again.age", "files-other.age"))
    assert first["state"] == again["state"] == other["state"] == "accepted"
    case1, case2, case3 = (it.receipt(n)["case_id"] for n in ("files-once.age", "files-again.age", "files-other.age"))
    listed = {c["case_id"]: c for c in json.loads(kp.kp_ok("queue", "list", "--json", data=it.data.path).stdout)}
    assert listed[case2]["same_files_as"] == [case1] and listed[case1]["same_files_as"] == [case2]
    assert listed[case3]["same_files_as"] == []
    text = kp.kp_ok("queue", "list", data=it.data.path).stdout
    assert any(l.startswith(case2) and l.endswith("same files as " + case1) for l in text.splitlines()), text
    # ... and the transfer log says so.
    [event] = it.data.audit(event="intake.same_files")
    assert event["object"] == "case/%s same files as %s" % (case2, case1)

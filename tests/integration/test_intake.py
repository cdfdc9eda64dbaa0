"""The intake worker against hostile packages, crashes and stock tools.

A municipality uploads age( tar{ manifest.json, manifest.json.minisig,
files/... } ) into its inbox; the worker started by `knooppunt serve` opens,
verifies and validates it and answers with a receipt signed by the hub key:
accepted (resealed to staff into DATA/queue) or rejected with a reason code
(the upload moved to DATA/quarantine). These tests judge it from outside:

- every hostile package (broken age, hostile tar, bad manifest or signature)
  is rejected with the reason code that tells the sender what to fix, and the
  worker writes nothing but the receipt pair and the quarantine file --
  nothing outside the data directory, nothing in the queue, no leftovers in
  DATA/work -- and keeps running: the same worker process accepts a valid
  package right after;
- exactly once: a worker killed with SIGKILL mid-run leaves every upload with
  exactly one receipt, one verdict and, if accepted, one case and one queue
  file;
- interop: a package made only with tarfile, minisign and age is accepted;
  one made by `knooppunt seal` opens with `age -d` and `tar`, and its
  manifest signature checks with `minisign -V`; queue files open with `age`;
- privilege separation: the SSH-facing processes never open the intake
  identity or the hub's signing key (observed with strace when it is there).

Packages are built by intake_packages.py with stock tools only.
"""

import base64
import glob
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import time

import pytest

import intake_packages as ip
import kp

MUNI = "GM0363"
USER = "j.jansen@GM0363"
VERDICT_TIMEOUT = 90  # seconds; generous, the test machines are shared

# Files that change on every operation and say nothing about what the worker
# wrote about a package: the store, the server's own log, and the transfer
# log's published checkpoint (rewritten, via a .tmp file, after each verdict).
VOLATILE = ("knooppunt.db", "knooppunt.db-wal", "knooppunt.db-shm", "knooppunt.db-journal")
VOLATILE_PATHS = (os.path.join("audit", "checkpoint"),)  # and each worker's audit/checkpoint.tmp-PID

# The private keys only workers may open (DESIGN.md "Keys").
PRIVATE_KEYS = ("intake.age", "intake.previous.age", "hub.minisign.key", "log.note.key")


# ---------------------------------------------------------------- the world

class Intake:
    """A World with a running server and what the tests need to talk to its
    worker: the intake recipient, the hub's public key, upload and wait."""

    def __init__(self, world):
        self.w = world
        self.data = world.data
        shown = json.loads(kp.kp_ok("keys", "show", "--json", data=self.data.path).stdout)
        self.recipient = shown["intake_recipient"]
        self.hub_pub = os.path.join(self.data.path, "keys", "hub.minisign.pub")
        self.sender = world.jansen
        self.counter = 0

    # -- packages
    def files(self, tag=""):
        """Two small documents with content unique to this call."""
        self.counter += 1
        stamp = f"{tag}-{self.counter}-{time.time_ns()}".encode()
        return {
            "files/rapport.pdf": b"%PDF-1.4\n% signal evidence " + stamp + b"\n" + os.urandom(2000),
            "files/declaraties.csv": b"datum;bedrag\n2026-01-05;1250\n" + stamp + b"\n",
        }

    def tar(self, files=None, extra=(), **manifest_fields):
        files = self.files() if files is None else files
        return ip.signed_tar(files, self.sender.sign_sec, extra=extra, **manifest_fields)

    def seal(self, tar_bytes):
        return ip.age_seal(tar_bytes, self.recipient)

    def valid(self):
        return self.seal(self.tar())

    # -- upload and verdict
    def upload(self, items, staged=False):
        """Uploads {name: bytes} over one SFTP session, in order. Staged: all
        under a temporary name (NAME.part) first, then renamed one after the
        other, so they reach the worker at nearly the same moment."""
        with kp.connect(self.w.port, USER, self.sender) as sftp:
            for name, data in items.items():
                kp.upload(sftp, "/inbox/" + name + (".part" if staged else ""), data, chunk=1 << 16)
            if staged:
                for name in items:
                    sftp.rename(f"/inbox/{name}.part", "/inbox/" + name)

    def row(self, name):
        rows = self.data.sql("SELECT * FROM uploads WHERE municipality = ? AND name = ?", (MUNI, name))
        return rows[0] if rows else None

    def outbox(self, name):
        return os.path.join(self.data.box(MUNI, "outbox"), name)

    def quarantine_path(self, row):
        return os.path.join(self.data.path, "quarantine", f"{MUNI}-{row['id']}-{row['name']}")

    def case_of(self, row):
        rows = self.data.sql("SELECT * FROM cases WHERE upload_id = ?", (row["id"],))
        return rows[0] if rows else None

    def settled(self, name):
        """The upload's row once its verdict and every output are in place, else None."""
        row = self.row(name)
        if not row or row["state"] not in ("accepted", "rejected"):
            return None
        if not (os.path.exists(self.outbox(name + ".receipt.json"))
                and os.path.exists(self.outbox(name + ".receipt.json.minisig"))):
            return None
        if row["state"] == "rejected" and not os.path.exists(self.quarantine_path(row)):
            return None
        if row["state"] == "accepted":
            case = self.case_of(row)
            if not case or not os.path.exists(os.path.join(self.data.path, "queue", case["queue_name"])):
                return None
        return row

    def wait(self, *names, timeout=VERDICT_TIMEOUT):
        deadline = time.time() + timeout
        rows = {}
        while time.time() < deadline:
            for n in names:
                if n not in rows:
                    r = self.settled(n)
                    if r:
                        rows[n] = r
            if len(rows) == len(names):
                return [rows[n] for n in names]
            time.sleep(0.05)
        states = {n: (self.row(n) or {}).get("state") for n in names}
        raise AssertionError(f"no verdict within {timeout}s: {states}\n--- serve log tail:\n"
                             + self.w.server.log_text()[-3000:])

    def receipt(self, name):
        """The receipt JSON, after checking its signature with the stock minisign CLI."""
        path = self.outbox(name + ".receipt.json")
        r = kp.run(["minisign", "-V", "-q", "-p", self.hub_pub, "-m", path])
        assert r.returncode == 0, f"receipt signature does not verify: {r.stderr}"
        with open(path) as f:
            return json.load(f)

    # -- processes
    def worker_pids(self):
        return worker_pids(self.w.server.proc.pid)


def worker_pids(serve_pid):
    """Pids of the children of `serve_pid` whose command line says `worker`."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid != serve_pid:
                continue
            with open(f"/proc/{d}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if b"worker" in argv and "Z" != stat.rsplit(")", 1)[1].split()[0]:
            out.append(int(d))
    return sorted(out)


def snapshot(root):
    """Every file and folder below `root` (relative path -> (kind, size,
    mtime_ns)), leaving out the store and the server logs."""
    out = {}
    for base, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(base, name)
            rel = os.path.relpath(p, root)
            leaf = os.path.basename(rel)
            if leaf in VOLATILE or (leaf.startswith("serve-") and leaf.endswith(".log")):
                continue
            if any(rel.endswith(os.sep + v) for v in VOLATILE_PATHS) or \
                    os.path.basename(rel).startswith("checkpoint.tmp-"):
                continue
            # The log's tiles (workers rewrite them with every checkpoint).
            if os.sep + os.path.join("audit", "log") + os.sep in os.sep + rel + os.sep:
                continue
            st = os.lstat(p)
            kind = "dir" if os.path.isdir(p) and not os.path.islink(p) else (
                "link" if os.path.islink(p) else "file")
            out[rel] = (kind, 0 if kind == "dir" else st.st_size, 0 if kind == "dir" else st.st_mtime_ns)
    return out


@pytest.fixture(scope="module")
def intake(make_world):
    w = make_world(settings={"workers": "1"})
    w.serve()
    it = Intake(w)
    # Warm-up: one valid package, so the worker's own folders (work/, queue/)
    # exist before the tests compare the data directory before and after.
    it.upload({"warm-up.age": it.valid()})
    [row] = it.wait("warm-up.age")
    assert row["state"] == "accepted", row
    return it


# ---------------------------------------------------------------- hostile packages

def _chunked_tar(it, chunks=3):
    """A valid package tar of about `chunks` age chunks (a larger document)."""
    files = it.files()
    files["files/bijlage.pdf"] = b"%PDF-1.4\n" + os.urandom(chunks * ip.CHUNK - 8 * 1024)
    return it.tar(files)


def _stanza_body_flip(sealed):
    """Flips one bit of the wrapped file key in the X25519 stanza (decoded
    and re-encoded, so the header stays well-formed base64)."""
    lines = sealed[:ip.header_end(sealed)].split(b"\n")
    i = next(k for k, line in enumerate(lines) if line.startswith(b"-> X25519")) + 1
    body = bytearray(base64.b64decode(lines[i] + b"=" * (-len(lines[i]) % 4)))
    body[3] ^= 0x01
    lines[i] = base64.b64encode(bytes(body)).rstrip(b"=")
    return b"\n".join(lines) + sealed[ip.header_end(sealed):]


def _mac_flip(sealed):
    """Flips one bit of the header MAC (decoded and re-encoded)."""
    end = ip.header_end(sealed)
    start = sealed.rindex(b"\n---", 0, end - 1) + 1
    mac = bytearray(base64.b64decode(sealed[start + 4:end - 1] + b"="))
    mac[0] ^= 0x80
    return sealed[:start + 4] + base64.b64encode(bytes(mac)).rstrip(b"=") + b"\n" + sealed[end:]


def _age(it):
    """age-layer cases: name -> (builder, expected reason codes)."""
    one_chunk = lambda: it.valid()  # noqa: E731
    three = lambda: it.seal(_chunked_tar(it))  # noqa: E731

    def other_recipient():
        return ip.age_seal(it.tar(), it.w.keys("gm0363-intake").recipient)

    def truncated_at_chunk_boundary():
        s = three()
        return s[:ip.payload_offset(s) + 2 * (ip.CHUNK + ip.TAG)]

    def truncated_in_last_chunk():
        s = three()
        return s[:-100]

    def truncated_in_header():
        s = one_chunk()
        return s[:ip.header_end(s) - 20]

    def truncated_after_header():
        s = one_chunk()
        return s[:ip.header_end(s)]

    def truncated_in_nonce():
        s = one_chunk()
        return s[:ip.header_end(s) + 8]

    def flipped_version_line():
        return ip.flip(one_chunk(), 3)

    def flipped_payload_first_chunk():
        s = three()
        return ip.flip(s, ip.payload_offset(s) + 100)

    def flipped_nonce():
        s = one_chunk()
        return ip.flip(s, ip.header_end(s) + 5)

    def flipped_last_chunk():
        return ip.flip(three(), -5)

    def flipped_last_tag_only_chunk():
        return ip.flip(one_chunk(), -1, bit=7)

    def trailing_after_full_final_chunk():
        tar = ip.pad_to_chunks(it.tar(), 2)
        return it.seal(tar) + b"\0" * 32

    def trailing_after_short_final_chunk():
        return one_chunk() + b"trailing garbage"

    def second_age_file_appended():
        return one_chunk() + it.valid()

    return {
        "wrong-recipient": (other_recipient, {"age-no-match"}),
        "truncated-at-chunk-boundary": (truncated_at_chunk_boundary, {"age-truncated"}),
        # A cut inside a chunk cannot be told from tampering; either code is honest.
        "truncated-in-last-chunk": (truncated_in_last_chunk, {"age-truncated", "age-payload-invalid"}),
        "truncated-in-header": (truncated_in_header, {"age-header-invalid"}),
        # The header is complete and its MAC verifies: this is an age file
        # that ends too early, not a damaged or foreign header.
        # The C2SP CCTV vectors stream_no_nonce and stream_short_nonce class a
        # file that ends before its 16-byte payload nonce as a header failure.
        "truncated-after-header": (truncated_after_header, {"age-header-invalid"}),
        "truncated-in-nonce": (truncated_in_nonce, {"age-header-invalid"}),
        "flipped-header-version": (flipped_version_line, {"age-header-invalid"}),
        "flipped-header-mac": (lambda: _mac_flip(one_chunk()), {"age-hmac-mismatch"}),
        # A damaged wrapped key looks exactly like a stanza for someone else.
        "flipped-header-stanza": (lambda: _stanza_body_flip(one_chunk()),
                                  {"age-no-match", "age-header-invalid", "age-hmac-mismatch"}),
        "flipped-nonce": (flipped_nonce, {"age-payload-invalid"}),
        "flipped-payload": (flipped_payload_first_chunk, {"age-payload-invalid"}),
        "flipped-last-chunk": (flipped_last_chunk, {"age-payload-invalid"}),
        "flipped-only-chunk-tag": (flipped_last_tag_only_chunk, {"age-payload-invalid"}),
        "trailing-after-final-chunk": (trailing_after_full_final_chunk, {"age-trailing-data"}),
        # After a short final chunk the extra bytes change where the chunk
        # seems to end, so it fails authentication: the damaged-content code
        # is what the cryptography can say.
        "trailing-after-short-chunk": (trailing_after_short_final_chunk,
                                       {"age-trailing-data", "age-payload-invalid"}),
        "second-age-file-appended": (second_age_file_appended, {"age-trailing-data", "age-payload-invalid"}),
        "not-age": (lambda: b"%PDF-1.4\nthis is a document, not a sealed package\n", {"age-header-invalid"}),
        "unsealed-tar": (lambda: it.tar(), {"age-header-invalid"}),
        "armored-age-damaged": (lambda: _armor(it, damaged=True), {"age-header-invalid"}),
        "empty": (lambda: b"", {"upload-empty"}),
    }


def _armor(it, damaged=False):
    """`age -a` output (accepted, see test_formats.py); damaged: one data
    line is not base64 any more, so the armor does not decode."""
    r = subprocess.run(["age", "-a", "-r", it.recipient], input=it.tar(), capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    if not damaged:
        return r.stdout
    lines = r.stdout.split(b"\n")
    lines[2] = b"*" + lines[2][1:]
    return b"\n".join(lines)


def _tar(it):
    """tar-layer cases (correctly sealed, manifest signed by the uploader)."""

    def with_extra(*entries, compression=""):
        return lambda: it.seal(it.tar(extra=entries) if not compression
                               else ip.signed_tar(it.files(), it.sender.sign_sec, extra=entries,
                                                  compression=compression))

    def duplicate():
        files = it.files()
        return it.seal(it.tar(files, extra=[ip.reg("files/rapport.pdf", files["files/rapport.pdf"])]))

    def duplicate_manifest():
        files = it.files()
        mb = ip.manifest_bytes(ip.manifest(files))
        entries = ip.package_entries(files, it.sender.sign_sec, manifest_override=mb)
        return it.seal(ip.tar_bytes(entries + [ip.reg("manifest.json", mb)]))

    def many_entries(n=100_000):
        files = it.files()
        entries = ip.package_entries(files, it.sender.sign_sec)
        buf = io.BytesIO()
        # gzip keeps the upload small: 100k headers are 51 MB raw, 0 data bytes.
        with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1, format=tarfile.USTAR_FORMAT) as t:
            for ti, data in entries:
                t.addfile(ti, io.BytesIO(data))
            ti = tarfile.TarInfo("files/x")
            ti.mtime = 0
            for i in range(n):
                ti.name = f"files/n{i:06d}.txt"
                t.addfile(ti)
        return it.seal(buf.getvalue())

    def zero_bomb():
        files = it.files()
        bomb = ip.gzip_zero_bomb(ip.package_entries(files, it.sender.sign_sec), "files/nul.pdf", 2 << 30)
        assert len(bomb) < 3 << 20
        return it.seal(bomb)

    def declared_too_large():
        files = it.files()
        head = ip._strip_tar_end(ip.tar_bytes(ip.package_entries(files, it.sender.sign_sec)))
        # Declares 5 GiB (past the 4 GiB unpacked limit) and then ends.
        return it.seal(head + ip.raw_tar_header("files/groot.pdf", 5 << 30) + bytes(1024))

    def no_manifest():
        files = it.files()
        sig = ip.sign(it.sender.sign_sec, ip.manifest_bytes(ip.manifest(files)))
        return it.seal(ip.tar_bytes([ip.reg("manifest.json.minisig", sig)]
                                    + [ip.reg(n, d) for n, d in files.items()]))

    def no_signature():
        files = it.files()
        return it.seal(ip.tar_bytes([ip.reg("manifest.json", ip.manifest_bytes(ip.manifest(files)))]
                                    + [ip.reg(n, d) for n, d in files.items()]))

    def not_tar():
        return it.seal(b"just some text, sealed properly but not a tar archive\n" * 50)

    return {
        "tar-dotdot": (with_extra(ip.reg("../x", b"escape")), {"package-entry-traversal"}),
        "tar-dotdot-below-files": (with_extra(ip.reg("files/../../x.pdf", b"escape")),
                                   {"package-entry-traversal"}),
        "tar-absolute": (with_extra(ip.reg("/tmp/knooppunt-intake-x.pdf", b"escape")),
                         {"package-entry-absolute"}),
        "tar-symlink": (with_extra(ip.symlink("files/link.pdf", "/etc/passwd")), {"package-entry-symlink"}),
        "tar-hardlink": (with_extra(ip.hardlink("files/hl.pdf", "manifest.json")), {"package-entry-hardlink"}),
        "tar-hardlink-outside": (with_extra(ip.hardlink("files/hl.pdf", "/etc/passwd")),
                                 {"package-entry-hardlink"}),
        "tar-device": (with_extra(ip.device("files/null.pdf")), {"package-entry-special"}),
        "tar-block-device": (with_extra(ip.device("files/sda.pdf", tarfile.BLKTYPE, 8, 0)),
                             {"package-entry-special"}),
        "tar-fifo": (with_extra(ip.device("files/pipe.pdf", tarfile.FIFOTYPE, 0, 0)), {"package-entry-special"}),
        "tar-duplicate": (duplicate, {"package-entry-duplicate"}),
        "tar-duplicate-manifest": (duplicate_manifest, {"package-entry-duplicate"}),
        "tar-100k-entries": (many_entries, {"package-too-many-entries"}),
        "tar-gzip-bomb": (zero_bomb, {"package-compression-ratio"}),
        "tar-declared-5gib": (declared_too_large, {"package-too-large-unpacked"}),
        "tar-name-too-long": (with_extra(ip.reg("files/" + "a" * 300 + ".pdf", b"long")),
                              {"package-entry-name-too-long"}),
        "tar-name-bidi": (with_extra(ip.reg("files/rapport\u202efdp.exe", b"MZ")), {"package-entry-name-invalid"}),
        "tar-outside-files": (with_extra(ip.reg("notes.txt", b"top level")), {"package-entry-outside"}),
        "tar-executable": (with_extra(ip.reg("files/run.exe", b"MZ\x90\x00")), {"package-file-type"}),
        "tar-archive-inside": (with_extra(ip.reg("files/more.zip", b"PK\x03\x04")), {"package-file-type"}),
        "tar-manifest-missing": (no_manifest, {"package-manifest-missing"}),
        "tar-signature-missing": (no_signature, {"package-signature-missing"}),
        "not-tar": (not_tar, {"package-not-tar"}),
    }


def _manifest(it):
    """manifest- and signature-layer cases."""
    other = it.w.pietersen

    def signed_raw(mb, signer=None):
        files = it.files()
        entries = ip.package_entries(files, (signer or it.sender).sign_sec, manifest_override=mb)
        return it.seal(ip.tar_bytes(entries))

    def ten_mb_manifest():
        files = it.files()
        m = ip.manifest(files, summary="x" * (10 << 20))
        return signed_raw(ip.manifest_bytes(m))

    def signed_by_other():
        files = it.files()
        mb = ip.manifest_bytes(ip.manifest(files))
        return it.seal(ip.tar_bytes(ip.package_entries(files, other.sign_sec, manifest_override=mb)))

    def signature_over_other_manifest():
        files = it.files()
        mb = ip.manifest_bytes(ip.manifest(files))
        other_mb = ip.manifest_bytes(ip.manifest(files, estimated_damage_eur=1))
        sig = ip.sign(it.sender.sign_sec, other_mb)
        return it.seal(ip.tar_bytes(ip.package_entries(files, None, manifest_override=mb,
                                                       signature_override=sig)))

    def garbage_signature():
        files = it.files()
        mb = ip.manifest_bytes(ip.manifest(files))
        return it.seal(ip.tar_bytes(ip.package_entries(files, None, manifest_override=mb,
                                                       signature_override=b"not a minisign signature\n")))

    def hash_mismatch():
        files = it.files()
        mb = ip.manifest_bytes(ip.manifest(files))
        tampered = dict(files)
        pdf = bytearray(files["files/rapport.pdf"])
        pdf[-1] ^= 1  # same size, other content
        tampered["files/rapport.pdf"] = bytes(pdf)
        return it.seal(ip.tar_bytes(ip.package_entries(tampered, it.sender.sign_sec, manifest_override=mb)))

    def size_mismatch():
        files = it.files()
        mb = ip.manifest_bytes(ip.manifest(files))
        tampered = dict(files)
        tampered["files/rapport.pdf"] = files["files/rapport.pdf"] + b"more"
        return it.seal(ip.tar_bytes(ip.package_entries(tampered, it.sender.sign_sec, manifest_override=mb)))

    def missing_file():
        files = it.files()
        listed = dict(files, **{"files/ontbreekt.pdf": b"%PDF-1.4 not sent"})
        mb = ip.manifest_bytes(ip.manifest(listed))
        return it.seal(ip.tar_bytes(ip.package_entries(files, it.sender.sign_sec, manifest_override=mb)))

    def extra_file():
        files = it.files()
        return it.seal(it.tar(files, extra=[ip.reg("files/extra.txt", b"not in the manifest")]))

    def field(**fields):
        return lambda: it.seal(it.tar(**fields))

    return {
        "manifest-not-json": (lambda: signed_raw(b"this is not { json\n"), {"manifest-not-json"}),
        "manifest-json-array": (lambda: signed_raw(b"[1, 2, 3]\n"), {"manifest-not-json"}),
        "manifest-10mb": (ten_mb_manifest, {"package-manifest-too-large"}),
        "signature-by-other-person": (signed_by_other, {"manifest-signature-invalid"}),
        "signature-over-other-manifest": (signature_over_other_manifest, {"manifest-signature-invalid"}),
        "signature-garbage": (garbage_signature, {"manifest-signature-invalid"}),
        "file-hash-mismatch": (hash_mismatch, {"manifest-hash-mismatch"}),
        "file-size-mismatch": (size_mismatch, {"manifest-hash-mismatch"}),
        "file-missing": (missing_file, {"manifest-file-missing"}),
        "file-extra": (extra_file, {"manifest-file-extra"}),
        "municipality-mismatch": (field(municipality="GM0599"), {"manifest-municipality-mismatch"}),
        "submitter-mismatch": (field(submitted_by="p.pietersen"), {"manifest-submitter-mismatch"}),
        "bsn-invalid": (field(bsns=["111222333", "123456789"]), {"manifest-bsn-invalid"}),
        "kvk-invalid": (field(provider={"kvk": "1234567", "name": "Zorg BV"}), {"manifest-kvk-invalid"}),
        "kvk-letters": (field(provider={"kvk": "1234567a", "name": "Zorg BV"}), {"manifest-kvk-invalid"}),
        "format-unknown": (field(format="knooppunt-signal/2"), {"manifest-format-unknown"}),
        "field-unknown": (field(provder="typo"), {"manifest-field-unknown"}),
    }


class _Cases:
    """Collects the case tables once, by name, so parametrize can list them."""
    AGE = ["wrong-recipient", "truncated-at-chunk-boundary", "truncated-in-last-chunk", "truncated-in-header",
           "truncated-after-header", "truncated-in-nonce", "flipped-header-version", "flipped-header-mac", "flipped-header-stanza",
           "flipped-nonce", "flipped-payload", "flipped-last-chunk", "flipped-only-chunk-tag",
           "trailing-after-final-chunk", "trailing-after-short-chunk", "second-age-file-appended", "not-age",
           "unsealed-tar", "armored-age-damaged", "empty"]
    TAR = ["tar-dotdot", "tar-dotdot-below-files", "tar-absolute", "tar-symlink", "tar-hardlink",
           "tar-hardlink-outside", "tar-device", "tar-block-device", "tar-fifo", "tar-duplicate",
           "tar-duplicate-manifest", "tar-100k-entries", "tar-gzip-bomb", "tar-declared-5gib",
           "tar-name-too-long", "tar-name-bidi", "tar-outside-files", "tar-executable", "tar-archive-inside", "tar-manifest-missing",
           "tar-signature-missing", "not-tar"]
    MANIFEST = ["manifest-not-json", "manifest-json-array", "manifest-10mb", "signature-by-other-person",
                "signature-over-other-manifest", "signature-garbage", "file-hash-mismatch", "file-size-mismatch",
                "file-missing", "file-extra", "municipality-mismatch", "submitter-mismatch", "bsn-invalid",
                "kvk-invalid", "kvk-letters", "format-unknown", "field-unknown"]


def _builder(it, case):
    for table in (_age, _tar, _manifest):
        cases = table(it)
        if case in cases:
            return cases[case]
    raise KeyError(case)


def test_case_tables_are_complete(intake):
    """The parametrize lists name every case the builders define (and no other)."""
    for table, names in ((_age, _Cases.AGE), (_tar, _Cases.TAR), (_manifest, _Cases.MANIFEST)):
        assert sorted(table(intake)) == sorted(names)


@pytest.mark.parametrize("case", _Cases.AGE + _Cases.TAR + _Cases.MANIFEST)
def test_hostile_package_is_rejected_cleanly(intake, case):
    it = intake
    build, expected = _builder(it, case)
    hostile = build()
    name, follow = f"hostile-{case}.age", f"after-{case}.age"
    valid = it.valid()
    outside = os.path.dirname(it.data.path)  # the data directory and its siblings
    before = snapshot(outside)
    workers = it.worker_pids()
    assert len(workers) == 1, f"expected one worker under serve, found {workers}"
    audit_mark = it.data.last_audit_id()

    it.upload({name: hostile, follow: valid})
    row, after_row = it.wait(name, follow)

    # The verdict and its reason.
    assert row["state"] == "rejected", f"{case}: {row['state']} ({row['reason_code']})"
    assert row["reason_code"] in expected, \
        f"{case}: reason_code {row['reason_code']!r}, expected one of {sorted(expected)} ({row['reason_text']})"
    receipt = it.receipt(name)
    assert receipt["format"] == "knooppunt-receipt/1"
    assert receipt["upload"] == name
    assert receipt["sha256"] == hashlib.sha256(hostile).hexdigest()
    assert receipt["verdict"] == "rejected"
    assert receipt["reason_code"] == row["reason_code"]
    assert receipt["reason_text"] and "\n" not in receipt["reason_text"]
    assert receipt["case_id"] is None
    assert isinstance(receipt["log_index"], int)
    assert receipt["proof"].startswith(f"c2sp.org/tlog-proof@v1\nindex {receipt['log_index']}\n")
    assert it.case_of(row) is None
    with open(it.quarantine_path(row), "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == receipt["sha256"], "quarantine keeps the upload as sent"
    rejected = [e for e in it.data.audit(event="intake.rejected", since_id=audit_mark)
                if e["object"] == f"upload/{row['id']} {name}"]
    assert len(rejected) == 1 and rejected[0]["reason"] == row["reason_code"], rejected

    # The same worker process lived through it and accepted the next package.
    assert after_row["state"] == "accepted", f"valid package after {case}: {after_row['reason_code']}"
    assert it.worker_pids() == workers, f"the worker was replaced while handling {case} (crashed?)"

    # Nothing written but the receipt pairs, the quarantine file and the follow-up's outputs.
    after = snapshot(outside)
    data_rel = os.path.basename(it.data.path)
    case_row = it.case_of(after_row)
    expected_new = {
        os.path.join(data_rel, "boxes", MUNI, "outbox", name + ".receipt.json"),
        os.path.join(data_rel, "boxes", MUNI, "outbox", name + ".receipt.json.minisig"),
        os.path.join(data_rel, "quarantine", f"{MUNI}-{row['id']}-{name}"),
        os.path.join(data_rel, "boxes", MUNI, "outbox", follow + ".receipt.json"),
        os.path.join(data_rel, "boxes", MUNI, "outbox", follow + ".receipt.json.minisig"),
        os.path.join(data_rel, "boxes", MUNI, "inbox", follow),
        os.path.join(data_rel, "queue", case_row["queue_name"]),
        os.path.join(data_rel, "queue", ".payload", case_row["queue_name"]),
    }
    added = set(after) - set(before)
    removed = set(before) - set(after)
    changed = {p for p in set(before) & set(after) if before[p] != after[p] and before[p][0] != "dir"}
    assert added == expected_new, f"{case}: unexpected new paths {sorted(added - expected_new)}, " \
                                  f"missing {sorted(expected_new - added)}"
    assert not removed, f"{case}: removed {sorted(removed)}"
    assert not changed, f"{case}: changed {sorted(changed)}"
    assert not os.listdir(os.path.join(it.data.path, "work")), "work files left behind"


def test_compression_bomb_is_stopped_early(intake):
    """The 2 GiB gzip bomb is refused quickly: the worker stops after the
    ratio grace (16 MiB) instead of inflating gigabytes."""
    it = intake
    build, _ = _tar(it)["tar-gzip-bomb"]
    bomb = build()
    name = "bomb-timed.age"
    it.upload({name: bomb})
    start = time.time()
    [row] = it.wait(name)
    elapsed = time.time() - start
    assert row["reason_code"] == "package-compression-ratio"
    # Inflating 2 GiB takes several seconds even on a fast machine; the
    # grace plus one read is a fraction of a second. Generous for loaded CI.
    assert elapsed < 20, f"bomb took {elapsed:.1f}s to refuse"


# ---------------------------------------------------------------- accepted packages

def test_valid_stock_tool_package_is_accepted_and_resealed_to_staff(intake, tmp_path):
    """A package built with tarfile + minisign + age only is accepted; the
    queue file opens with `age -d` and the staff identity, holds the same
    manifest, signature and files, and the signature checks with `minisign -V`;
    `knooppunt open` agrees."""
    it = intake
    files = it.files("interop")
    tar = it.tar(files)
    sealed = it.seal(tar)
    mark = it.data.last_audit_id()
    it.upload({"stock.age": sealed})
    [row] = it.wait("stock.age")
    assert row["state"] == "accepted", row["reason_code"]
    receipt = it.receipt("stock.age")
    case = it.case_of(row)
    assert receipt["verdict"] == "accepted" and receipt["reason_code"] == "accepted"
    assert receipt["case_id"] == case["id"]
    assert receipt["sha256"] == hashlib.sha256(sealed).hexdigest()
    assert case["municipality"] == MUNI and case["provider_kvk"] == "12345678"
    qname = case["queue_name"]
    assert qname.startswith("rank-") and f"-{MUNI}-{case['id']}-" in qname and qname.endswith(".age")
    # The upload itself stays in the inbox, nothing is quarantined.
    assert not os.path.exists(it.quarantine_path(row))

    events = [e["event"] for e in it.data.audit(since_id=mark) if e["object"] and (
        e["object"].startswith(f"upload/{row['id']} ") or e["object"].startswith(f"case/{case['id']} "))]
    for ev in ("intake.opened", "intake.verified", "intake.queued", "intake.receipt"):
        assert events.count(ev) == 1, (ev, events)
    assert "intake.rejected" not in events

    queued = it.data.queued(qname)
    assert it.sender.recipient  # (the uploader cannot open it: sealed to staff only)
    rc, _, _ = ip.age_open(queued, it.sender.age_key)
    assert rc != 0, "the queue file must be sealed to staff, not to the uploader"
    rc, plain, err = ip.age_open(queued, it.w.staff.age_key)
    assert rc == 0, err
    with tarfile.open(fileobj=io.BytesIO(plain)) as t:
        got = {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}
        assert all(m.isfile() or m.isdir() for m in t.getmembers())
    sent = {ti.name: data for ti, data in ip.package_entries(files, it.sender.sign_sec,
                                                             manifest_override=_member(tar, "manifest.json"),
                                                             signature_override=_member(tar, "manifest.json.minisig"))}
    assert got == sent
    (tmp_path / "manifest.json").write_bytes(got["manifest.json"])
    (tmp_path / "manifest.json.minisig").write_bytes(got["manifest.json.minisig"])
    r = kp.run(["minisign", "-V", "-q", "-p", it.sender.sign_pub, "-m", str(tmp_path / "manifest.json")])
    assert r.returncode == 0, r.stderr

    out = tmp_path / "opened"
    (tmp_path / "queued.age").write_bytes(queued)
    r = kp.kp("open", tmp_path / "queued.age", "-i", it.w.staff.age_key,
              "--verify-key", it.sender.sign_pub, "-o", out)
    assert r.returncode == 0, r.stderr
    for n, d in files.items():
        assert (out / n).read_bytes() == d


def test_disabled_staff_is_no_recipient_of_new_queue_items(make_world, keys):
    """After `account disable`, new queue items are sealed to the remaining
    staff only."""
    w = make_world(settings={"workers": "1"})
    second = keys("s.second")
    w.data.staff(second)
    kp.kp_ok("account", "disable", "s.staff", data=w.data.path)
    w.serve()
    it = Intake(w)
    it.upload({"after-disable.age": it.valid()})
    [row] = it.wait("after-disable.age")
    assert row["state"] == "accepted", row
    queued = it.data.queued(it.case_of(row)["queue_name"])
    rc, _, err = ip.age_open(queued, second.age_key)
    assert rc == 0, err
    rc, _, _ = ip.age_open(queued, w.staff.age_key)
    assert rc != 0, "a disabled staff member must not be a recipient"


@pytest.mark.parametrize("fmt", ["pax", "gnu"])
def test_file_names_with_diacritics_are_accepted(intake, fmt):
    """Dutch file names carry diacritics ("één", "coöperatie"); a package
    whose tar stores them as UTF-8 -- in a pax header, as bsdtar and
    Python write, or raw, as GNU tar does -- is accepted like any other."""
    it = intake
    files = it.files("utf8")
    files["files/rapport-één-coöperatie.pdf"] = "%PDF-1.4\nzorgcoöperatie\n".encode()
    mb = ip.manifest_bytes(ip.manifest(files))
    entries = ip.package_entries(files, it.sender.sign_sec, manifest_override=mb)
    tar = ip.tar_bytes(entries, fmt={"pax": tarfile.PAX_FORMAT, "gnu": tarfile.GNU_FORMAT}[fmt])
    name = f"diacritics-{fmt}.age"
    it.upload({name: it.seal(tar)})
    [row] = it.wait(name)
    assert row["state"] == "accepted", f"{row['reason_code']}: {row['reason_text']}"
    rc, plain, err = ip.age_open(it.data.queued(it.case_of(row)["queue_name"]), it.w.staff.age_key)
    assert rc == 0, err
    with tarfile.open(fileobj=io.BytesIO(plain), encoding="utf-8") as t:
        assert t.extractfile("files/rapport-één-coöperatie.pdf").read() == files["files/rapport-één-coöperatie.pdf"]


def _member(tar, name):
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        return t.extractfile(name).read()


def test_knooppunt_seal_opens_with_stock_age_tar_and_minisign(intake, tmp_path):
    """`knooppunt seal` makes what age, tar and minisign understand, and the
    same command's package sealed to the hub is accepted."""
    it = intake
    ident = tmp_path / "test.age"
    r = kp.run(["age-keygen", "-o", str(ident)])
    assert r.returncode == 0, r.stderr
    test_recipient = kp.run(["age-keygen", "-y", str(ident)]).stdout.strip()
    files = it.files("seal")
    paths = []
    for n, d in files.items():
        p = tmp_path / os.path.basename(n)
        p.write_bytes(d)
        paths.append(str(p))
    m = ip.manifest({})
    (tmp_path / "m.json").write_text(json.dumps(m))

    out = tmp_path / "sealed.age"
    r = kp.kp("seal", "--to", test_recipient, "--sign-key", it.sender.sign_sec, "--manifest",
              tmp_path / "m.json", *paths, "-o", out)
    assert r.returncode == 0, r.stderr
    x = tmp_path / "x"
    x.mkdir()
    r = subprocess.run(f"age -d -i {ident} {out} | tar -x -C {x} -f -", shell=True, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    r = kp.run(["minisign", "-V", "-q", "-p", it.sender.sign_pub, "-m", str(x / "manifest.json")])
    assert r.returncode == 0, r.stderr
    listed = json.loads((x / "manifest.json").read_text())
    assert {f["name"] for f in listed["files"]} == set(files)
    for f in listed["files"]:
        data = (x / f["name"]).read_bytes()
        assert data == files[f["name"]]
        assert f["size"] == len(data) and f["sha256"] == hashlib.sha256(data).hexdigest()
    assert sorted(os.listdir(x)) == ["files", "manifest.json", "manifest.json.minisig"]

    hub = tmp_path / "to-hub.age"
    r = kp.kp("seal", "--to", it.recipient, "--sign-key", it.sender.sign_sec, "--manifest",
              tmp_path / "m.json", *paths, "-o", hub)
    assert r.returncode == 0, r.stderr
    it.upload({"sealed-by-cli.age": hub.read_bytes()})
    [row] = it.wait("sealed-by-cli.age")
    assert row["state"] == "accepted", row["reason_code"]


# ---------------------------------------------------------------- exactly once

def test_exactly_once_across_kill_9_of_the_worker(make_world):
    """Ten valid uploads reach the worker at once; it is killed with SIGKILL
    at least three times while it holds a claim. In the end every upload has exactly one receipt
    and verdict, every accepted one exactly one case and one queue file, and
    the transfer log one receipt event each."""
    w = make_world(settings={"workers": "1"})
    w.serve()
    it = Intake(w)
    serve_pid = w.server.proc.pid
    uploads = {}
    for i in range(10):
        files = it.files(f"once-{i}")
        files["files/bijlage.pdf"] = b"%PDF-1.4\n" + os.urandom(4 << 20)  # some milliseconds of work each
        uploads[f"once-{i:02d}.age"] = it.seal(it.tar(files))
    it.upload(uploads, staged=True)

    # Kill the worker while it holds a claim (state `processing`), again and
    # again, until at least three kills landed and one of them interrupted an
    # upload for certain (it had to be claimed a second time).
    kills = []
    deadline = time.time() + VERDICT_TIMEOUT
    while time.time() < deadline:
        rows = w.data.uploads(MUNI)
        if len(kills) >= 3 and any(r["attempts"] >= 2 for r in rows):
            break
        if all(r["state"] in ("accepted", "rejected") for r in rows):
            break
        pids = it.worker_pids()
        busy = [r for r in rows if r["state"] == "processing" and pids and r["claim_pid"] == pids[0]]
        if busy and pids[0] not in kills:
            os.kill(pids[0], signal.SIGKILL)
            kills.append(pids[0])
        time.sleep(0.002)
    assert len(kills) >= 2, f"only {len(kills)} kill(s) landed before the worker finished"

    rows = it.wait(*uploads)
    assert any(r["attempts"] >= 2 for r in w.data.uploads(MUNI)), "no kill interrupted a claimed upload"
    assert kp.wait_for(lambda: it.worker_pids() and it.worker_pids()[0] not in kills, timeout=10), \
        "serve did not restart the killed worker"
    assert worker_pids(serve_pid) and len(worker_pids(serve_pid)) == 1

    outbox = sorted(os.listdir(w.data.box(MUNI, "outbox")))
    expected_receipts = sorted([n + ".receipt.json" for n in uploads] + [n + ".receipt.json.minisig" for n in uploads])
    assert outbox == expected_receipts, outbox
    cases = w.data.sql("SELECT * FROM cases")
    by_upload = {}
    for c in cases:
        by_upload.setdefault(c["upload_id"], []).append(c)
    queue = sorted(n for n in os.listdir(os.path.join(w.data.path, "queue")) if not n.startswith("."))
    for row in rows:
        assert row["state"] == "accepted", (row["name"], row["reason_code"])
        receipt = it.receipt(row["name"])
        assert receipt["verdict"] == "accepted"
        assert receipt["sha256"] == hashlib.sha256(uploads[row["name"]]).hexdigest()
        assert len(by_upload.get(row["id"], [])) == 1, (row["name"], by_upload.get(row["id"]))
        assert receipt["case_id"] == by_upload[row["id"]][0]["id"]
        receipts = [e for e in w.data.audit(event="intake.receipt") if e["object"] == f"upload/{row['id']} {row['name']}"]
        assert len(receipts) == 1, (row["name"], receipts)
    assert len(cases) == 10 and len({c["id"] for c in cases}) == 10
    assert queue == sorted(c["queue_name"] for c in cases), queue
    assert len([e for e in w.data.audit(event="intake.queued")]) == 10
    assert not os.listdir(os.path.join(w.data.path, "quarantine"))
    assert not os.listdir(os.path.join(w.data.path, "work")), "work files left behind"
    # Every queue file is a complete, openable package.
    for c in cases:
        rc, plain, err = ip.age_open(w.data.queued(c["queue_name"]), w.staff.age_key)
        assert rc == 0, err
        with tarfile.open(fileobj=io.BytesIO(plain)) as t:
            assert "files/bijlage.pdf" in t.getnames()


# ---------------------------------------------------------------- privilege separation

@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_ssh_processes_never_open_private_keys(make_world, tmp_path):
    """Under strace -ff: the serve parent, its per-connection children and
    the HTTP process never open the intake identity or a signing key; only
    the `knooppunt worker` processes do (checked too, so the trace is known
    to see opens)."""
    w = make_world(settings={"workers": "1"})
    it = Intake(w)
    port, http = kp.free_port(), kp.free_port()
    prefix = str(tmp_path / "trace")
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(["strace", "-f", "-ff", "-qq", "-e", "trace=execve,open,openat,openat2",
                                 "-o", prefix, kp.BIN, "serve", "--data", w.data.path,
                                 "--listen", f"127.0.0.1:{port}", "--http", f"127.0.0.1:{http}"],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    try:
        class _S:  # what Intake needs of a server
            pass
        w.server = _S()
        w.server.port = port
        w.server.proc = proc
        w.server.log_text = lambda: log_path.read_text(errors="replace")
        ok = kp.wait_for(lambda: "event=serve.listening" in log_path.read_text(errors="replace"), timeout=60)
        assert ok, log_path.read_text(errors="replace")
        it.upload({"traced.age": it.valid(), "traced-bad.age": b"not age"})
        rows = it.wait("traced.age", "traced-bad.age")
        assert [r["state"] for r in rows] == ["accepted", "rejected"]
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)
        w.server = None

    worker_files, other_files = [], []
    for path in glob.glob(prefix + ".*"):
        with open(path, errors="replace") as f:
            text = f.read()
        is_worker = any(line.startswith("execve(") and '"worker"' in line for line in text.splitlines())
        (worker_files if is_worker else other_files).append((path, text))
    assert worker_files, "no worker process seen in the trace"
    assert any("intake.age" in t for _, t in worker_files), "the trace does not show the worker opening its key"
    assert other_files, "no gateway process seen in the trace"
    assert any("knooppunt.db" in t for _, t in other_files), "the trace does not show the gateway's opens"
    for path, text in other_files:
        for key in PRIVATE_KEYS:
            opened = [line for line in text.splitlines() if f"keys/{key}" in line and "open" in line]
            assert not opened, f"gateway process {os.path.basename(path)} opened {key}: {opened[:2]}"

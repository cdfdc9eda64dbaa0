#!/usr/bin/python3
"""Writes the seed corpus of every fuzz target to tests/fuzz/corpus/<target>/.

Run from the repository root when a wire format changes; the files it writes
are committed. Each target's first input byte picks its mode (tests/fuzz/fuzz.h),
so most seeds are written once per mode. Needs `age` and `minisign` (Debian).
"""
import base64
import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
# The C2SP CCTV test identity (tests/data/age), also the age target's.
CCTV_IDENTITY = "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0"
CCTV_RECIPIENT = "age1xmwwc06ly3ee5rytxm9mflaz2u56jjj36s0mypdrwsvlul66mv4q47ryef"


def put(target, name, data, modes=(None,)):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    for m in modes:
        path = os.path.join(d, name if m is None else f"{name}-m{m}")
        with open(path, "wb") as f:
            f.write(data if m is None else bytes([m]) + data)


def u32(v):
    return struct.pack(">I", v)


def u64(v):
    return struct.pack(">Q", v)


def s(b):
    b = b.encode() if isinstance(b, str) else b
    return u32(len(b)) + b


MANIFEST = {
    "format": "knooppunt-signal/1", "kind": "signal", "municipality": "GM0363",
    "submitted_by": "j.jansen", "created": "2026-11-22T10:15:00Z",
    "provider": {"kvk": "12345678", "agb": "01234567", "name": "Zorg BV"},
    "domain": "Wmo", "period": {"from": "2026-01-01", "until": "2026-06-30"},
    "irregularity": "care billed but not delivered", "estimated_damage_eur": 125000,
    "clients_affected": 14, "health_risk": "high", "summary": "free text", "bsns": ["111222333"],
    "files": [{"name": "rapport.pdf", "size": 5, "sha256": hashlib.sha256(b"%PDF-").hexdigest()}],
}
SIP = {"format": "knooppunt-sip/1", "case": "KP-2026-000042", "municipality": "GM0363",
       "submitted_by": "s.staff", "created": "2026-11-22T10:15:00Z", "title": "Uitkomst",
       "files": [{"name": "besluit.pdf", "size": 5, "sha256": hashlib.sha256(b"%PDF-").hexdigest()}]}


def sftp_packets():
    init = struct.pack(">IBI", 5, 1, 3)
    open_ = b"\x03" + u32(7) + s("/inbox/a.age") + u32(0x1a) + u32(0)
    write = b"\x06" + u32(8) + s("h1") + u64(0) + s("data")
    stat = b"\x11" + u32(9) + s("/outbox")
    rename = b"\x12" + u32(10) + s("/inbox/a.part") + s("/inbox/a.age")
    packets = b"".join(u32(len(p)) + p for p in (open_, write, stat, rename))
    put("sftp_codec", "init", init)
    put("sftp_codec", "session", init + packets)


def monitor():
    put("monitor_wire", "stat", bytes([1]) + s("/inbox/a.age"))
    put("monitor_wire", "rename", bytes([9]) + s("/inbox/a.part") + s("/inbox/a.age"))
    put("monitor_wire", "close-write", bytes([4]) + u32(3) + u64(1234) + s("ab" * 32))
    put("monitor_wire", "discard", bytes([6]) + u32(3) + u64(10) + s("too-large"))
    put("monitor_wire", "reply-error", bytes([3]) + b"\x01" + s("quota-exceeded") + s("too much today"))


def parser_wire():
    exts = [".pdf", ".txt"]
    # the ratio travels as the double's bits in a u64, big-endian like every field
    rules = (u64(2 << 30) + u64(4 << 30) + u32(10000) + u32(255) + struct.pack(">d", 100.0)
             + u64(16 << 20) + u64(1 << 20) + u64(16 << 10) + u32(len(exts)) + b"".join(s(e) for e in exts))
    job = u32(0x4b504a31) + bytes(32) + u64(200) + u64(216) + u32(30000) + rules + u32(1) + bytes(range(32))
    put("parser_wire", "job", job, modes=(1,))
    files = s("files/rapport.pdf") + u64(5) + hashlib.sha256(b"%PDF-").digest()
    answer = (u32(0x4b504131) + b"\x00" + s(json.dumps(MANIFEST)) + s("untrusted comment: x\nRWQ=\n")
              + u64(900) + u32(1) + files + s(""))
    put("parser_wire", "answer", answer, modes=(0,))
    put("parser_wire", "rejection", u32(0x4b504131) + b"\x01" + s("package-entry-link") + s("a link") + s(""),
        modes=(0,))


def manifests():
    put("manifest", "signal", json.dumps(MANIFEST, indent=2), modes=(0,))
    put("manifest", "sip", json.dumps(SIP), modes=(1,))
    req = dict(SIP, format="knooppunt-request/1", question="Welke zorg?")
    del req["title"]
    put("manifest", "request", json.dumps(req), modes=(1,))


def settings():
    put("settings", "file", "# knooppunt settings\nlisten = 127.0.0.1:2222\nworkers = 2\nsmtp_starttls = no\n"
        "retention_inbox = 30d\nban_safelist = 127.0.0.1,::1\nmax_compression_ratio = 100\n", modes=(1,))
    for d in ("30d", "12h", "90s"):
        put("settings", f"duration-{d}", d, modes=(0,))


def http():
    put("http_form", "login", "POST /auditor/login?municipality=GM0363&since=2026-01-01 HTTP/1.1\r\n"
        "Host: 127.0.0.1\r\nCookie: kp_session=abc123; theme=dark\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 25\r\n\r\n"
        "auditor=aud1&token=s%20cr+t&csrf=x")
    put("http_form", "get", "GET /auditor/?event=upload.received&outcome=ok HTTP/1.1\r\nHost: a\r\n\r\n")


def tool_seeds(tmp):
    plain = b"hello, knooppunt\n"
    age = subprocess.run(["age", "-r", CCTV_RECIPIENT], input=plain, capture_output=True, check=True).stdout
    armored = subprocess.run(["age", "-a", "-r", CCTV_RECIPIENT], input=plain, capture_output=True,
                             check=True).stdout
    put("age", "file", age, modes=(0, 1))
    put("age", "armored", armored, modes=(0,))
    put("age", "plain", plain, modes=(2,))
    put("age", "identity", f"# created: 2026-01-01T00:00:00Z\n# public key: {CCTV_RECIPIENT}\n{CCTV_IDENTITY}\n",
        modes=(3,))
    put("age", "recipient", CCTV_RECIPIENT, modes=(3,))

    pk, sk, msg = (os.path.join(tmp, n) for n in ("k.pub", "k.key", "m"))
    subprocess.run(["minisign", "-G", "-W", "-p", pk, "-s", sk], capture_output=True, check=True)
    with open(msg, "wb") as f:
        f.write(b"message")
    subprocess.run(["minisign", "-S", "-s", sk, "-m", msg, "-t", "knooppunt manifest"], capture_output=True,
                   check=True)
    sig = open(msg + ".minisig", "rb").read()
    put("minisign", "signature", sig, modes=(0,))
    put("minisign", "public-key", open(pk, "rb").read(), modes=(1,))
    put("minisign", "secret-key", open(sk, "rb").read(), modes=(1,))
    put("minisign", "sign", "knooppunt manifest\n{\"files\": []}\n", modes=(2,))
    return sig


def notes():
    root = base64.b64encode(hashlib.sha256(b"root").digest()).decode()
    checkpoint = f"knooppunt.example/log\n42\n{root}\n"
    sig = base64.b64encode(bytes(4) + bytes(range(64))).decode()
    note = checkpoint + "\n\u2014 knooppunt.example/log " + sig + "\n"
    put("signed_note", "note", note, modes=(0,))
    put("signed_note", "text", checkpoint, modes=(1,))
    put("signed_note", "checkpoint", checkpoint, modes=(2,))
    vkey = "knooppunt.example/log+0a1b2c3d+" + base64.b64encode(b"\x01" + bytes(32)).decode()
    put("signed_note", "vkey", vkey, modes=(2,))
    h = base64.b64encode(hashlib.sha256(b"x").digest()).decode()
    put("signed_note", "proof", f"c2sp.org/tlog-proof@v1\nindex 3\n{h}\n{h}\n\n{note}", modes=(2,))


def tar_bytes(entries, mode="w"):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode, format=tarfile.PAX_FORMAT) as t:
        for name, data, kind in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1767225600
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                t.addfile(info)
            elif kind == "link":
                info.type = tarfile.SYMTYPE
                info.linkname = data
                t.addfile(info)
            else:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def packages(sig):
    m = json.dumps(MANIFEST).encode()
    good = [("manifest.json", m, "file"), ("manifest.json.minisig", sig, "file"),
            ("files/", b"", "dir"), ("files/rapport.pdf", b"%PDF-", "file")]
    put("package", "valid", tar_bytes(good), modes=(0, 1))
    put("package", "valid-gz", tar_bytes(good, "w:gz"), modes=(0,))
    put("package", "link", tar_bytes(good + [("files/x.pdf", "../manifest.json", "link")]), modes=(0,))
    put("package", "dotdot", tar_bytes(good[:2] + [("files/../x.pdf", b"x", "file")]), modes=(1,))


def main():
    shutil.rmtree(ROOT, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        sig = tool_seeds(tmp)
    sftp_packets()
    monitor()
    parser_wire()
    manifests()
    settings()
    http()
    notes()
    packages(sig)
    for d in sorted(os.listdir(ROOT)):
        print(d, len(os.listdir(os.path.join(ROOT, d))), file=sys.stderr)


if __name__ == "__main__":
    main()

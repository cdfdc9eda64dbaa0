"""Builds signal packages -- valid and hostile -- for the intake-worker tests,
with stock tools only: the tar is made in memory with Python's tarfile module
(or by hand where tarfile refuses to write what an attacker would), the
manifest is signed with the `minisign` CLI and the result sealed with the
`age` CLI. Nothing here uses `knooppunt seal`, so an accepted package also
shows that the worker interoperates with the tools a municipality would use.

A package is age( tar{ manifest.json, manifest.json.minisig, files/... } );
the helpers return bytes so a test can damage any layer before uploading.
"""

import copy
import hashlib
import io
import json
import os
import struct
import subprocess
import tarfile
import tempfile
import time
import zlib

CHUNK = 64 * 1024  # age STREAM plaintext chunk
TAG = 16  # Poly1305 tag per chunk


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- manifest

BASE_MANIFEST = {
    "format": "knooppunt-signal/1",
    "kind": "signal",
    "municipality": "GM0363",
    "submitted_by": "j.jansen",
    "created": "2026-11-22T10:15:00Z",
    "provider": {"kvk": "12345678", "agb": "01234567", "name": "Zorg BV"},
    "domain": "Wmo",
    "period": {"from": "2026-01-01", "until": "2026-06-30"},
    "irregularity": "care billed but not delivered",
    "estimated_damage_eur": 125000,
    "clients_affected": 14,
    "health_risk": "high",
    "summary": "free text",
    "bsns": ["111222333"],
    "files": [],
}


def manifest(files, **overrides):
    """A valid manifest dict for `files` ({name: bytes}); keyword arguments
    replace top-level fields (None removes the field)."""
    m = copy.deepcopy(BASE_MANIFEST)
    m["files"] = [{"name": n, "size": len(d), "sha256": sha256_hex(d)} for n, d in files.items()]
    for k, v in overrides.items():
        if v is None:
            m.pop(k, None)
        else:
            m[k] = v
    return m


def manifest_bytes(m):
    return (json.dumps(m, indent=2) + "\n").encode()


def sign(sec_key, data, comment="knooppunt manifest"):
    """minisign signature file text (bytes) of `data` by the (unencrypted,
    -W) secret key file `sec_key`, made by the stock minisign CLI."""
    with tempfile.TemporaryDirectory() as d:
        msg = os.path.join(d, "manifest.json")
        sig = msg + ".minisig"
        with open(msg, "wb") as f:
            f.write(data)
        r = subprocess.run(["minisign", "-S", "-s", sec_key, "-m", msg, "-x", sig, "-t", comment],
                           capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr.decode(errors="replace")
        with open(sig, "rb") as f:
            return f.read()


# ---------------------------------------------------------------- tar

def reg(name, data=b"", mtime=None):
    """A regular-file tar entry."""
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = 0o644
    ti.mtime = int(mtime if mtime is not None else time.time())
    return ti, data


def folder(name):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.DIRTYPE
    ti.mode = 0o755
    ti.mtime = int(time.time())
    return ti, None


def symlink(name, target):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.SYMTYPE
    ti.linkname = target
    ti.mtime = int(time.time())
    return ti, None


def hardlink(name, target):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.LNKTYPE
    ti.linkname = target
    ti.mtime = int(time.time())
    return ti, None


def device(name, kind=tarfile.CHRTYPE, major=1, minor=3):
    """A device node (default: a character device like /dev/null); also FIFOTYPE."""
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.devmajor, ti.devminor = major, minor
    ti.mtime = int(time.time())
    return ti, None


def tar_bytes(entries, compression="", fmt=tarfile.PAX_FORMAT):
    """A tar archive of (TarInfo, data) entries, in order; `compression` ""
    or "gz" or "xz"; `fmt` a tarfile format (pax by default, as bsdtar and
    `tar --format=posix` write; GNU_FORMAT stores non-ASCII names as raw UTF-8)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:" + compression if compression else "w",
                      format=fmt, encoding="utf-8") as t:
        for ti, data in entries:
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def package_entries(files, sec_key, manifest_override=None, signature_override=None):
    """The entries of a well-formed package: manifest.json, its signature,
    files/... -- with the manifest/signature replaceable by the caller."""
    mb = manifest_override if manifest_override is not None else manifest_bytes(manifest(files))
    sig = signature_override if signature_override is not None else sign(sec_key, mb)
    entries = [reg("manifest.json", mb), reg("manifest.json.minisig", sig)]
    entries += [reg(n, d) for n, d in files.items()]
    return entries


def signed_tar(files, sec_key, extra=(), compression="", **manifest_fields):
    """A tar with a manifest listing `files` (with `manifest_fields` applied),
    signed by `sec_key`, followed by `extra` entries that the manifest does not list."""
    mb = manifest_bytes(manifest(files, **manifest_fields))
    return tar_bytes(package_entries(files, sec_key, manifest_override=mb) + list(extra), compression)


def raw_tar_header(name, size, typeflag=b"0"):
    """One ustar header block by hand, for sizes tarfile would insist on
    having the data for."""
    h = bytearray(512)
    h[0:len(name)] = name.encode()
    h[100:108] = b"0000644\0"
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = ("%011o" % size).encode() + b"\0" if size < 8 ** 11 else b"\x80" + size.to_bytes(11, "big")
    h[136:148] = ("%011o" % int(time.time())).encode() + b"\0"
    h[148:156] = b"        "
    h[156:157] = typeflag
    h[257:265] = b"ustar\x0000"
    chk = sum(h)
    h[148:156] = ("%06o" % chk).encode() + b"\0 "
    return bytes(h)


# ---------------------------------------------------------------- bombs

def _raw_deflate(data, final, level=9):
    """Raw deflate of `data` by a fresh compressor, ending byte-aligned
    (full flush) unless `final`: such segments can be concatenated."""
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    out = c.compress(data)
    out += c.flush(zlib.Z_FINISH if final else zlib.Z_FULL_FLUSH)
    return out


def gzip_zero_bomb(prefix_entries, name, size, block=1 << 20):
    """A gzip'd tar whose entry `name` holds `size` zero bytes (size a
    multiple of `block`), after `prefix_entries`; built from one compressed
    block repeated, so a 2 GiB member costs a second, not a minute. The
    stream is a valid gzip file (CRC and length are right)."""
    assert size % block == 0
    # tar_bytes ends with end blocks and record padding; strip them and go
    # on with our own entry.
    head = _strip_tar_end(tar_bytes(prefix_entries))
    header = raw_tar_header(name, size)
    tail = bytes(-size % 512) + bytes(1024)
    zeros = bytes(block)
    seg = _raw_deflate(zeros, final=False)
    crc = zlib.crc32(head)
    crc = zlib.crc32(header, crc)
    crc = crc32_combine(crc, crc32_of_zeros(size), size)
    crc = zlib.crc32(tail, crc)
    total = len(head) + len(header) + size + len(tail)
    body = bytearray()
    body += b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    body += _raw_deflate(head + header, final=False)
    body += seg * (size // block)
    body += _raw_deflate(tail, final=True)
    body += struct.pack("<II", crc & 0xFFFFFFFF, total & 0xFFFFFFFF)
    return bytes(body)


def _gf2_times(mat, vec):
    out, i = 0, 0
    while vec:
        if vec & 1:
            out ^= mat[i]
        vec >>= 1
        i += 1
    return out


def _gf2_square(mat):
    return [_gf2_times(mat, mat[n]) for n in range(32)]


def crc32_combine(crc1, crc2, len2):
    """CRC-32 of A||B from crc(A), crc(B) and len(B) -- what zlib's
    crc32_combine computes (Python's zlib module does not expose it):
    append len2 zero bits to crc1 by repeated squaring of the shift
    operator over GF(2), then add crc2."""
    if len2 == 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]  # operator for one zero bit
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four zero bits
    while True:
        even = _gf2_square(odd)  # first pass: one zero byte
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


def crc32_of_zeros(n, block=1 << 20):
    """CRC-32 of n zero bytes, by doubling a block (n a multiple of block)."""
    assert n % block == 0 and n > 0
    crc, length = zlib.crc32(bytes(block)), block
    acc, acc_len = 0, 0
    k = n // block
    while k:
        if k & 1:
            acc = crc32_combine(acc, crc, length) if acc_len else crc
            acc_len += length
        crc = crc32_combine(crc, crc, length)
        length *= 2
        k >>= 1
    return acc


def _strip_tar_end(t):
    """The tar without its end-of-archive zero blocks and record padding."""
    end = len(t)
    while end >= 512 and t[end - 512:end] == bytes(512):
        end -= 512
    return t[:end]


# ---------------------------------------------------------------- age

def age_seal(plaintext, *recipients):
    """Seals `plaintext` with the stock age CLI (binary, X25519 recipients)."""
    argv = ["age"]
    for r in recipients:
        argv += ["-r", r]
    r = subprocess.run(argv, input=plaintext, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return r.stdout


def age_open(sealed, identity_file):
    """Opens with the stock age CLI; returns (returncode, plaintext, stderr)."""
    r = subprocess.run(["age", "-d", "-i", identity_file], input=sealed, capture_output=True, timeout=120)
    return r.returncode, r.stdout, r.stderr.decode(errors="replace")


def header_end(sealed):
    """Offset just past the age header's MAC line (the 16-byte payload nonce follows)."""
    i = sealed.index(b"\n---")
    return sealed.index(b"\n", i + 1) + 1


def payload_offset(sealed):
    """Offset of the first payload chunk (after header and nonce)."""
    return header_end(sealed) + 16


def flip(data, offset, bit=0):
    """`data` with one bit flipped at `offset` (negative counts from the end)."""
    b = bytearray(data)
    b[offset] ^= 1 << bit
    return bytes(b)


def pad_to_chunks(tar, chunks):
    """The tar padded with zero blocks to exactly `chunks` * 64 KiB, so the
    age payload ends with a full-size final chunk."""
    assert len(tar) <= chunks * CHUNK
    return tar + bytes(chunks * CHUNK - len(tar))

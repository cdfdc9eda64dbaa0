"""An independent reader of a C2SP tlog-tiles log, written from the specs
(c2sp.org/tlog-tiles, tlog-checkpoint, signed-note, tlog-cosignature,
RFC 6962) for the tests: it shares no code with knooppunt.

It fetches the checkpoint, checks the log's Ed25519 note signature (and any
witness cosignatures it is given keys for), reads every hash tile and entry
bundle the checkpoint's size needs, checks each entry against its leaf hash,
and recomputes the root from the leaves."""

import base64
import hashlib
import http.client
import struct
import urllib.parse

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

DASH = "\u2014 "


class CheckError(Exception):
    pass


def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(hashes):
    """RFC 6962 Merkle Tree Hash over leaf hashes: split at the largest power of two below n."""
    n = len(hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashes[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


def parse_vkey(text):
    """name+hex id+base64(type || key) -> (name, id, type, key); checks the id."""
    name, hex_id, b64 = text.strip().split("+", 2)
    raw = base64.b64decode(b64, validate=True)
    key_id = bytes.fromhex(hex_id)
    if hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4] != key_id:
        raise CheckError("verifier key id does not match")
    return name, key_id, raw[0], raw[1:]


def split_note(note):
    text, sep, sigs = note.rpartition("\n\n")
    if not sep:
        raise CheckError("note without signatures")
    lines = [l for l in sigs.split("\n") if l]
    out = []
    for line in lines:
        if not line.startswith(DASH):
            raise CheckError("bad signature line")
        name, b64 = line[len(DASH):].split(" ")
        raw = base64.b64decode(b64, validate=True)
        out.append((name, raw[:4], raw[4:]))
    return text + "\n", out


def verify_note(note, vkey):
    name, key_id, kind, pk = parse_vkey(vkey)
    if kind != 1:
        raise CheckError("not an Ed25519 note key")
    text, sigs = split_note(note)
    ok = False
    for sname, sid, sig in sigs:
        if sname == name and sid == key_id:
            Ed25519PublicKey.from_public_bytes(pk).verify(sig, text.encode())  # raises when bad
            ok = True
    if not ok:
        raise CheckError("checkpoint not signed by " + name)
    return text


def verify_cosignature(note, vkey):
    name, key_id, kind, pk = parse_vkey(vkey)
    if kind != 4:
        raise CheckError("not a cosignature/v1 key")
    text, sigs = split_note(note)
    for sname, sid, sig in sigs:
        if sname == name and sid == key_id:
            ts = struct.unpack(">Q", sig[:8])[0]
            msg = b"cosignature/v1\ntime %d\n" % ts + text.encode()
            Ed25519PublicKey.from_public_bytes(pk).verify(sig[8:], msg)
            return ts
    raise CheckError("no cosignature by " + name)


def parse_checkpoint(text):
    lines = text.split("\n")
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
    if str(size) != lines[1] or len(root) != 32:
        raise CheckError("malformed checkpoint")
    return origin, size, root


def tile_index(n):
    parts = ["%03d" % (n % 1000)]
    n //= 1000
    while n:
        parts.insert(0, "x%03d" % (n % 1000))
        n //= 1000
    return "/".join(parts)


def tile_url(level, n, width):
    path = "tile/%s/%s" % (level, tile_index(n))
    return path + ("" if width == 256 else ".p/%d" % width)


class Client:
    def __init__(self, prefix, bearer):
        u = urllib.parse.urlsplit(prefix)
        self.host, self.port, self.path = u.hostname, u.port, u.path.rstrip("/")
        self.bearer = bearer
        self.headers = {}

    def get(self, rel):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        conn.request("GET", self.path + "/" + rel, headers={"Authorization": "Bearer " + self.bearer})
        r = conn.getresponse()
        body = r.read()
        self.headers[rel] = (r.status, {k.lower(): v for k, v in r.getheaders()})
        conn.close()
        if r.status != 200:
            raise CheckError("%s: HTTP %d %s" % (rel, r.status, body[:200]))
        return body


def check_log(client, log_vkey, witness_vkeys=()):
    """Returns (size, entries) after checking everything; raises CheckError or InvalidSignature."""
    note = client.get("checkpoint").decode("utf-8")
    text = verify_note(note, log_vkey)
    for w in witness_vkeys:
        verify_cosignature(note, w)
    origin, size, root = parse_checkpoint(text)
    leaves, entries = [], []
    for n in range((size + 255) // 256):
        width = min(256, size - n * 256)
        hashes = client.get(tile_url(0, n, width))
        bundle = client.get(tile_url("entries", n, width))
        if len(hashes) != 32 * width:
            raise CheckError("level-0 tile %d has %d bytes" % (n, len(hashes)))
        pos = 0
        for i in range(width):
            (length,) = struct.unpack(">H", bundle[pos:pos + 2])
            entry = bundle[pos + 2:pos + 2 + length]
            pos += 2 + length
            if leaf_hash(entry) != hashes[32 * i:32 * i + 32]:
                raise CheckError("entry %d does not hash to its leaf" % (n * 256 + i))
            leaves.append(hashes[32 * i:32 * i + 32])
            entries.append(entry)
        if pos != len(bundle):
            raise CheckError("entry bundle %d has trailing bytes" % n)
    # Level-1 tiles: each hash is the MTH of a full level-0 tile.
    full = size // 256
    if full:
        width = full % 256 or 256
        level1 = client.get(tile_url(1, 0, min(256, full)))
        for i in range(min(256, full)):
            if level1[32 * i:32 * i + 32] != mth(leaves[256 * i:256 * i + 256]):
                raise CheckError("level-1 hash %d is not the root of tile %d" % (i, i))
    if mth(leaves) != root:
        raise CheckError("the leaves do not add up to the checkpoint's root")
    return origin, size, entries

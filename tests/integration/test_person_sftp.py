"""What a municipal contact person can do over SFTP: `/` holds `inbox` and
`outbox` only; the inbox takes new files (atomically, registered in the
`uploads` table with size and SHA-256) and gives nothing back; the outbox can
be listed, downloaded and acknowledged (rm = move to the archive). Temporary
upload names (WinSCP `.filepart`, `.part`, `.tmp`) count only once renamed.
"""

import os
import stat

import pytest

import kp


@pytest.fixture(scope="module")
def w(world):
    return world


@pytest.fixture
def jj(w):
    c = w.jj()
    yield c.sftp
    c.close()


def inbox_names(w, code="GM0363"):
    return sorted(os.listdir(w.data.box(code, "inbox")))


def rows_named(w, name, code="GM0363"):
    return [u for u in w.data.uploads(code) if u["name"] == name]


def plant_outbox(w, name, data, code="GM0363"):
    path = os.path.join(w.data.box(code, "outbox"), name)
    with open(path, "wb") as f:
        f.write(data)
    return path


# ---------------------------------------------------------------- the view

def test_root_lists_inbox_and_outbox_only(jj):
    assert sorted(jj.listdir("/")) == ["inbox", "keys", "outbox"]
    for area in ("/inbox", "/outbox"):
        assert stat.S_ISDIR(jj.stat(area).st_mode)


def test_realpath_stays_in_the_virtual_tree(jj):
    assert jj.normalize(".") == "/"
    assert jj.normalize("/..") == "/"
    assert jj.normalize("/inbox/..") == "/"
    assert jj.normalize("inbox") == "/inbox"


def test_chdir_into_areas(jj):
    jj.chdir("/outbox")
    assert jj.getcwd() == "/outbox"
    jj.chdir("..")
    assert jj.normalize(".") == "/"


def test_nothing_else_at_the_root(jj):
    for p in ("/queue", "/outgoing", "/audit", "/archive", "/partial", "/GM0363", "/boxes", "/etc"):
        assert kp.fails(jj.listdir, p), p
        assert kp.fails(jj.stat, p), p


# ---------------------------------------------------------------- inbox

def test_upload_lands_atomically_and_is_registered(w, jj):
    data = os.urandom(300_000)
    digest = kp.upload(jj, "/inbox/signal-0001.age", data)
    path = os.path.join(w.data.box("GM0363", "inbox"), "signal-0001.age")
    assert os.path.isfile(path)
    assert kp.sha256_file(path) == digest
    assert stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0, "uploads are not group/world readable"
    [row] = rows_named(w, "signal-0001.age")
    assert row["person"] == "j.jansen" and row["municipality"] == "GM0363"
    assert row["size"] == len(data)
    assert row["sha256"] == digest
    assert row["state"]
    assert row["partial_name"] and row["partial_name"] != "signal-0001.age"
    events = [e for e in w.data.audit() if e["sha256"] == digest]
    assert events, "the upload is in the audit log with its hash"
    assert events[-1]["outcome"] == "success" and events[-1]["municipality"] == "GM0363"
    assert events[-1]["size"] == len(data)


def test_relative_upload_after_chdir(w, jj):
    jj.chdir("/inbox")
    digest = kp.upload(jj, "relative.bin", b"relative path upload")
    assert rows_named(w, "relative.bin")[0]["sha256"] == digest


def test_empty_file_upload(w, jj):
    digest = kp.upload(jj, "/inbox/empty.bin", b"")
    [row] = rows_named(w, "empty.bin")
    assert row["size"] == 0 and row["sha256"] == digest


def test_paramiko_put_with_confirm(w, jj, tmp_path):
    src = tmp_path / "put.bin"
    digest = kp.write_random(src, 1_500_000)
    attrs = jj.put(str(src), "/inbox/put.bin", confirm=True)
    assert attrs.st_size == 1_500_000
    assert rows_named(w, "put.bin")[0]["sha256"] == digest


def test_no_read_back_from_inbox(w, jj):
    kp.upload(jj, "/inbox/secret-upload.bin", b"not for reading back")
    assert kp.fails(kp.download, jj, "/inbox/secret-upload.bin")
    assert kp.fails(jj.open, "/inbox/secret-upload.bin", "r+")


def test_no_overwrite_of_existing_name(w, jj):
    original = kp.upload(jj, "/inbox/once.bin", b"first version")
    for mode in ("wb", "ab", "r+", "xb"):
        assert kp.fails(kp.upload, jj, "/inbox/once.bin", b"second version", mode=mode), mode
    path = os.path.join(w.data.box("GM0363", "inbox"), "once.bin")
    assert kp.sha256_file(path) == original
    [row] = rows_named(w, "once.bin")
    assert row["sha256"] == original


def test_no_overwrite_by_another_session(w, jj):
    kp.upload(jj, "/inbox/mine.bin", b"jansen's file")
    with w.connect("d.dubbel@GM0363", w.dubbel) as other:
        assert kp.fails(kp.upload, other, "/inbox/mine.bin", b"dubbel's file")
    [row] = rows_named(w, "mine.bin")
    assert row["person"] == "j.jansen"


def test_no_delete_in_inbox(w, jj):
    kp.upload(jj, "/inbox/keep.bin", b"keep me")
    assert kp.fails(jj.remove, "/inbox/keep.bin")
    assert "keep.bin" in inbox_names(w)


def test_no_rename_of_registered_upload(w, jj):
    kp.upload(jj, "/inbox/fixed.bin", b"fixed name")
    assert kp.fails(jj.rename, "/inbox/fixed.bin", "/inbox/moved.bin")
    assert kp.fails(jj.posix_rename, "/inbox/fixed.bin", "/inbox/moved2.bin")
    assert "fixed.bin" in inbox_names(w)
    assert "moved.bin" not in inbox_names(w) and "moved2.bin" not in inbox_names(w)


def test_no_mkdir_rmdir_symlink(w, jj):
    assert kp.fails(jj.mkdir, "/inbox/sub")
    assert kp.fails(jj.mkdir, "/newarea")
    assert kp.fails(jj.rmdir, "/inbox")
    assert kp.fails(jj.rmdir, "/outbox")
    assert kp.fails(jj.symlink, "/outbox", "/inbox/link")
    assert kp.fails(jj.symlink, "/etc/passwd", "/inbox/passwd")
    assert not any(os.path.islink(os.path.join(w.data.box("GM0363", "inbox"), n)) for n in inbox_names(w))
    assert not os.path.exists(os.path.join(w.data.box("GM0363", "inbox"), "sub"))


def test_no_writes_outside_inbox(w, jj):
    assert kp.fails(kp.upload, jj, "/outbox/planted.bin", b"x")
    assert kp.fails(kp.upload, jj, "/rootfile.bin", b"x")
    assert "planted.bin" not in os.listdir(w.data.box("GM0363", "outbox"))


def test_chmod_cannot_open_up_files(w, jj):
    kp.upload(jj, "/inbox/mode.bin", b"mode")
    plant_outbox(w, "mode-out.txt", b"mode")
    hosts = [os.path.join(w.data.box("GM0363", "inbox"), "mode.bin"),
             os.path.join(w.data.box("GM0363", "outbox"), "mode-out.txt"),
             w.data.box("GM0363", "inbox"), w.data.box("GM0363", "outbox")]
    modes = {h: stat.S_IMODE(os.stat(h).st_mode) for h in hosts}
    assert modes[hosts[0]] & 0o077 == 0, "an upload is owner-only"
    for p in ("/inbox/mode.bin", "/outbox/mode-out.txt", "/inbox", "/outbox", "/"):
        for mode in (0o777, 0o000, 0o4755):
            try:
                jj.chmod(p, mode)
            except kp.REFUSED:
                pass
    for h in hosts:
        assert stat.S_IMODE(os.stat(h).st_mode) == modes[h], f"{h} mode changed by a client chmod"


def test_setstat_cannot_change_size_or_owner(w, jj):
    kp.upload(jj, "/inbox/trunc.bin", b"0123456789")
    try:
        jj.truncate("/inbox/trunc.bin", 2)
    except kp.REFUSED:
        pass
    try:
        jj.chown("/inbox/trunc.bin", 0, 0)
    except kp.REFUSED:
        pass
    assert os.path.getsize(os.path.join(w.data.box("GM0363", "inbox"), "trunc.bin")) == 10
    assert rows_named(w, "trunc.bin")[0]["size"] == 10


@pytest.mark.parametrize("name", [".hidden", "..", ".", "a/b", "con", "x" * 256, "tab\tname", "new\nline"])
def test_hostile_upload_names(w, jj, name):
    before = inbox_names(w)
    try:
        kp.upload(jj, "/inbox/" + name, b"hostile")
    except kp.REFUSED:
        pass
    after = inbox_names(w)
    for n in set(after) - set(before):
        assert "/" not in n and "\n" not in n and "\t" not in n and len(n.encode()) <= 255
        assert rows_named(w, n), f"{n!r} is in the inbox without an uploads row"


# ---------------------------------------------------------------- temporary names

@pytest.mark.parametrize("suffix", [".filepart", ".part", ".tmp"])
@pytest.mark.parametrize("how", ["rename", "posix_rename"])
def test_temp_name_upload_registers_only_after_rename(w, jj, suffix, how):
    final = f"tmpname-{how}{suffix.replace('.', '-')}.pdf"
    temp = final + suffix
    digest = kp.upload(jj, "/inbox/" + temp, os.urandom(70_000))
    assert not rows_named(w, temp), "a temporary name is not an upload"
    assert not rows_named(w, final)
    getattr(jj, how)("/inbox/" + temp, "/inbox/" + final)
    [row] = rows_named(w, final)
    assert row["sha256"] == digest and row["size"] == 70_000
    assert not rows_named(w, temp)
    names = inbox_names(w)
    assert final in names and temp not in names
    assert kp.sha256_file(os.path.join(w.data.box("GM0363", "inbox"), final)) == digest


def test_abandoned_temp_upload_is_never_registered(w):
    c = w.jj()
    kp.upload(c.sftp, "/inbox/abandoned.pdf.filepart", os.urandom(50_000))
    # A second one left open mid-write.
    f = c.sftp.open("/inbox/halfway.pdf.part", "wb")
    f.write(os.urandom(40_000))
    f.flush()
    c.close()
    assert kp.wait_for(lambda: not any(n.startswith(("abandoned", "halfway")) for n in inbox_names(w)), timeout=10), \
        f"abandoned temp uploads visible in the inbox: {inbox_names(w)}"
    for n in ("abandoned.pdf.filepart", "abandoned.pdf", "halfway.pdf.part", "halfway.pdf"):
        assert not rows_named(w, n), n
    with w.jj() as sftp:
        try:
            listed = sftp.listdir("/inbox")
        except kp.REFUSED:
            listed = []
        assert not any(n.startswith(("abandoned", "halfway")) for n in listed), listed


def test_temp_rename_onto_existing_name_fails(w, jj):
    first = kp.upload(jj, "/inbox/taken.pdf", b"first")
    kp.upload(jj, "/inbox/taken.pdf.filepart", b"second")
    assert kp.fails(jj.rename, "/inbox/taken.pdf.filepart", "/inbox/taken.pdf")
    [row] = rows_named(w, "taken.pdf")
    assert row["sha256"] == first
    assert kp.sha256_file(os.path.join(w.data.box("GM0363", "inbox"), "taken.pdf")) == first


def test_temp_rename_out_of_inbox_fails(w, jj):
    kp.upload(jj, "/inbox/escape.pdf.filepart", b"escape")
    assert kp.fails(jj.rename, "/inbox/escape.pdf.filepart", "/outbox/escape.pdf")
    assert kp.fails(jj.rename, "/inbox/escape.pdf.filepart", "/escape.pdf")
    assert "escape.pdf" not in os.listdir(w.data.box("GM0363", "outbox"))


def test_unfinished_upload_is_invisible(w, jj):
    f = jj.open("/inbox/inflight.bin", "wb")
    f.write(os.urandom(100_000))
    f.flush()
    try:
        assert "inflight.bin" not in inbox_names(w), "an unfinished upload is not in the inbox"
        assert not rows_named(w, "inflight.bin")
    finally:
        kp.strict_close(jj, f)
    assert "inflight.bin" in inbox_names(w)
    assert rows_named(w, "inflight.bin")


# ---------------------------------------------------------------- outbox

def test_outbox_list_stat_and_download(w, jj):
    data = os.urandom(123_456)
    plant_outbox(w, "receipt-1.json", data)
    assert "receipt-1.json" in jj.listdir("/outbox")
    attrs = {a.filename: a for a in jj.listdir_attr("/outbox")}
    assert attrs["receipt-1.json"].st_size == len(data)
    assert jj.stat("/outbox/receipt-1.json").st_size == len(data)
    assert kp.download(jj, "/outbox/receipt-1.json") == data
    assert jj.stat("/outbox/receipt-1.json")  # downloading does not remove it


def test_outbox_rm_archives(w, jj):
    data = b"acknowledge me"
    plant_outbox(w, "sip-1.age", data)
    jj.remove("/outbox/sip-1.age")
    assert "sip-1.age" not in os.listdir(w.data.box("GM0363", "outbox"))
    archived = kp.tree(w.data.box("GM0363", "archive"))
    assert data in archived.values(), "an acknowledged file is archived, never destroyed"
    assert "sip-1.age" not in jj.listdir("/outbox")
    assert kp.fails(kp.download, jj, "/outbox/sip-1.age")


def test_outbox_rm_of_missing_file_fails(jj):
    assert kp.fails(jj.remove, "/outbox/never-there.txt")


def test_outbox_rename_and_overwrite_refused(w, jj):
    plant_outbox(w, "fixed-out.txt", b"fixed")
    assert kp.fails(jj.rename, "/outbox/fixed-out.txt", "/outbox/other.txt")
    assert kp.fails(jj.rename, "/outbox/fixed-out.txt", "/inbox/fixed-out.txt")
    assert kp.fails(kp.upload, jj, "/outbox/fixed-out.txt", b"changed")
    with open(os.path.join(w.data.box("GM0363", "outbox"), "fixed-out.txt"), "rb") as f:
        assert f.read() == b"fixed"


def test_other_municipality_outbox_is_not_shown(w, jj):
    plant_outbox(w, "rotterdam-only.txt", b"rotterdam", code="GM0599")
    assert "rotterdam-only.txt" not in jj.listdir("/outbox")
    assert kp.fails(jj.stat, "/outbox/rotterdam-only.txt")


# ---------------------------------------------------------------- client habits and races

def test_winscp_style_upload_with_timestamp(w, jj):
    """WinSCP: upload to NAME.filepart, set the modification time (it
    preserves timestamps by default), rename to NAME."""
    digest = kp.upload(jj, "/inbox/winscp.pdf.filepart", os.urandom(30_000))
    jj.utime("/inbox/winscp.pdf.filepart", (1_700_000_000, 1_700_000_000))
    jj.rename("/inbox/winscp.pdf.filepart", "/inbox/winscp.pdf")
    [row] = rows_named(w, "winscp.pdf")
    assert row["sha256"] == digest


def test_concurrent_uploads_of_one_name_register_once(w):
    a, b = w.jj(), w.connect("d.dubbel@GM0363", w.dubbel)
    try:
        fa = a.sftp.open("/inbox/race.bin", "wb")
        try:
            fb = b.sftp.open("/inbox/race.bin", "wb")
        except kp.REFUSED:
            fb = None  # refusing the second open is the simplest correct answer
        data_a, data_b = os.urandom(50_000), os.urandom(50_000)
        fa.write(data_a)
        results = {}
        try:
            kp.strict_close(a.sftp, fa)
            results["a"] = kp.sha256_bytes(data_a)
        except kp.REFUSED:
            pass
        if fb is not None:
            try:
                fb.write(data_b)
                kp.strict_close(b.sftp, fb)
                results["b"] = kp.sha256_bytes(data_b)
            except kp.REFUSED:
                pass
    finally:
        a.close()
        b.close()
    rows = rows_named(w, "race.bin")
    assert len(rows) == 1, f"exactly one upload named race.bin, got {rows}"
    assert len(results) == 1, f"exactly one client may be told it succeeded: {results}"
    assert rows[0]["sha256"] == list(results.values())[0]
    assert kp.sha256_file(os.path.join(w.data.box("GM0363", "inbox"), "race.bin")) == rows[0]["sha256"]

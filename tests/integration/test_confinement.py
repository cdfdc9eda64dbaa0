"""Cross-tenant confinement: a person logged in for GM0363 reaches nothing of
GM0599 (or of anything else on the host) by any spelling of a path -- dot-dot,
doubled slashes, backslashes, NUL, invalid UTF-8, over-long names -- nor
through symlinks or look-alike directories planted on the host.
"""

import os

import pytest

import kp

SECRET = b"ROTTERDAM-CONFIDENTIAL-" + b"x" * 64


@pytest.fixture(scope="module")
def w(make_world):
    w = make_world()
    d = w.data
    with open(os.path.join(d.box("GM0599", "outbox"), "rotterdam-secret.txt"), "wb") as f:
        f.write(SECRET)
    with open(os.path.join(d.box("GM0599", "inbox"), "rotterdam-upload.bin"), "wb") as f:
        f.write(SECRET)
    # A look-alike box: GM03630 shares GM0363's prefix.
    for sub in ("inbox", "outbox"):
        os.makedirs(os.path.join(d.path, "boxes", "GM03630", sub), mode=0o700)
    with open(os.path.join(d.path, "boxes", "GM03630", "outbox", "twin-secret.txt"), "wb") as f:
        f.write(SECRET)
    # Host-planted symlinks inside GM0363's outbox pointing into GM0599.
    outbox = d.box("GM0363", "outbox")
    os.symlink(os.path.join(d.box("GM0599", "outbox"), "rotterdam-secret.txt"), os.path.join(outbox, "abs-link.txt"))
    os.symlink("../../GM0599/outbox/rotterdam-secret.txt", os.path.join(outbox, "rel-link.txt"))
    os.symlink(d.box("GM0599", "outbox"), os.path.join(outbox, "dir-link"))
    os.symlink("/etc/passwd", os.path.join(outbox, "passwd"))
    with open(os.path.join(outbox, "own.txt"), "wb") as f:
        f.write(b"amsterdam's own file")
    w.serve()
    return w


@pytest.fixture(scope="module")
def s(w):
    sess = kp.Session(w.port, "j.jansen@GM0363", w.jansen)
    yield sess
    sess.close()


@pytest.fixture(autouse=True)
def rotterdam_untouched(w):
    """After every test: GM0599's and the twin's boxes are exactly as planted,
    and nobody registered an upload for GM0599."""
    before_599 = kp.tree(w.data.box("GM0599"))
    before_twin = kp.tree(os.path.join(w.data.path, "boxes", "GM03630"))
    yield
    assert kp.tree(w.data.box("GM0599")) == before_599, "GM0599's box changed"
    assert kp.tree(os.path.join(w.data.path, "boxes", "GM03630")) == before_twin, "GM03630 changed"
    assert not w.data.uploads("GM0599")
    assert not w.data.uploads("GM03630")


READ_SPELLINGS = [
    "/GM0599/outbox/rotterdam-secret.txt",
    "/../GM0599/outbox/rotterdam-secret.txt",
    "/../../GM0599/outbox/rotterdam-secret.txt",
    "//GM0599/outbox/rotterdam-secret.txt",
    "/outbox/../../GM0599/outbox/rotterdam-secret.txt",
    "/outbox/../GM0599/outbox/rotterdam-secret.txt",
    "/inbox/../../GM0599/outbox/rotterdam-secret.txt",
    "/outbox/./../../../boxes/GM0599/outbox/rotterdam-secret.txt",
    "../GM0599/outbox/rotterdam-secret.txt",
    "GM0599/outbox/rotterdam-secret.txt",
    "\\GM0599\\outbox\\rotterdam-secret.txt",
    "/outbox\\..\\..\\GM0599\\outbox\\rotterdam-secret.txt",
    "/outbox/..\\..\\GM0599\\outbox\\rotterdam-secret.txt",
    "/outbox/%2e%2e/%2e%2e/GM0599/outbox/rotterdam-secret.txt",
    "/outbox/rotterdam-secret.txt",
    "/outbox/rotterdam-secret.txt\x00",
    "/outbox/own.txt\x00/../../GM0599/outbox/rotterdam-secret.txt",
    "/GM03630/outbox/twin-secret.txt",
    "/../GM03630/outbox/twin-secret.txt",
    "/outbox/../../GM03630/outbox/twin-secret.txt",
    "/outbox0/twin-secret.txt",
    "/outbox/abs-link.txt",
    "/outbox/rel-link.txt",
    "/outbox/dir-link/rotterdam-secret.txt",
    "/outbox/passwd",
    "/etc/passwd",
    "/../../../../../../etc/passwd",
    "/outbox/" + "../" * 50 + "etc/passwd",
]

DIR_SPELLINGS = [
    "/GM0599", "/GM0599/outbox", "/GM0599/inbox", "/../GM0599/outbox", "//GM0599//outbox",
    "/inbox/../../GM0599/inbox", "\\GM0599\\outbox", "/outbox/dir-link", "/GM03630/outbox",
    "/../GM03630", "/outbox/../../../", "/boxes", "/../boxes/GM0599/outbox", "/outbox/\x00/../../GM0599",
]


@pytest.mark.parametrize("path", READ_SPELLINGS)
def test_cannot_read(s, path):
    assert kp.fails(kp.download, s.sftp, path), f"read {path!r} succeeded"


PLANTED_LINKS = {"/outbox/abs-link.txt", "/outbox/rel-link.txt", "/outbox/passwd"}


@pytest.mark.parametrize("path", READ_SPELLINGS)
def test_cannot_stat_foreign(s, path):
    if path in PLANTED_LINKS:
        # The link's own name is in GM0363's outbox; a stat may describe the
        # link itself, never the file behind it.
        try:
            st = s.sftp.stat(path)
        except kp.REFUSED:
            return
        assert st.st_size not in (len(SECRET), os.path.getsize("/etc/passwd")), f"stat {path!r} followed the link"
        return
    assert kp.fails(s.sftp.stat, path), f"stat {path!r} succeeded"


def test_host_absolute_paths_are_not_host_paths(w, s):
    for p in (w.data.box("GM0599", "outbox") + "/rotterdam-secret.txt",
              "/.." + w.data.box("GM0599", "outbox") + "/rotterdam-secret.txt",
              w.data.db_path, w.data.path + "/keys/ssh_host_ed25519_key"):
        assert kp.fails(kp.download, s.sftp, p), p
        assert kp.fails(s.sftp.stat, p), p


@pytest.mark.parametrize("path", DIR_SPELLINGS)
def test_cannot_list(s, path):
    try:
        names = s.sftp.listdir(path)
    except kp.REFUSED:
        return
    # Only spellings that clamp to the virtual root may list, and then only it.
    assert sorted(names) == ["inbox", "keys", "outbox"], f"listdir {path!r} gave {names}"


@pytest.mark.parametrize("path", [
    "/GM0599/inbox/x.bin", "/../GM0599/inbox/x.bin", "//GM0599/inbox/x.bin", "/inbox/../../GM0599/inbox/x.bin",
    "\\GM0599\\inbox\\x.bin", "/inbox\\..\\..\\GM0599\\inbox\\x.bin", "/inbox/x.bin\x00/../../GM0599/inbox/y",
    "/GM03630/inbox/x.bin", "/inbox/../../GM03630/inbox/x.bin", "/outbox/dir-link/x.bin",
    "/GM0599/outbox/rotterdam-secret.txt", "/outbox/abs-link.txt", "/outbox/rel-link.txt",
])
def test_cannot_write(w, s, path):
    before = os.listdir(w.data.box("GM0363", "inbox"))
    assert kp.fails(kp.upload, s.sftp, path, b"planted by GM0363"), f"write {path!r} succeeded"
    new = set(os.listdir(w.data.box("GM0363", "inbox"))) - set(before)
    assert not new, f"write {path!r} left {new} in GM0363's inbox"


@pytest.mark.parametrize("src,dst", [
    ("/GM0599/outbox/rotterdam-secret.txt", "/inbox/stolen.txt"),
    ("/../GM0599/outbox/rotterdam-secret.txt", "/inbox/stolen.txt"),
    ("/outbox/abs-link.txt", "/inbox/stolen.txt"),
    ("/inbox/x.filepart", "/../GM0599/inbox/x.bin"),
])
def test_cannot_rename_across(w, s, src, dst):
    if src.startswith("/inbox/"):
        kp.upload(s.sftp, src, b"mine")
    assert kp.fails(s.sftp.rename, src, dst)
    assert "stolen.txt" not in os.listdir(w.data.box("GM0363", "inbox"))


@pytest.mark.parametrize("path", ["/GM0599/outbox/rotterdam-secret.txt", "/../GM0599/outbox/rotterdam-secret.txt",
                                  "/outbox/dir-link/rotterdam-secret.txt", "/GM03630/outbox/twin-secret.txt"])
def test_cannot_remove_foreign(s, path):
    assert kp.fails(s.sftp.remove, path)


def test_symlink_rm_does_not_touch_target(w, s):
    try:
        s.sftp.remove("/outbox/rel-link.txt")
    except kp.REFUSED:
        pass
    # The autouse fixture checks GM0599's box is unchanged.
    for name in kp.tree(w.data.box("GM0363", "archive")).values():
        assert name != SECRET, "the archive received GM0599's secret"


def test_symlinks_are_not_listed_as_files_with_foreign_sizes(s):
    for a in s.sftp.listdir_attr("/outbox"):
        if a.filename in ("abs-link.txt", "rel-link.txt", "dir-link", "passwd"):
            assert a.st_size != len(SECRET), f"{a.filename} listed with the target's size"


def test_non_utf8_and_overlong_names(w, s):
    bad_names = [
        b"/outbox/\xff\xfe.txt", b"/outbox/\xc0\xae\xc0\xae/GM0599", b"/inbox/\xc0\xaf..\xc0\xafGM0599",
        b"/outbox/\xed\xa0\x80", b"/inbox/\xe2\x80\xaeevil.txt", b"/" + b"a" * 300,
        b"/inbox/" + b"a" * 256, b"/inbox/" + b"b" * 5000, b"/" + b"/".join([b"x"] * 2000),
    ]
    before = os.listdir(w.data.box("GM0363", "inbox"))
    for p in bad_names:
        assert kp.fails(kp.download, s.sftp, p), p
        assert kp.fails(s.sftp.listdir, p), p
        assert kp.fails(kp.upload, s.sftp, p, b"x"), p
    assert os.listdir(w.data.box("GM0363", "inbox")) == before
    # The session (or a fresh one) still works afterwards.
    assert "own.txt" in s.sftp.listdir("/outbox")


def test_login_for_prefix_twin_is_refused(w):
    assert kp.login_refused(w.port, "j.jansen@GM03630", w.jansen)


def test_person_with_two_mandates_sees_each_box_only_under_its_login(w):
    with w.connect("d.dubbel@GM0363", w.dubbel) as a:
        assert "own.txt" in a.listdir("/outbox")
        assert "rotterdam-secret.txt" not in a.listdir("/outbox")
        assert kp.fails(kp.download, a, "/../GM0599/outbox/rotterdam-secret.txt")
        kp.upload(a, "/inbox/dubbel-363.bin", b"for amsterdam")
    with w.connect("d.dubbel@GM0599", w.dubbel) as b:
        assert "rotterdam-secret.txt" in b.listdir("/outbox")
        assert "own.txt" not in b.listdir("/outbox")
        assert kp.download(b, "/outbox/rotterdam-secret.txt") == SECRET
    assert [u["name"] for u in w.data.uploads("GM0363") if u["person"] == "d.dubbel"] == ["dubbel-363.bin"]
    assert "dubbel-363.bin" in os.listdir(w.data.box("GM0363", "inbox"))

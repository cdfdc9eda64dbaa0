"""The whole eHerkenning flow up to an accepted package (issue 14's "done
when"): a person the operator never registered logs in through the test
broker (eh_broker.py, python3-pysaml2) at EH3, is activated, registers the
minisign public key they sign manifests with on the web page, gets an
OpenSSH user certificate for the municipality, and delivers a package sealed
with `knooppunt seal` over OpenSSH `sftp` with that certificate; intake
accepts it (a signed receipt in the outbox), and every step is in the
transfer log. Negative: a malformed key is refused with its reason and an
audit record; a package signed with another key is rejected.
"""

import json
import os

import eh_broker
import kp
from test_eherkenning import (KVK_A, csrf_of, env, get_certificate, reason_of, request,  # noqa: F401
                              sftp_put, ssh_key, cert_text, web_login)

MUNI = "GM0003"


def minisign_pair(tmp_path, name):
    pub, sec = os.path.join(str(tmp_path), name + ".pub"), os.path.join(str(tmp_path), name + ".key")
    r = kp.run(["minisign", "-G", "-W", "-p", pub, "-s", sec])
    assert r.returncode == 0, r.stderr
    return pub, sec


def register_sign_key(env, cookie, body, text):
    return request(env[1].http_port, "POST", "/eherkenning/sign-key", cookie=cookie,
                   form={"csrf": csrf_of(body), "sign_key": text})


def seal(data, tmp_path, person, sign_sec, name):
    recipient = json.loads(kp.kp_ok("keys", "show", "--json", data=data.path).stdout)["intake_recipient"]
    m = os.path.join(str(tmp_path), name + ".json")
    kp.kp_ok("manifest", "init", "--municipality", MUNI, "--submitted-by", person, "-o", m)
    doc = os.path.join(str(tmp_path), "rapport.pdf")
    with open(doc, "wb") as f:
        f.write(b"%PDF-1.4\n% " + name.encode() + os.urandom(16).hex().encode() + b"\n")
    out = os.path.join(str(tmp_path), name)
    kp.kp_ok("seal", "--to", recipient, "--sign-key", sign_sec, "--manifest", m, doc, "-o", out)
    return out


def verdict(data, server, name):
    def settled():
        rows = data.sql("SELECT * FROM uploads WHERE municipality = ? AND name = ?", (MUNI, name))
        if rows and rows[0]["state"] in ("accepted", "rejected") and \
                os.path.exists(os.path.join(data.box(MUNI, "outbox"), name + ".receipt.json")):
            return rows[0]
        return None
    assert kp.wait_for(settled, timeout=30), \
        [dict(r) for r in data.sql("SELECT * FROM uploads WHERE name = ?", (name,))] + [server.log_text()[-4000:]]
    return settled()


def test_person_never_registered_delivers_an_accepted_package(env, tmp_path):
    data, server, broker, _ = env
    pseudonym = "pseudo-delivery"
    assert not data.sql("SELECT 1 FROM accounts WHERE pseudonym = ?", (pseudonym,))
    since = data.last_audit_id()
    cookie, body = web_login(env, eh_broker.Person(pseudonym, KVK_A))
    assert "activated" in body and "No signing key is registered" in body
    person = data.sql("SELECT id FROM accounts WHERE pseudonym = ?", (pseudonym,))[0]["id"]

    # A malformed key: refused with its reason, audited, nothing stored.
    status, page, _ = register_sign_key(env, cookie, body, "untrusted comment: x\nnot a key")
    assert status == 403 and reason_of(page) == "sign-key-malformed", page
    assert "minisign public key" in page
    refused = data.audit(event="eherkenning.sign_key", outcome="refused", actor=person, since_id=since)
    assert [r["reason"] for r in refused] == ["sign-key-malformed"]
    assert data.sql("SELECT sign_key FROM accounts WHERE id = ?", (person,))[0]["sign_key"] is None

    # The person's minisign key, pasted as the browser sends it (CRLF).
    pub, sec = minisign_pair(tmp_path, "anna")
    status, page, _ = register_sign_key(env, cookie, body, open(pub).read().replace("\n", "\r\n"))
    assert status == 200, page
    key_line = open(pub).read().splitlines()[1]
    stored = data.sql("SELECT sign_key FROM accounts WHERE id = ?", (person,))[0]["sign_key"]
    assert stored.splitlines()[1] == key_line
    key_id = stored.splitlines()[0].split()[-1]
    assert f'id="sign-key-id">{key_id}<' in page
    rec = data.audit(event="eherkenning.sign_key", outcome="success", actor=person, since_id=since)
    assert len(rec) == 1 and rec[0]["object"] == "minisign key " + key_id and rec[0]["channel"] == "http"
    status, home, _ = request(server.http_port, "GET", "/eherkenning/home", cookie=cookie)
    assert f'id="sign-key-id">{key_id}<' in home

    # The hub's side: a staff member to whom intake rewraps accepted packages.
    if not data.sql("SELECT 1 FROM accounts WHERE role = 'staff'"):
        data.staff(kp.Identity(os.path.join(str(tmp_path), "staff"), "s.staff"))

    # Certificate, then a package sealed with `knooppunt seal`, over OpenSSH sftp.
    key = ssh_key(tmp_path, "delivery")
    status, page, _ = get_certificate(env, cookie, body, MUNI, key + ".pub")
    assert status == 200, page
    cert = os.path.join(str(tmp_path), "delivery-cert.pub")
    with open(cert, "w") as f:
        f.write(cert_text(page))
    package = seal(data, tmp_path, person, sec, "eh-signal.age")
    r = sftp_put(server, key, cert, f"{person}@{MUNI}", package, "/inbox/eh-signal.age", str(tmp_path))
    assert r.returncode == 0, r.stderr + server.log_text()[-3000:]
    row = verdict(data, server, "eh-signal.age")
    assert row["state"] == "accepted" and row["person"] == person, dict(row)
    assert os.path.exists(os.path.join(data.box(MUNI, "outbox"), "eh-signal.age.receipt.json.minisig"))

    # Every step in the transfer log, in order, for this person.
    steps = [(r["event"], r["outcome"]) for r in data.audit(actor=person, since_id=since)]
    for step in [("eherkenning.login", "success"), ("eherkenning.sign_key", "success"),
                 ("eherkenning.certificate", "success"), ("auth.login", "success")]:
        assert step in steps, (step, steps)
    assert steps.index(("eherkenning.login", "success")) < steps.index(("eherkenning.sign_key", "success")) < \
        steps.index(("eherkenning.certificate", "success")) < steps.index(("auth.login", "success"))
    upload_events = {r["event"] for r in data.audit(since_id=since) if r["object"] and "eh-signal.age" in r["object"]}
    assert upload_events, data.audit(since_id=since)

    # A package signed with another key than the registered one is rejected.
    _, other_sec = minisign_pair(tmp_path, "other")
    package = seal(data, tmp_path, person, other_sec, "eh-forged.age")
    r = sftp_put(server, key, cert, f"{person}@{MUNI}", package, "/inbox/eh-forged.age", str(tmp_path))
    assert r.returncode == 0, r.stderr
    row = verdict(data, server, "eh-forged.age")
    assert row["state"] == "rejected" and row["reason_code"] == "manifest-signature-invalid", dict(row)


def sftp_plain(server, key, user, local, remote, cwd):
    argv = ["sftp", "-P", str(server.port), "-i", key, "-o", f"User={user}"] + kp.SSH_OPTS + ["-b", "-", "127.0.0.1"]
    return kp.run(argv, input=f"put {local} {remote}\n", timeout=120, cwd=cwd)


def test_municipal_system_key_lives_and_dies_with_the_mandate(env, tmp_path):
    data, server, broker, _ = env
    pseudonym = "pseudo-system"
    cookie, body = web_login(env, eh_broker.Person(pseudonym, KVK_A))
    person = data.sql("SELECT id FROM accounts WHERE pseudonym = ?", (pseudonym,))[0]["id"]
    key = ssh_key(tmp_path, "system")
    since = data.last_audit_id()

    def register(municipality, text):
        return request(server.http_port, "POST", "/eherkenning/system-key", cookie=cookie,
                       form={"csrf": csrf_of(body), "municipality": municipality, "public_key": text})

    # Only for a municipality the person holds a live mandate for; only ed25519.
    status, page, _ = register("GM0002", open(key + ".pub").read())
    assert status == 403 and reason_of(page) == "mandate-missing", page
    status, page, _ = register(MUNI, "ssh-rsa AAAA x")
    assert status == 403 and reason_of(page) == "key-type-unsupported", page
    status, page, _ = register(MUNI, open(key + ".pub").read())
    assert status == 200 and f'id="principal">{person}@{MUNI}<' in page, page
    status, page, _ = register(MUNI, open(key + ".pub").read())
    assert status == 403 and reason_of(page) == "already-exists", page
    recs = [(r["outcome"], r["reason"]) for r in data.audit(event="eherkenning.system_key", since_id=since)]
    assert recs == [("refused", "mandate-missing"), ("refused", "key-type-unsupported"), ("success", None),
                    ("refused", "already-exists")], recs

    local = os.path.join(str(tmp_path), "system.bin")
    with open(local, "wb") as f:
        f.write(os.urandom(512))

    def upload(name, user=f"{person}@{MUNI}"):
        mark = data.last_audit_id()
        r = sftp_plain(server, key, user, local, "/inbox/" + name, str(tmp_path))
        reasons = [x["reason"] for x in data.audit(event="auth.login", outcome="refused", since_id=mark)]
        return r.returncode, reasons

    # A plain key (no certificate): logs in for its municipality only.
    rc, _ = upload("system-1.bin")
    assert rc == 0 and any(u["name"] == "system-1.bin" for u in data.uploads(MUNI))
    rc, reasons = upload("never.bin", user=f"{person}@GM0002")
    assert rc != 0 and "key-not-registered" in reasons, reasons
    rc, reasons = upload("never.bin", user=person)
    assert rc != 0 and "key-not-registered" in reasons, reasons

    # Expired with the mandate (no fresh login for the period) ...
    [mandate] = data.sql("SELECT id, valid_until_ms FROM mandates WHERE person = ? AND municipality = ?",
                         (person, MUNI))
    data.sql("UPDATE mandates SET valid_until_ms = valid_from_ms + 1 WHERE id = ?", (mandate["id"],))
    rc, reasons = upload("never.bin")
    assert rc != 0 and "mandate-expired" in reasons, reasons
    data.sql("UPDATE mandates SET valid_until_ms = ? WHERE id = ?", (mandate["valid_until_ms"], mandate["id"]))
    rc, _ = upload("system-2.bin")
    assert rc == 0
    # ... and ended by `mandate revoke`; a mandate granted again does not revive it.
    data.revoke(person, MUNI)
    rc, reasons = upload("never.bin")
    assert rc != 0 and "mandate-revoked" in reasons, reasons
    data.grant(person, MUNI)
    rc, reasons = upload("never.bin")
    assert rc != 0 and "key-mandate-ended" in reasons, reasons
    assert not [u for u in data.uploads(MUNI) if u["name"] == "never.bin"]


def test_municipal_system_keys_are_listed_and_removed_by_their_owner_only(env, tmp_path):
    import html as htmllib
    import re

    data, server, broker, _ = env
    cookie_a, body_a = web_login(env, eh_broker.Person("pseudo-keys-a", KVK_A))
    cookie_b, body_b = web_login(env, eh_broker.Person("pseudo-keys-b", KVK_A))
    person_a = data.sql("SELECT id FROM accounts WHERE pseudonym = 'pseudo-keys-a'")[0]["id"]

    def register(cookie, body, name):
        key = ssh_key(tmp_path, name)
        status, page, _ = request(server.http_port, "POST", "/eherkenning/system-key", cookie=cookie,
                                  form={"csrf": csrf_of(body), "municipality": MUNI,
                                        "public_key": open(key + ".pub").read()})
        assert status == 200, page
        return key, re.search(r'id="system-key">([^<]+)<', page).group(1)

    key_a1, fp_a1 = register(cookie_a, body_a, "keys-a1")
    _, fp_a2 = register(cookie_a, body_a, "keys-a2")
    _, fp_b = register(cookie_b, body_b, "keys-b")
    # The page lists the person's own keys, never another person's.
    status, home, _ = request(server.http_port, "GET", "/eherkenning/home", cookie=cookie_a)
    listed = [htmllib.unescape(x) for x in re.findall(r'<code class="system-key">([^<]+)</code>', home)]
    assert status == 200 and sorted(listed) == sorted([fp_a1, fp_a2]), home

    def remove(cookie, body, fingerprint, municipality=MUNI, csrf=None):
        return request(server.http_port, "POST", "/eherkenning/system-key/remove", cookie=cookie,
                       form={"csrf": csrf if csrf is not None else csrf_of(body), "municipality": municipality,
                             "fingerprint": fingerprint})

    since = data.last_audit_id()
    # Another person's key, a key that is not registered, another municipality: refused alike.
    for fingerprint, municipality in [(fp_b, MUNI), ("SHA256:" + "A" * 43, MUNI), (fp_a1, "GM0002")]:
        status, page, _ = remove(cookie_a, body_a, fingerprint, municipality)
        assert status == 403 and reason_of(page) == "system-key-unknown", page
    # No session, a wrong CSRF token: refused before the monitor is asked.
    status, page, _ = remove(None, body_a, fp_a1, csrf="00")
    assert reason_of(page) == "session-missing"
    status, page, _ = remove(cookie_a, body_a, fp_a1, csrf="00")
    assert reason_of(page) == "csrf-invalid"
    assert len(data.sql("SELECT 1 FROM municipal_keys")) >= 3
    # The owner removes one: gone from the page and the store, audited; an SFTP session it opened
    # before ends at its next operation, and it logs in no more.
    import paramiko
    conn = kp.connect(server.port, f"{person_a}@{MUNI}", paramiko.Ed25519Key.from_private_key_file(key_a1))
    try:
        kp.upload(conn.sftp, "/inbox/before-removal.bin", b"before")
        status, page, _ = remove(cookie_a, body_a, fp_a1)
        mark = data.last_audit_id()
        assert kp.fails(kp.upload, conn.sftp, "/inbox/after-removal.bin", b"after")
        assert "system-key-removed" in [e["reason"] for e in data.audit(since_id=mark) if e["outcome"] == "refused"]
    finally:
        conn.close()
    assert status == 200 and f'id="system-key">{fp_a1}<' in page, page
    assert fp_a2 in page and fp_a1 not in page.split('id="system-keys"')[1]
    rows = data.sql("SELECT fingerprint FROM municipal_keys WHERE account = ?", (person_a,))
    assert [r["fingerprint"] for r in rows] == [fp_a2]
    assert data.sql("SELECT 1 FROM municipal_keys WHERE fingerprint = ?", (fp_b,))
    recs = [(r["outcome"], r["reason"], r["actor"]) for r in
            data.audit(event="eherkenning.system_key_removed", since_id=since)]
    assert recs == [("refused", "system-key-unknown", person_a)] * 3 + [("success", None, person_a)], recs
    assert [u["name"] for u in data.uploads(MUNI) if "removal" in u["name"]] == ["before-removal.bin"]
    [done] = data.audit(event="eherkenning.system_key_removed", outcome="success", since_id=since)
    assert fp_a1 in done["object"] and done["municipality"] == MUNI
    status, page, _ = remove(cookie_a, body_a, fp_a1)
    assert status == 403 and reason_of(page) == "system-key-unknown"
    local = os.path.join(str(tmp_path), "removed.bin")
    with open(local, "wb") as f:
        f.write(b"x" * 64)
    mark = data.last_audit_id()
    r = sftp_plain(server, key_a1, f"{person_a}@{MUNI}", local, "/inbox/removed.bin", str(tmp_path))
    assert r.returncode != 0
    assert "key-not-registered" in [x["reason"] for x in data.audit(event="auth.login", outcome="refused",
                                                                    since_id=mark)]

"""eHerkenning login on the HTTP endpoint (gateway/saml_sp, eherkenning_web,
eherkenning_monitor) against a real SAML identity provider acting as the
broker (eh_broker.py: python3-pysaml2 on loopback, its own keys).

- `init` makes the SP key pair; `eherkenning metadata` prints our metadata,
  which the broker loads (and checks our AuthnRequest against);
- a first login at loa3 for a municipality's KvK number creates the person
  (keyed by the pseudonym) and an eHerkenning mandate (granted_by, assertion
  id, activation, one-year validity) and is audited; a later login refreshes
  the same mandate; an RSIN login and a chain-mandate login work too;
- every refusal has its own reason code, a page that names it, and an
  `eherkenning.login` record refused with it: loa2, a response signed by
  another key, an altered assertion, a replay, a wrong audience, an expired
  assertion, an unknown organisation.
"""

import functools
import http.client
import os
import re
import stat
import urllib.parse
import urllib.request

import pytest

import eh_broker
import kp

ENTITY = "https://knooppunt.test/saml"
KVK_A, RSIN_B, KVK_CHAIN, KVK_OTHER = "12345678", "002564440", "87654321", "11112222"


def enable_eherkenning(data, server, base):
    """Configures eHerkenning for `server` (not started yet) and starts a
    test broker that knows our metadata; returns (broker, our metadata)."""
    data.set("eherkenning_entity_id", ENTITY)
    data.set("eherkenning_base_url", f"http://127.0.0.1:{server.http_port}")
    data.set("eherkenning_service_id", "urn:etoegang:DV:00000001234567890000:services:1")
    data.set("eherkenning_service_uuid", "2f9c5a8e-0c2f-4b59-9d1e-6a4e1b0c7d11")
    sp_md = os.path.join(str(base), "sp-metadata.xml")
    r = kp.kp("eherkenning", "metadata", data=data.path)
    assert r.returncode == 0, r.stderr
    with open(sp_md, "w") as f:
        f.write(r.stdout)
    broker = eh_broker.Broker(os.path.join(str(base), "broker"), sp_md)
    data.set("eherkenning_broker_metadata", broker.metadata_path)
    return broker, r.stdout


@pytest.fixture(scope="module")
def env(tmp_path_factory, template):
    base = tmp_path_factory.mktemp("eherkenning")
    data = kp.DataDir(base / "data", template=template)
    data.municipality("GM0001", name="Aadorp")
    data.municipality("GM0002", name="Beekdal")
    kp.kp_ok("municipality", "add", "GM0003", "--name", "Cedam", "--kvk", KVK_A, data=data.path)
    data.sql("UPDATE municipalities SET rsin = ? WHERE code = 'GM0002'", (RSIN_B,))
    server = kp.Server(data, http=True)
    broker, metadata = enable_eherkenning(data, server, base)
    server.start()
    yield data, server, broker, metadata
    server.stop()
    broker.close()


def post_acs(port, saml_response, login_cookie=None):
    """POSTs a Response to our ACS, as the browser would (with the login
    cookie /eherkenning/login set, when given)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if login_cookie:
        headers["Cookie"] = "kp_eh_login=" + login_cookie
    conn.request("POST", "/eherkenning/acs", body=urllib.parse.urlencode({"SAMLResponse": saml_response}),
                 headers=headers)
    r = conn.getresponse()
    body = r.read().decode()
    conn.close()
    return r.status, body


def start_login(env):
    """GET /eherkenning/login: the broker's URL with our AuthnRequest, and
    the login cookie that binds the answer to this 'browser'."""
    data, server, broker, _ = env
    conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=60)
    conn.request("GET", "/eherkenning/login")
    r = conn.getresponse()
    r.read()
    assert r.status == 303, r.status
    location = r.getheader("Location")
    assert location.startswith(broker.base + "/sso?SAMLRequest="), location
    m = re.match(r"kp_eh_login=([0-9a-f]{64}); Path=/eherkenning/acs;", r.getheader("Set-Cookie") or "")
    assert m, r.getheader("Set-Cookie")
    conn.close()
    return location, m.group(1)


def broker_answer(env, location, person, variant=None):
    """The broker's Response (base64) to the AuthnRequest in `location`."""
    broker = env[2]
    broker.next, broker.variant = person, variant
    page = urllib.request.urlopen(location, timeout=60).read().decode()
    return re.search(r'name="SAMLResponse" value="([^"]+)"', page).group(1)


def login(env, person, variant=None):
    """The redirect flow without a browser: our /eherkenning/login -> the
    broker's /sso (which builds the signed Response) -> POST to our ACS."""
    location, cookie = start_login(env)
    return post_acs(env[1].http_port, broker_answer(env, location, person, variant), cookie)


def reason_of(body):
    m = re.search(r'<code id="reason">([^<]+)</code>', body)
    return m.group(1) if m else None


def test_init_makes_the_sp_key_and_metadata_names_us(env):
    data, server, broker, metadata = env
    key = os.path.join(data.path, "keys", "saml-sp.key")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert os.path.exists(os.path.join(data.path, "public", "saml-sp.crt"))
    assert f'entityID="{ENTITY}"' in metadata
    assert f'Location="http://127.0.0.1:{server.http_port}/eherkenning/acs"' in metadata
    assert "<ds:X509Certificate>" in metadata and "2f9c5a8e-0c2f-4b59-9d1e-6a4e1b0c7d11" in metadata
    # The private key never appears in what we hand out.
    assert "PRIVATE" not in metadata


def test_authn_request_asks_for_loa3_by_post(env):
    data, server, broker, _ = env
    status, body = login(env, eh_broker.Person("pseudo-req", KVK_A))
    assert status == 200, body
    req = broker.requests[-1]
    assert req.protocol_binding == eh_broker.BINDING_HTTP_POST
    refs = [c.text for c in req.requested_authn_context.authn_context_class_ref]
    assert refs == ["urn:etoegang:core:assurance-class:loa3"]
    assert req.requested_authn_context.comparison == "minimum"


def test_first_login_creates_person_and_mandate_later_logins_refresh_it(env):
    data, server, broker, _ = env
    since = data.last_audit_id()
    status, body = login(env, eh_broker.Person("pseudo-anna", KVK_A))
    assert status == 200, body
    assert "activated" in body and 'id="municipality">GM0003<' in body
    person = data.sql("SELECT * FROM accounts WHERE pseudonym = 'pseudo-anna'")
    assert len(person) == 1 and person[0]["role"] == "person" and person[0]["id"].startswith("eh-")
    pid = person[0]["id"]
    m = data.sql("SELECT * FROM mandates WHERE person = ?", (pid,))
    assert len(m) == 1 and m[0]["municipality"] == "GM0003" and m[0]["granted_by"] == "eherkenning"
    assert m[0]["level"] == "EH3" and m[0]["activated_ms"] and m[0]["assertion_id"].startswith("_a")
    year = m[0]["valid_until_ms"] - m[0]["granted_ms"]
    assert abs(year - 365 * 86400 * 1000) < 5000
    rec = data.audit(event="eherkenning.login", outcome="success", actor=pid, since_id=since)
    assert len(rec) == 1 and m[0]["assertion_id"] in rec[0]["object"] and "granted" in rec[0]["object"]
    assert rec[0]["municipality"] == "GM0003"

    status, body = login(env, eh_broker.Person("pseudo-anna", KVK_A, level="loa4"))
    assert status == 200 and "Welcome back" in body
    m2 = data.sql("SELECT * FROM mandates WHERE person = ?", (pid,))
    assert len(m2) == 1 and m2[0]["id"] == m[0]["id"] and m2[0]["level"] == "EH4"
    assert m2[0]["last_seen_ms"] >= m[0]["last_seen_ms"]
    assert "refreshed" in data.audit(event="eherkenning.login", actor=pid, since_id=since)[-1]["object"]


def test_rsin_and_chain_mandate_logins(env):
    data, server, broker, _ = env
    status, body = login(env, eh_broker.Person("pseudo-bram", RSIN_B, qualifier=eh_broker.RSIN_Q))
    assert status == 200 and 'id="municipality">GM0002<' in body, body
    status, body = login(env, eh_broker.Person("pseudo-gr", KVK_A, intermediary=KVK_CHAIN))
    assert status == 200, body
    m = data.sql("SELECT m.* FROM mandates m JOIN accounts a ON a.id = m.person WHERE a.pseudonym = 'pseudo-gr'")
    assert m[0]["intermediary"] == KVK_CHAIN
    assert "chain mandate via KvK " + KVK_CHAIN in data.audit(event="eherkenning.login", actor=m[0]["person"])[-1]["object"]


@pytest.mark.parametrize("case,person,variant,reason", [
    ("loa2", eh_broker.Person("pseudo-x", KVK_A, level="loa2"), None, "eh-level-too-low"),
    ("other-key", eh_broker.Person("pseudo-x", KVK_A), "other-key", "eh-signature-key-unknown"),
    ("altered", eh_broker.Person("pseudo-x", KVK_A), "altered", "eh-signature-invalid"),
    ("wrong-audience", eh_broker.Person("pseudo-x", KVK_A), "wrong-audience", "eh-audience-wrong"),
    ("expired", eh_broker.Person("pseudo-x", KVK_A), "expired", "eh-expired"),
    ("unknown-organisation", eh_broker.Person("pseudo-x", KVK_OTHER), None, "eh-organisation-unknown"),
])
def test_refusals_name_their_reason_and_are_audited(env, case, person, variant, reason):
    data, server, broker, _ = env
    since = data.last_audit_id()
    status, body = login(env, person, variant)
    assert status == 403, (case, status, body)
    assert reason_of(body) == reason, (case, body)
    assert 'id="message"' in body
    rec = data.audit(event="eherkenning.login", since_id=since)
    assert [(r["outcome"], r["reason"]) for r in rec] == [("refused", reason)], rec
    assert rec[0]["source"] == "127.0.0.1" and rec[0]["channel"] == "http"
    assert not data.sql("SELECT 1 FROM accounts WHERE pseudonym = 'pseudo-x'")


def test_replayed_assertion_is_refused(env):
    data, server, broker, _ = env
    status, _ = login(env, eh_broker.Person("pseudo-replay", KVK_A))
    assert status == 200
    since = data.last_audit_id()
    status, body = post_acs(server.http_port, broker.last_response)
    assert status == 403 and reason_of(body) == "eh-replayed", body
    rec = data.audit(event="eherkenning.login", since_id=since)
    assert [(r["outcome"], r["reason"]) for r in rec] == [("refused", "eh-replayed")]


def test_missing_or_garbage_response_is_refused(env):
    data, server, broker, _ = env
    status, body = post_acs(server.http_port, "")
    assert status == 400 and reason_of(body) == "eh-response-missing"
    status, body = post_acs(server.http_port, "bm90IHhtbA==")
    assert status == 403 and reason_of(body) == "eh-response-invalid", body


def test_municipality_add_checks_kvk_and_rsin(env):
    data = env[0]
    r = kp.kp("municipality", "add", "GM0009", "--name", "X", "--kvk", "123", data=data.path)
    assert r.returncode == 1 and "kvk-invalid" in r.stderr
    r = kp.kp("municipality", "add", "GM0009", "--name", "X", "--rsin", "123456789", data=data.path)
    assert r.returncode == 1 and "rsin-invalid" in r.stderr
    r = kp.kp("municipality", "add", "GM0009", "--name", "X", "--kvk", KVK_A, data=data.path)
    assert r.returncode == 1 and "already-exists" in r.stderr
    assert not data.sql("SELECT 1 FROM municipalities WHERE code = 'GM0009'")


# ---------------------------------------------------------------- from web login to SFTP

def request(port, method, path, form=None, cookie=None, login_cookie=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {}
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if cookie:
        headers["Cookie"] = "kp_eh=" + cookie
    if login_cookie:
        headers["Cookie"] = "kp_eh_login=" + login_cookie
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    text = r.read().decode()
    set_cookie = r.getheader("Set-Cookie") or ""
    conn.close()
    return r.status, text, set_cookie


def web_login(env, person):
    """Like login(), but keeps the session cookie the ACS sets."""
    data, server, broker, _ = env
    location, login_cookie = start_login(env)
    saml = broker_answer(env, location, person)
    status, body, set_cookie = request(server.http_port, "POST", "/eherkenning/acs", form={"SAMLResponse": saml},
                                       login_cookie=login_cookie)
    assert status == 200, body
    m = re.match(r"kp_eh=([0-9a-f]+);", set_cookie)
    assert m and "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie, set_cookie
    return m.group(1), body


def csrf_of(body):
    return re.search(r'name="csrf" value="([0-9a-f]+)"', body).group(1)


def ssh_key(tmp_path, name):
    path = os.path.join(str(tmp_path), name)
    r = kp.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path])
    assert r.returncode == 0, r.stderr
    return path


def get_certificate(env, cookie, body, municipality, pub_path):
    data, server, broker, _ = env
    return request(server.http_port, "POST", "/eherkenning/certificate", cookie=cookie,
                   form={"csrf": csrf_of(body), "municipality": municipality,
                         "public_key": open(pub_path).read()})


def cert_text(body):
    import html as htmllib
    return htmllib.unescape(re.search(r'<pre id="certificate">([^<]+)</pre>', body).group(1))


def sftp_put(server, key, cert, user, local, remote, cwd):
    argv = ["sftp", "-P", str(server.port), "-i", key, "-o", f"CertificateFile={cert}", "-o", f"User={user}"] + \
        kp.SSH_OPTS + ["-b", "-", "127.0.0.1"]
    return kp.run(argv, input=f"put {local} {remote}\n", timeout=120, cwd=cwd)


def forge_cert(ca_secret, pub_path, principal, after, before, critical=b""):
    """An OpenSSH user certificate built and signed here (python3-nacl), for
    the refusals our CA would never issue (expired) and for another CA."""
    import base64
    import struct

    import nacl.signing

    def s(b):
        return struct.pack(">I", len(b)) + b

    user_blob = base64.b64decode(open(pub_path).read().split()[1])
    user_pk = user_blob[-32:]
    body = (s(b"ssh-ed25519-cert-v01@openssh.com") + s(os.urandom(32)) + s(user_pk) + struct.pack(">QI", 1, 1) +
            s(b"forged") + s(s(principal.encode())) + struct.pack(">QQ", after, before) + s(critical) + s(b"") +
            s(b""))
    signer = nacl.signing.SigningKey(ca_secret[:32])
    body += s(s(b"ssh-ed25519") + s(bytes(signer.verify_key)))
    body += s(s(b"ssh-ed25519") + s(signer.sign(body).signature))
    return "ssh-ed25519-cert-v01@openssh.com " + base64.b64encode(body).decode() + " forged\n"


def test_certificate_flow_upload_and_refusals(env, tmp_path):
    import base64
    import time

    data, server, broker, _ = env
    pseudonym = "pseudo-cert"
    # Two municipalities: one login each (the broker asserts one organisation per login).
    web_login(env, eh_broker.Person(pseudonym, RSIN_B, qualifier=eh_broker.RSIN_Q))
    cookie, body = web_login(env, eh_broker.Person(pseudonym, KVK_A))
    person = data.sql("SELECT id FROM accounts WHERE pseudonym = ?", (pseudonym,))[0]["id"]
    assert '<option value="GM0002">' in body and '<option value="GM0003">' in body
    key = ssh_key(tmp_path, "eh")
    since = data.last_audit_id()
    status, page, _ = get_certificate(env, cookie, body, "GM0003", key + ".pub")
    assert status == 200, page
    cert = os.path.join(str(tmp_path), "eh-cert.pub")
    with open(cert, "w") as f:
        f.write(cert_text(page))
    shown = kp.run(["ssh-keygen", "-L", "-f", cert]).stdout
    assert f"{person}@GM0003" in shown and "Type: ssh-ed25519-cert-v01@openssh.com user certificate" in shown
    issued = data.audit(event="eherkenning.certificate", outcome="success", actor=person, since_id=since)
    assert len(issued) == 1 and issued[0]["municipality"] == "GM0003"

    # OpenSSH sftp with the certificate: the upload lands and is registered.
    local = os.path.join(str(tmp_path), "signal.bin")
    with open(local, "wb") as f:
        f.write(os.urandom(2048))
    r = sftp_put(server, key, cert, f"{person}@GM0003", local, "/inbox/eh-signal.bin", str(tmp_path))
    assert r.returncode == 0, r.stderr + server.log_text()[-3000:]
    rows = data.uploads("GM0003")
    assert any(u["name"] == "eh-signal.bin" and u["person"] == person for u in rows)
    assert data.audit(event="auth.login", outcome="success", actor=person)

    def refused_with(cert_path, user, reason):
        since = data.last_audit_id()
        r = sftp_put(server, key, cert_path, user, local, "/inbox/never.bin", str(tmp_path))
        assert r.returncode != 0
        recs = data.audit(event="auth.login", outcome="refused", since_id=since)
        assert reason in [x["reason"] for x in recs], (reason, recs)

    # The same certificate for the other municipality's principal: refused.
    refused_with(cert, f"{person}@GM0002", "cert-principal-wrong")
    # Another CA; an expired certificate from our own CA.
    ca_secret = base64.b64decode(open(os.path.join(data.path, "keys", "user-ca.key")).read().strip())
    now = int(time.time())
    other = os.path.join(str(tmp_path), "other-cert.pub")
    with open(other, "w") as f:
        f.write(forge_cert(os.urandom(32) + bytes(32), key + ".pub", f"{person}@GM0003", now - 60, now + 3600))
    refused_with(other, f"{person}@GM0003", "cert-ca-unknown")
    expired = os.path.join(str(tmp_path), "expired-cert.pub")
    with open(expired, "w") as f:
        f.write(forge_cert(ca_secret, key + ".pub", f"{person}@GM0003", now - 7200, now - 3600))
    refused_with(expired, f"{person}@GM0003", "cert-expired")
    # After `mandate revoke` the valid certificate no longer logs in, and no new one is issued.
    data.revoke(person, "GM0003")
    refused_with(cert, f"{person}@GM0003", "mandate-revoked")
    status, page, _ = get_certificate(env, cookie, body, "GM0003", key + ".pub")
    assert status == 403 and reason_of(page) == "mandate-revoked", page
    # Garbage keys and RSA keys get a clear refusal.
    status, page, _ = request(server.http_port, "POST", "/eherkenning/certificate", cookie=cookie,
                              form={"csrf": csrf_of(body), "municipality": "GM0002", "public_key": "ssh-rsa AAAA x"})
    assert status == 403 and reason_of(page) == "key-type-unsupported"
    # No session, or a wrong CSRF token: refused before the monitor is asked.
    status, page, _ = request(server.http_port, "POST", "/eherkenning/certificate",
                              form={"csrf": "00", "municipality": "GM0002", "public_key": open(key + ".pub").read()})
    assert reason_of(page) == "session-missing"
    status, page, _ = request(server.http_port, "POST", "/eherkenning/certificate", cookie=cookie,
                              form={"csrf": "00", "municipality": "GM0002", "public_key": open(key + ".pub").read()})
    assert reason_of(page) == "csrf-invalid"


# ---------------------------------------------------------------- headless Chromium, screenshots for the README

import headless  # noqa: E402
from test_auditor_web import browser  # noqa: E402,F401  (the shared headless Chromium fixture)


def test_browser_flow_with_screenshots(env, browser, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    data, server, broker, _ = env
    browser.set_window_size(1000, 700)
    shot = functools.partial(headless.save_screenshot, browser)
    wait_for = functools.partial(headless.wait_for_id, browser)

    base = f"http://127.0.0.1:{server.http_port}"
    pseudonym = "pseudo-browser"
    # A second municipality first (its own login), so the page offers a choice.
    web_login(env, eh_broker.Person(pseudonym, RSIN_B, qualifier=eh_broker.RSIN_Q))
    broker.next, broker.variant, broker.auto_submit = eh_broker.Person(pseudonym, KVK_A), None, False
    try:
        browser.get(base + "/eherkenning/")
        wait_for("login")
        shot("eherkenning-1-start.png")
        browser.find_element(By.ID, "login").click()
        wait_for("continue")
        shot("eherkenning-2-broker.png")
        browser.find_element(By.ID, "continue").click()
        wait_for("get-certificate")
        assert "activated" in browser.find_element(By.ID, "message").text
        shot("eherkenning-3-home.png")
        Select(browser.find_element(By.ID, "municipality-choice")).select_by_value("GM0003")
        key = ssh_key(tmp_path, "browser")
        browser.find_element(By.ID, "public-key").send_keys(open(key + ".pub").read().strip())
        browser.find_element(By.ID, "get-certificate").click()
        cert = wait_for("certificate").text
        assert cert.startswith("ssh-ed25519-cert-v01@openssh.com ")
        shot("eherkenning-4-certificate.png")
        # The minisign key the person signs manifests with (intake checks it).
        pub = os.path.join(str(tmp_path), "browser.minisign.pub")
        r = kp.run(["minisign", "-G", "-W", "-p", pub, "-s", pub[:-4] + ".key"])
        assert r.returncode == 0, r.stderr
        browser.get(base + "/eherkenning/home")
        browser.find_element(By.ID, "sign-key").send_keys(open(pub).read().strip())
        browser.find_element(By.ID, "register-sign-key").click()
        assert wait_for("sign-key-id").text in open(pub).read()
        shot("eherkenning-6-sign-key.png")
        # A refusal page: level 2.
        broker.next = eh_broker.Person(pseudonym, KVK_A, level="loa2")
        browser.get(base + "/eherkenning/login")
        wait_for("continue").click()
        assert wait_for("reason").text == "eh-level-too-low"
        shot("eherkenning-5-refused.png")
    finally:
        broker.auto_submit = True
    person = data.sql("SELECT id FROM accounts WHERE pseudonym = ?", (pseudonym,))[0]["id"]
    assert {m["municipality"] for m in data.sql("SELECT municipality FROM mandates WHERE person = ?", (person,))} == \
        {"GM0002", "GM0003"}

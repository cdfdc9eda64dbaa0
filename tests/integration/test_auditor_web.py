"""The auditors' web page (/auditor/ on the HTTP endpoint) and the daily
exports in /audit, driven from outside.

- tokens: `auditor add --token-file` / `auditor token` refuse short tokens,
  files others may read, and non-auditors;
- HTTP-level negatives with http.client: no token, wrong token, unknown
  auditor, a person's id, no or wrong CSRF token, a forged cookie, an
  oversized form -- all refused, every login attempt audited as web.login
  with its reason; security headers on every page; a client-supplied file
  name with HTML in it shows escaped; refused web logins count towards the
  ban like SSH failures;
- daily exports: a complete day's records appear as
  export-YYYY-MM-DD.jsonl, readable by the auditor over SFTP in /audit;
- headless Chromium (Debian's chromium + chromium-driver, python3-selenium):
  log in, filter by municipality, see a known upload, verify -> ok; tamper
  with a record in SQLite -> verify on the page fails and names it.
"""

import http.client
import json
import os
import re
import time
import urllib.parse

import pytest

import headless
import kp

TOKEN = "3f" * 32  # 64 hex characters, like `openssl rand -hex 32`
AUDITOR = "a.audit"
XSS_NAME = "<img src=x onerror=alert('kp')>.txt"  # no '/': it is a file name


def token_file(tmp_path, text, mode=0o600, name="token"):
    path = os.path.join(str(tmp_path), name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


class Web:
    """A tiny HTTP client for the page: no redirects followed, cookies by hand."""

    def __init__(self, port):
        self.port = port

    def request(self, method, path, form=None, cookie=None, raw_body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {}
        body = raw_body
        if form is not None:
            body = urllib.parse.urlencode(form)
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if cookie:
            headers["Cookie"] = "kp_session=" + cookie
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        out = (r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode("utf-8", "replace"))
        conn.close()
        return out

    def login(self, auditor=AUDITOR, token=TOKEN):
        status, headers, _ = self.request("POST", "/auditor/login", {"auditor": auditor, "token": token})
        if status != 303:
            return status, None
        m = re.search(r"kp_session=([0-9a-f]{64})", headers.get("set-cookie", ""))
        return status, m.group(1) if m else None

    def page(self, cookie, query=""):
        status, _, body = self.request("GET", "/auditor/" + ("?" + query if query else ""), cookie=cookie)
        assert status == 200, body
        return body

    def csrf(self, cookie):
        return re.search(r'name="csrf" value="([0-9a-f]{64})"', self.page(cookie)).group(1)


@pytest.fixture(scope="module")
def w(make_world, tmp_path_factory):
    w = make_world(settings={"workers": "1"})
    tmp = tmp_path_factory.mktemp("tokens")
    kp.kp_ok("auditor", "token", AUDITOR, "--token-file", token_file(tmp, TOKEN + "\n"), data=w.data.path)
    w.serve()
    w.web = Web(w.server.http_port)
    # A known transfer: an upload by a person, and one whose name carries HTML.
    with w.jj() as sftp:
        kp.upload(sftp, "/inbox/web-known-signal.txt", b"not a package\n")
        kp.upload(sftp, "/inbox/" + XSS_NAME, b"hostile name\n")
    with kp.connect(w.port, "p.pietersen@GM0599", w.pietersen) as sftp:
        kp.upload(sftp, "/inbox/rotterdam.txt", b"other municipality\n")
    # The worker signs a checkpoint covering them (verify then has work to do).
    size = len(w.data.audit())
    assert kp.wait_for(lambda: (w.data.sql("SELECT max(size) AS s FROM checkpoints")[0]["s"] or 0) >= size,
                       timeout=60, interval=0.2)
    return w


# ---------------------------------------------------------------- tokens (CLI)

def test_token_cli_refusals(w, tmp_path):
    data = w.data.path
    r = kp.kp("auditor", "token", AUDITOR, "--token-file", token_file(tmp_path, "0123456789" * 3), data=data)
    assert r.returncode == 1 and "token-too-short" in r.stderr
    r = kp.kp("auditor", "token", AUDITOR, "--token-file", token_file(tmp_path, TOKEN, 0o644, "open"), data=data)
    assert r.returncode == 1 and "token-file-exposed" in r.stderr
    r = kp.kp("auditor", "token", "j.jansen", "--token-file", token_file(tmp_path, TOKEN, name="p"), data=data)
    assert r.returncode == 1 and "not-found" in r.stderr
    r = kp.kp("auditor", "token", AUDITOR, data=data)
    assert r.returncode == 2
    # A weak token leaves no half-registered auditor behind.
    ident = w.keys("a.second")
    r = kp.kp("auditor", "add", "a.second", "--ssh-key", ident.ssh_pub, "--token-file",
              token_file(tmp_path, "short", name="weak"), data=data)
    assert r.returncode == 1
    assert not w.data.sql("SELECT id FROM accounts WHERE id = 'a.second'")
    kp.kp_ok("auditor", "add", "a.second", "--ssh-key", ident.ssh_pub, "--token-file",
             token_file(tmp_path, "9a" * 20, name="second"), data=data)
    assert w.data.audit(event="auditor.token_set")
    # Only a hash is stored, never the token.
    rows = w.data.sql("SELECT hex(hash) AS h FROM auditor_tokens")
    assert len(rows) == 2 and all(len(r["h"]) == 64 and TOKEN.upper() not in r["h"] for r in rows)


# ---------------------------------------------------------------- HTTP negatives

def test_pages_need_a_login(w):
    status, headers, _ = w.web.request("GET", "/auditor/")
    assert status == 303 and headers["location"] == "/auditor/login"
    status, headers, _ = w.web.request("GET", "/auditor/", cookie="ab" * 32)  # forged cookie
    assert status == 303 and headers["location"] == "/auditor/login"
    status, _, body = w.web.request("GET", "/auditor/login")
    assert status == 200 and 'name="token"' in body
    status, _, _ = w.web.request("GET", "/auditor/nothing-here")
    assert status == 404
    status, _, _ = w.web.request("GET", "/auditor/verify")
    assert status == 405
    status, _, _ = w.web.request("GET", "/auditor/%zz")  # malformed escape
    assert status == 400
    status, _, _ = w.web.request("GET", "/healthz")  # the endpoint's other paths are untouched
    assert status == 200


@pytest.mark.parametrize("auditor,token,reason", [
    (AUDITOR, "", "token-missing"),
    (AUDITOR, TOKEN[:-1] + "0", "token-wrong"),
    ("a.nobody", TOKEN, "auditor-unknown"),
    ("j.jansen", TOKEN, "not-auditor"),
    ("../etc<x>", TOKEN, "id-invalid"),
])
def test_login_refused_and_audited(w, auditor, token, reason):
    since = w.data.last_audit_id()
    status, cookie = w.web.login(auditor, token)
    assert status == 403 and cookie is None
    rows = w.data.audit(event="web.login", since_id=since)
    assert [(r["outcome"], r["reason"]) for r in rows] == [("refused", reason)]
    assert rows[0]["channel"] == "http" and rows[0]["source"] == "127.0.0.1"


def test_login_sets_a_strict_cookie_and_is_audited(w):
    since = w.data.last_audit_id()
    status, headers, _ = w.web.request("POST", "/auditor/login", {"auditor": AUDITOR, "token": TOKEN})
    assert status == 303 and headers["location"] == "/auditor/"
    cookie = headers["set-cookie"]
    for part in ("HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="):
        assert part in cookie
    rows = w.data.audit(event="web.login", since_id=since)
    assert [(r["outcome"], r["actor"]) for r in rows] == [("success", AUDITOR)]


def test_security_headers(w):
    _, cookie = w.web.login()
    for path, c in (("/auditor/login", None), ("/auditor/", cookie)):
        _, headers, _ = w.web.request("GET", path, cookie=c)
        csp = headers["content-security-policy"]
        assert csp.startswith("default-src 'none';") and "frame-ancestors 'none'" in csp
        assert "script-src" not in csp and "unsafe-inline" not in csp
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["cache-control"] == "no-store"


def test_state_changes_need_session_and_csrf(w):
    _, cookie = w.web.login()
    csrf = w.web.csrf(cookie)
    since = w.data.last_audit_id()
    for form, c in (({}, cookie), ({"csrf": "00" * 32}, cookie), ({"csrf": csrf}, None),
                    ({"csrf": csrf}, "cd" * 32)):
        for path in ("/auditor/verify", "/auditor/logout"):
            status, _, _ = w.web.request("POST", path, form, cookie=c)
            assert status == 403, (path, form, c)
    assert not w.data.audit(event="web.verify", since_id=since)
    # The session survived the refused logout attempts; a real logout ends it.
    assert w.web.page(cookie)
    status, headers, _ = w.web.request("POST", "/auditor/logout", {"csrf": csrf}, cookie=cookie)
    assert status == 303 and "Max-Age=0" in headers["set-cookie"]
    status, _, _ = w.web.request("GET", "/auditor/", cookie=cookie)
    assert status == 303


def test_replacing_the_token_ends_open_sessions(w, tmp_path):
    _, cookie = w.web.login()
    assert w.web.page(cookie)
    since = w.data.last_audit_id()
    new_token = "5a" * 32
    kp.kp_ok("auditor", "token", AUDITOR, "--token-file", token_file(tmp_path, new_token + "\n"),
             data=w.data.path)
    try:
        # The session opened with the old token is over at its next request...
        status, headers, _ = w.web.request("GET", "/auditor/", cookie=cookie)
        assert status == 303 and headers["location"] == "/auditor/login"
        rows = w.data.audit(event="web.session_ended", since_id=since)
        assert [(r["actor"], r["reason"]) for r in rows] == [(AUDITOR, "token-replaced")]
        # ...for good, and the old token no longer logs in; the new one does.
        status, _, _ = w.web.request("GET", "/auditor/", cookie=cookie)
        assert status == 303
        assert w.web.login(token=TOKEN)[0] == 403
        status, fresh = w.web.login(token=new_token)
        assert status == 303 and w.web.page(fresh)
    finally:
        kp.kp_ok("auditor", "token", AUDITOR, "--token-file",
                 token_file(tmp_path, TOKEN + "\n", name="old"), data=w.data.path)


def test_oversized_or_wrong_forms_refused(w):
    status, _, _ = w.web.request("POST", "/auditor/login", raw_body="auditor=a&token=" + "x" * 20000)
    assert status == 400
    conn = http.client.HTTPConnection("127.0.0.1", w.web.port, timeout=30)
    conn.request("POST", "/auditor/login", body="{}", headers={"Content-Type": "application/json"})
    assert conn.getresponse().status == 400
    conn.close()


def test_client_supplied_names_are_escaped(w):
    _, cookie = w.web.login()
    body = w.web.page(cookie, "municipality=GM0363&event=sftp.upload")
    assert "<img" not in body
    assert "&lt;img src=x onerror=alert(&#39;kp&#39;)&gt;.txt" in body
    # Hostile filter values are escaped too (and a bad municipality is ignored, said so).
    body = w.web.page(cookie, urllib.parse.urlencode({"event": "\"><script>x</script>", "municipality": "<b>"}))
    assert "<script>x" not in body and "<b>" not in body
    assert "filter-error" in body


def test_filters_and_paging(w):
    _, cookie = w.web.login()
    body = w.web.page(cookie, "municipality=GM0599&event=sftp.upload&outcome=success")
    assert "rotterdam.txt" in body and "web-known-signal.txt" not in body
    assert 'data-municipality="GM0599"' in body
    today = time.strftime("%Y-%m-%d", time.gmtime())
    body = w.web.page(cookie, f"since={today}&until={today}&municipality=GM0363")
    assert "web-known-signal.txt" in body
    body = w.web.page(cookie, "since=2000-01-01&until=2000-01-02")
    assert 'id="count" data-total="0"' in body
    body = w.web.page(cookie)
    total = int(re.search(r'id="count" data-total="(\d+)"', body).group(1))
    assert 0 < total <= len(w.data.audit())
    assert body.count('class="record"') == min(total, 50)
    if total > 50:
        assert 'id="next"' in body and 'id="next" href="/auditor/?page=2"' in body
        assert 'class="record"' in w.web.page(cookie, "page=2")
    assert re.search(r'<pre id="checkpoint">[^<]*\n\d+\n', body)


def test_refused_web_logins_count_towards_the_ban(make_world):
    w2 = make_world(settings={"ban_after_failures": "3", "ban_window_seconds": "600"})
    w2.serve()
    web = Web(w2.server.http_port)
    for _ in range(3):
        assert web.login(AUDITOR, "ff" * 32)[0] == 403
    since = w2.data.last_audit_id()
    status, _, body = web.request("POST", "/auditor/login", {"auditor": AUDITOR, "token": TOKEN, "lang": "en"})
    assert status == 403 and "Too many failed logins" in body
    assert w2.data.audit(event="web.login", since_id=since)[0]["reason"] == "source-banned"
    # ... and SSH logins from that source are refused as well.
    assert kp.login_refused(w2.port, "j.jansen@GM0363", w2.jansen)


# ---------------------------------------------------------------- daily exports

def test_daily_export_reaches_the_auditor_over_sftp(w):
    """All records are from today, which never gets an export: move one
    record two days back (and put it back afterwards), wait for the worker
    to publish that day, and read it as the auditor over SFTP."""
    rid = w.data.audit(event="sftp.upload")[0]["id"]
    ts = w.data.sql("SELECT ts_ms FROM audit_events WHERE id = ?", (rid,))[0]["ts_ms"]
    day_ms = (ts // kp.DAY_MS - 2) * kp.DAY_MS
    day = time.strftime("%Y-%m-%d", time.gmtime(day_ms / 1000))
    empty_day = time.strftime("%Y-%m-%d", time.gmtime(day_ms / 1000 + 86400))
    name = f"export-{day}.jsonl"
    w.data.sql("UPDATE audit_events SET ts_ms = ? WHERE id = ?", (day_ms + 1234, rid))
    try:
        path = os.path.join(w.data.path, "audit", name)
        assert kp.wait_for(lambda: os.path.exists(path), timeout=40, interval=0.2), w.server.log_text()[-2000:]
    finally:
        w.data.sql("UPDATE audit_events SET ts_ms = ? WHERE id = ?", (ts, rid))
    with kp.connect(w.port, AUDITOR, w.auditor) as sftp:
        names = sftp.listdir("/audit")
        assert name in names and f"export-{empty_day}.jsonl" in names
        assert not any(n.startswith("export-" + time.strftime("%Y-%m-%d", time.gmtime())) for n in names)
        assert not any(".tmp" in n for n in names)
        lines = kp.download(sftp, "/audit/" + name).decode().splitlines()
        assert kp.download(sftp, f"/audit/export-{empty_day}.jsonl") == b""
    records = [json.loads(line) for line in lines]
    assert [r["index"] for r in records] == [rid - 1]
    assert records[0]["event"] == "sftp.upload" and len(records[0]["leaf_hash"]) == 64
    # The auditor may read, never write or remove.
    with kp.connect(w.port, AUDITOR, w.auditor) as sftp:
        assert kp.fails(sftp.remove, "/audit/" + name)
        assert kp.fails(kp.upload, sftp, "/audit/export-2000-01-01.jsonl", b"{}\n")


# ---------------------------------------------------------------- headless Chromium

@pytest.fixture
def browser():
    drv = headless.start()
    try:
        yield drv
    finally:
        drv.quit()


def test_browser_login_filter_verify_and_tamper(w, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    base = f"http://127.0.0.1:{w.web.port}"
    wait = WebDriverWait(browser, 60)
    browser.get(base + "/auditor/?lang=en")  # the page is Dutch unless asked (test_auditor_page.py)
    wait.until(lambda d: d.find_elements(By.ID, "token"))
    assert browser.current_url.endswith("/auditor/login?lang=en")
    browser.find_element(By.ID, "auditor").send_keys(AUDITOR)
    browser.find_element(By.ID, "token").send_keys(TOKEN)
    browser.find_element(By.ID, "login").click()
    wait.until(lambda d: d.find_elements(By.ID, "transfers"))
    assert browser.find_element(By.ID, "who").text == AUDITOR

    Select(browser.find_element(By.ID, "municipality")).select_by_value("GM0363")
    browser.find_element(By.ID, "event").send_keys("sftp.upload")
    browser.find_element(By.ID, "apply").click()
    wait.until(lambda d: "municipality=GM0363" in d.current_url)
    rows = browser.find_elements(By.CSS_SELECTOR, "#transfers tr.record")
    objects = [r.find_element(By.CSS_SELECTOR, "td.object").text for r in rows]
    assert any(o.endswith(" web-known-signal.txt") for o in objects), objects
    assert any(o.endswith(" " + XSS_NAME) for o in objects), objects  # shown as text, not run
    assert not any("rotterdam.txt" in o for o in objects)
    bars = browser.find_elements(By.CSS_SELECTOR, "#chart rect.bar")
    assert bars and {b.get_attribute("data-municipality") for b in bars} == {"GM0363"}
    assert sum(int(b.get_attribute("data-count")) for b in bars) >= 2
    origin = open(os.path.join(w.data.path, "keys", "log.origin")).read().strip()
    assert browser.find_element(By.ID, "checkpoint").text.startswith(origin)

    browser.find_element(By.ID, "verify").click()
    wait.until(lambda d: d.find_elements(By.ID, "verify-outcome"))
    assert browser.find_element(By.ID, "verify-outcome").text == "ok"
    assert "verified" in browser.find_element(By.ID, "verify-detail").text

    # Tamper with the known upload's record: verify on the page must fail and name it.
    row = w.data.sql("SELECT id, actor FROM audit_events WHERE event = 'sftp.upload' AND object LIKE ?",
                     ("%web-known-signal.txt",))[0]
    w.data.sql("UPDATE audit_events SET actor = 'p.pietersen' WHERE id = ?", (row["id"],))
    try:
        browser.get(base + "/auditor/?lang=en")
        wait.until(lambda d: d.find_elements(By.ID, "verify"))
        browser.find_element(By.ID, "verify").click()
        wait.until(lambda d: d.find_elements(By.ID, "verify-outcome"))
        assert browser.find_element(By.ID, "verify-outcome").text == "failed"
        detail = browser.find_element(By.ID, "verify-detail").text
        assert "audit-record-altered" in detail and f"record {row['id'] - 1}" in detail, detail
    finally:
        w.data.sql("UPDATE audit_events SET actor = ? WHERE id = ?", (row["actor"], row["id"]))
    assert [r["outcome"] for r in w.data.audit(event="web.verify")][-2:] == ["success", "failed"]

    browser.find_element(By.ID, "logout").click()
    wait.until(lambda d: d.find_elements(By.ID, "token"))
    browser.get(base + "/auditor/")
    wait.until(lambda d: d.find_elements(By.ID, "token"))

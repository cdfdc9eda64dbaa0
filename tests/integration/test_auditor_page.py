"""The auditors' page as an auditor sees it, in headless Chromium (one
browser for the whole module), at 1280 and 390 px wide:

- every page (login, a refused login, the log, the log after Verify) in
  Dutch (the default) and English, checked by its visible texts, with
  screenshots saved to docs/screenshots/auditor-*.png (shown in README);
- the style comes from the gateway's own stylesheet under a strict CSP
  (style-src 'self', no inline style), and the browser applies it;
- the records table fits: no horizontal scrolling at 1280 px (the table's
  scrollWidth <= clientWidth, and the page's), nor at 390 px, where rows
  become cards;
- the chart: a label for every day (or every few days) of the period,
  the municipalities' names and codes in the legend, totals, and it
  follows the filters, which live in the URL;
- Verify is POST-redirect-GET: the outcome is on the GET page it
  redirects to, and reloading that page verifies nothing again.

The log gets ten days of history before the server starts: backdated
records appended with their Merkle tree nodes, written here from the
record format (audit/record.cpp) so that `audit verify` holds.
"""

import hashlib
import os
import re
import sqlite3
import time
import urllib.parse

import pytest

import headless
import kp

TOKEN = "6b" * 32
AUDITOR = "a.audit"
SHOTS = headless.screenshot_dir()
DAYS = 10  # days of history before today
MUNICIPALITIES = {"GM0363": "Amsterdam", "GM0599": "Rotterdam", "GM0518": "'s-Gravenhage", "GM0344": "Utrecht"}
MONTHS_NL = "jan feb mrt apr mei jun jul aug sep okt nov dec".split()


# ---------------------------------------------------------------- history in the log

def canonical(row, index):
    """The canonical record (audit/record.cpp): a header line, then `name: value` lines."""
    def esc(v):
        return "" if v is None else str(v).replace("\\", "\\\\").replace("\n", "\\n")
    names = ("event", "outcome", "actor", "role", "municipality", "object", "size", "sha256", "source",
             "channel", "reason")
    text = "knooppunt-audit/1\n" + f"index: {index}\ntime: {row['ts_ms']}\n"
    text += "".join(f"{n}: {esc(row.get(n))}\n" for n in names)
    return text.encode()


def append_records(db_path, rows):
    """Appends `rows` to audit_events with their tree nodes (store/audit_events.cpp's append_leaf)."""
    con = sqlite3.connect(db_path, timeout=30)
    try:
        with con:
            for row in rows:
                cur = con.execute(
                    "INSERT INTO audit_events(ts_ms, event, outcome, actor, role, municipality, object, size,"
                    " sha256, source, channel, reason) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    tuple(row.get(k) for k in ("ts_ms", "event", "outcome", "actor", "role", "municipality",
                                               "object", "size", "sha256", "source", "channel", "reason")))
                idx = cur.lastrowid - 1
                h = hashlib.sha256(b"\x00" + canonical(row, idx)).digest()
                level = 0
                while True:
                    con.execute("INSERT INTO merkle_nodes(level, idx, hash) VALUES (?,?,?)", (level, idx, h))
                    if idx % 2 == 0:
                        break
                    left = con.execute("SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?",
                                       (level, idx - 1)).fetchone()[0]
                    h = hashlib.sha256(b"\x01" + left + h).digest()
                    idx //= 2
                    level += 1
    finally:
        con.close()


def history(today_ms):
    """Ten days of uploads and downloads in four municipalities, a few refused."""
    rows = []
    people = {"GM0363": "j.jansen", "GM0599": "p.pietersen", "GM0518": "d.dubbel", "GM0344": "d.dubbel"}
    for d in range(DAYS, 0, -1):
        day = today_ms - d * kp.DAY_MS
        for i, code in enumerate(sorted(MUNICIPALITIES)):
            n = (d * 7 + i * 3) % 5 + (2 if code == "GM0363" else 0)
            if (d + i) % 4 == 0:
                n = 0  # quiet days
            for k in range(n):
                ts = day + (8 + k) * 3600 * 1000 + i * 60000
                name = f"signaal-{code}-{d:02d}-{k}.age"
                event = "sftp.download" if k % 3 == 2 else "sftp.upload"
                obj = f"/outbox/{name}" if event == "sftp.download" else f"upload/{100 + len(rows)} {name}"
                rows.append({"ts_ms": ts, "event": event, "outcome": "success", "actor": people[code],
                             "role": "person", "municipality": code, "object": obj,
                             "size": 48213 + 977 * k + d, "sha256": hashlib.sha256(name.encode()).hexdigest(),
                             "source": "192.0.2.%d" % (10 + i), "channel": "sftp"})
        if d % 3 == 0:
            rows.append({"ts_ms": day + 15 * 3600 * 1000, "event": "sftp.upload", "outcome": "refused",
                         "actor": "p.pietersen", "role": "person", "municipality": "GM0599",
                         "object": f"/inbox/dubbel-{d}.age", "size": 1200,
                         "sha256": hashlib.sha256(b"dup%d" % d).hexdigest(), "source": "192.0.2.11",
                         "channel": "sftp", "reason": "name-used"})
    return rows


def token_file(tmp, text):
    path = os.path.join(str(tmp), "token")
    with open(path, "w") as f:
        f.write(text + "\n")
    os.chmod(path, 0o600)
    return path


@pytest.fixture(scope="module")
def w(make_world, tmp_path_factory):
    w = make_world(settings={"workers": "1"})
    for code in ("GM0518", "GM0344"):
        w.data.municipality(code, MUNICIPALITIES[code])
    kp.kp_ok("auditor", "token", AUDITOR, "--token-file", token_file(tmp_path_factory.mktemp("t"), TOKEN),
             data=w.data.path)
    w.today = int(time.time() * 1000) // kp.DAY_MS * kp.DAY_MS
    append_records(w.data.db_path, history(w.today))
    size = len(w.data.audit())
    w.serve()
    with w.jj() as sftp:  # and today's real transfers, one with a long name
        kp.upload(sftp, "/inbox/signaal-vandaag.age", b"not a package\n")
        kp.upload(sftp, "/inbox/" + "een-heel-lange-bestandsnaam-zonder-spaties-" * 2 + ".age", b"x\n")
    # A signed checkpoint covers the history (the worker signs one at start).
    assert kp.wait_for(lambda: (w.data.sql("SELECT max(size) AS s FROM checkpoints")[0]["s"] or 0) >= size,
                       timeout=60, interval=0.2)
    w.base = f"http://127.0.0.1:{w.server.http_port}"
    return w


@pytest.fixture(scope="module")
def browser():
    drv = headless.start()
    try:
        yield drv
    finally:
        drv.quit()


# ---------------------------------------------------------------- helpers

def viewport(browser, width, height=900):
    """Lays the page out exactly `width` CSS pixels wide (a phone below 500)."""
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500})


def open_page(browser, url, element_id):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    browser.get(url)
    return WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, element_id))


def shot(browser, name, width, max_height=2000, scroll_to=None):
    """A screenshot at `width` of the page's top (at most max_height px), or
    of the part from element `scroll_to` on."""
    height = browser.execute_script("return document.documentElement.scrollHeight")
    viewport(browser, width, min(height, max_height))
    if scroll_to:
        browser.execute_script("document.getElementById(arguments[0]).scrollIntoView()", scroll_to)
    os.makedirs(SHOTS, exist_ok=True)
    browser.save_screenshot(os.path.join(SHOTS, name))
    viewport(browser, width)


def visible_text(browser):
    from selenium.webdriver.common.by import By
    return browser.find_element(By.TAG_NAME, "body").text


def no_horizontal_scroll(browser):
    return browser.execute_script(
        "const e = document.documentElement; return e.scrollWidth <= e.clientWidth;")


def log_in(browser, w, lang=""):
    from selenium.webdriver.common.by import By
    browser.delete_all_cookies()
    open_page(browser, w.base + "/auditor/login" + ("?lang=" + lang if lang else ""), "token")
    browser.find_element(By.ID, "auditor").send_keys(AUDITOR)
    browser.find_element(By.ID, "token").send_keys(TOKEN)
    browser.find_element(By.ID, "login").click()
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.ID, "transfers"))


def day_label(ms, months=MONTHS_NL):
    t = time.gmtime(ms / 1000)
    return f"{t.tm_mday} {months[t.tm_mon - 1]}"


# ---------------------------------------------------------------- tests

def test_login_pages_in_both_languages(w, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    for width in (1280, 390):
        viewport(browser, width)
        browser.delete_all_cookies()
        open_page(browser, w.base + "/auditor/", "token")  # not logged in: the login page, in Dutch
        assert browser.current_url.endswith("/auditor/login")
        text = visible_text(browser)
        for s in ("Inloggen voor auditors", "Auditor-id", "Token", "English"):
            assert s in text, (s, text)
        assert browser.find_element(By.ID, "login").text == "Inloggen"
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "nl"
        assert no_horizontal_scroll(browser)
        shot(browser, f"auditor-login-{width}.png", width, max_height=640)
        # The switch keeps the page and changes the language.
        browser.find_element(By.ID, "lang-switch").click()
        open_page(browser, browser.current_url, "token")
        assert browser.current_url.endswith("/auditor/login?lang=en")
        text = visible_text(browser)
        for s in ("Log in for auditors", "Auditor id", "Nederlands"):
            assert s in text, (s, text)
        assert browser.find_element(By.ID, "login").text == "Log in"
        # A refused login says so in the page's language.
        browser.find_element(By.ID, "auditor").send_keys(AUDITOR)
        browser.find_element(By.ID, "token").send_keys("00" * 32)
        browser.find_element(By.ID, "login").click()
        msg = WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "message"))
        assert msg.text == "Login refused: check the auditor id and token."
    # ... and in Dutch by default (the screenshot of a refused login).
    for width in (1280, 390):
        viewport(browser, width)
        open_page(browser, w.base + "/auditor/login", "token")
        browser.find_element(By.ID, "auditor").send_keys(AUDITOR)
        browser.find_element(By.ID, "token").send_keys("00" * 32)
        browser.find_element(By.ID, "login").click()
        msg = WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "message"))
        assert msg.text == "Inloggen geweigerd: controleer het auditor-id en het token."
        shot(browser, f"auditor-login-refused-{width}.png", width, max_height=640)


def test_style_from_the_gateway_under_a_strict_csp(w, browser):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", w.server.http_port, timeout=30)
    conn.request("GET", "/auditor/style.css")
    r = conn.getresponse()
    css = r.read().decode()
    assert r.status == 200 and r.getheader("Content-Type").startswith("text/css")
    assert r.getheader("X-Content-Type-Options") == "nosniff"
    assert "table.records" in css and "@media" in css
    conn.close()
    viewport(browser, 1280)
    log_in(browser, w)
    src = browser.page_source
    assert " style=" not in src and "<style" not in src and "<script" not in src
    assert '<link rel="stylesheet" href="/auditor/style.css">' in src
    # The browser applied it (the CSP let it): the top bar's accent border.
    border = browser.execute_script(
        "return getComputedStyle(document.querySelector('header.top')).borderBottomStyle")
    assert border == "solid"
    # Nothing the CSP refused (it would log a console error).
    logs = [e for e in browser.get_log("browser") if "Content Security Policy" in e.get("message", "")]
    assert not logs, logs


def test_log_page_in_dutch_fits_and_reads_at_a_glance(w, browser):
    from selenium.webdriver.common.by import By
    viewport(browser, 1280)
    log_in(browser, w)
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "nl"
    text = visible_text(browser)
    for s in ("Overdrachtslogboek", "Filters", "Gemeente", "Gebeurtenis", "Uitkomst", "Van", "Tot en met",
              "Toepassen", "Overdrachten per dag", "Logregels", "Tijd (UTC)", "Wie", "Bron",
              "Huidig ondertekend checkpoint", "Het logboek controleren", "Controleren", "Uitloggen",
              "geslaagd", "English", "Ingelogd als"):
        assert s in text, (s, text[:3000])
    for s in ("Transfer log", "Records", "Log out", "Apply"):
        assert s not in text, s
    # The table fits 1280 px: no horizontal scrolling, for the table nor the page.
    table = browser.find_element(By.ID, "transfers")
    sw, cw = browser.execute_script("const t = arguments[0]; return [t.scrollWidth, t.clientWidth];", table)
    assert sw <= cw, (sw, cw)
    assert cw <= 1280
    assert no_horizontal_scroll(browser)
    # The chart: a label under the days, the last day always; names and codes in the legend.
    chart = browser.find_element(By.ID, "chart")
    assert chart.is_displayed()
    labels = [t.text for t in chart.find_elements(By.CSS_SELECTOR, "text.day")]
    days = [w.today - d * kp.DAY_MS for d in range(DAYS, -1, -1)]
    assert labels == [day_label(d) for d in days], labels  # 11 days: every one labelled
    legend = browser.find_element(By.ID, "legend").text
    for code, name in MUNICIPALITIES.items():
        assert name in legend and code in legend, legend
    totals = browser.find_element(By.ID, "chart-totals").text
    assert re.match(r"\d+ overdrachten · 4 gemeenten · 11 dagen", totals), totals
    bars = chart.find_elements(By.CSS_SELECTOR, "rect.bar")
    total = sum(int(b.get_attribute("data-count")) for b in bars)
    assert totals.startswith(f"{total} ")
    assert {b.get_attribute("data-municipality") for b in bars} == set(MUNICIPALITIES)
    # Each municipality keeps one colour, in the chart and the legend.
    for code in MUNICIPALITIES:
        classes = {b.get_attribute("class") for b in bars if b.get_attribute("data-municipality") == code}
        swatch = browser.find_element(By.CSS_SELECTOR, f'#legend li[data-municipality="{code}"] .swatch')
        assert len(classes) == 1 and classes.pop().split()[1] in swatch.get_attribute("class").split()
    caption = browser.find_element(By.ID, "chart-caption").text
    assert "geslaagde uploads en downloads" in caption
    # A hash shows 12 digits and opens to all 64.
    cell = browser.find_elements(By.CSS_SELECTOR, "#transfers td.hash details")[0]
    summary = cell.find_element(By.TAG_NAME, "summary")
    assert re.fullmatch(r"[0-9a-f]{12}…", summary.text), summary.text
    assert not cell.find_element(By.TAG_NAME, "code").is_displayed()
    summary.click()
    assert re.fullmatch(r"[0-9a-f]{64}", cell.find_element(By.TAG_NAME, "code").text)
    assert no_horizontal_scroll(browser)
    assert not browser.find_element(By.ID, "chart-narrow").is_displayed()
    shot(browser, "auditor-log-1280.png", 1280, max_height=1400)

    # 390 px: rows become cards, the chart turns on its side, nothing scrolls sideways.
    viewport(browser, 390)
    browser.refresh()
    open_page(browser, browser.current_url, "transfers")
    assert no_horizontal_scroll(browser)
    assert not browser.find_element(By.ID, "chart").is_displayed()
    narrow = browser.find_element(By.ID, "chart-narrow")
    assert narrow.is_displayed()
    assert [t.text for t in narrow.find_elements(By.CSS_SELECTOR, "text.day")] == [day_label(d) for d in days]
    table = browser.find_element(By.ID, "transfers")
    sw, cw = browser.execute_script("const t = arguments[0]; return [t.scrollWidth, t.clientWidth];", table)
    assert sw <= cw, (sw, cw)
    assert not browser.find_element(By.CSS_SELECTOR, "#transfers thead").is_displayed()
    shot(browser, "auditor-log-390.png", 390, max_height=1700)


def test_english_log_page(w, browser):
    from selenium.webdriver.common.by import By
    viewport(browser, 1280)
    log_in(browser, w)
    browser.find_element(By.ID, "lang-switch").click()
    open_page(browser, browser.current_url, "transfers")
    assert browser.current_url.endswith("/auditor/?lang=en")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    text = visible_text(browser)
    for s in ("Transfer log", "Filters", "Municipality", "Event", "Outcome", "From", "Until", "Apply",
              "Transfers per day", "Records", "Time (UTC)", "Actor", "Source", "Current signed checkpoint",
              "Verify the log", "Verify", "Log out", "success", "Nederlands", "Logged in as"):
        assert s in text, (s, text[:3000])
    for s in ("Overdrachtslogboek", "Logregels", "Uitloggen", "Toepassen", "geslaagd"):
        assert s not in text, s
    labels = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "#chart text.day")]
    months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
    assert labels[-1] == day_label(w.today, months)
    assert "successful uploads and downloads" in browser.find_element(By.ID, "chart-caption").text
    shot(browser, "auditor-log-en-1280.png", 1280, max_height=1100)


def test_filters_live_in_the_url_and_the_chart_follows_them(w, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait
    viewport(browser, 1280)
    log_in(browser, w, "en")
    Select(browser.find_element(By.ID, "municipality")).select_by_value("GM0599")
    since = time.strftime("%Y-%m-%d", time.gmtime((w.today - 6 * kp.DAY_MS) / 1000))
    until = time.strftime("%Y-%m-%d", time.gmtime((w.today - 2 * kp.DAY_MS) / 1000))
    browser.execute_script("document.getElementById('since').value = arguments[0];"
                           "document.getElementById('until').value = arguments[1];", since, until)
    browser.find_element(By.ID, "apply").click()
    WebDriverWait(browser, 30).until(lambda d: "municipality=GM0599" in d.current_url)
    query = urllib.parse.parse_qs(urllib.parse.urlparse(browser.current_url).query)
    assert query == {"municipality": ["GM0599"], "since": [since], "until": [until], "lang": ["en"]}
    # The chart's axis is the period exactly, its bars and legend the one municipality.
    labels = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "#chart text.day")]
    months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
    assert labels == [day_label(w.today - d * kp.DAY_MS, months) for d in range(6, 1, -1)], labels
    bars = browser.find_elements(By.CSS_SELECTOR, "#chart rect.bar")
    assert {b.get_attribute("data-municipality") for b in bars} == {"GM0599"}
    assert {b.get_attribute("data-day") for b in bars} <= {
        time.strftime("%Y-%m-%d", time.gmtime((w.today - d * kp.DAY_MS) / 1000)) for d in range(6, 1, -1)}
    assert [li.get_attribute("data-municipality") for li in browser.find_elements(By.CSS_SELECTOR, "#legend li")] \
        == ["GM0599"]
    # The table shows the same selection; refused uploads are in it, not in the chart...
    rows = browser.find_elements(By.CSS_SELECTOR, "#transfers tr.record")
    assert rows and all("GM0599" in r.find_element(By.CSS_SELECTOR, "td.municipality").text for r in rows)
    shown = sum(int(b.get_attribute("data-count")) for b in bars)
    # ... until the outcome filter asks for them: the chart follows it too.
    Select(browser.find_element(By.ID, "outcome")).select_by_value("refused")
    browser.find_element(By.ID, "apply").click()
    WebDriverWait(browser, 30).until(lambda d: "outcome=refused" in d.current_url)
    bars = browser.find_elements(By.CSS_SELECTOR, "#chart rect.bar")
    assert bars and sum(int(b.get_attribute("data-count")) for b in bars) != shown
    assert "refused uploads and downloads" in browser.find_element(By.ID, "chart-caption").text
    # A reload, a page link and the language switch keep the filters.
    browser.refresh()
    assert Select(browser.find_element(By.ID, "municipality")).first_selected_option.get_attribute("value") == "GM0599"
    switch = browser.find_element(By.ID, "lang-switch").get_attribute("href")
    assert "municipality=GM0599" in switch and "outcome=refused" in switch and "lang=en" not in switch


def test_verify_is_post_redirect_get(w, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    viewport(browser, 1280)
    log_in(browser, w)
    open_page(browser, w.base + "/auditor/?municipality=GM0363", "verify")
    before = len(w.data.audit(event="web.verify"))
    browser.find_element(By.ID, "verify").click()
    WebDriverWait(browser, 60).until(lambda d: d.find_elements(By.ID, "verify-outcome"))
    url = browser.current_url
    assert re.search(r"/auditor/\?municipality=GM0363&verify=1#verify-section$", url), url
    assert browser.find_element(By.ID, "verify-outcome").text == "in orde"
    detail = browser.find_element(By.ID, "verify-detail").text
    assert re.match(r"Het logboek klopt: [\d.]+ regels, \d+ ondertekende checkpoints\.", detail), detail
    assert len(w.data.audit(event="web.verify")) == before + 1
    shot(browser, "auditor-verified-1280.png", 1280, max_height=700, scroll_to="verify-section")
    # Reload: the same outcome, no second POST (no new web.verify record).
    browser.refresh()
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.ID, "verify-outcome"))
    assert browser.find_element(By.ID, "verify-outcome").text == "in orde"
    assert len(w.data.audit(event="web.verify")) == before + 1
    # In English (the switch keeps the outcome), and at 390 px.
    browser.find_element(By.ID, "lang-switch").click()
    WebDriverWait(browser, 30).until(lambda d: "lang=en" in d.current_url)
    assert browser.find_element(By.ID, "verify-outcome").text == "ok"
    assert browser.find_element(By.ID, "verify-detail").text.startswith("Transfer log verified: ")
    viewport(browser, 390)
    browser.get(url)
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.ID, "verify-outcome"))
    assert no_horizontal_scroll(browser)
    shot(browser, "auditor-verified-390.png", 390, max_height=900, scroll_to="verify-section")
    assert len(w.data.audit(event="web.verify")) == before + 1
    # Without the number of this session's last Verify, the page shows no outcome.
    browser.get(w.base + "/auditor/")
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.ID, "verify"))
    assert not browser.find_elements(By.ID, "verify-outcome")


def test_notice_pages_in_both_languages(w, browser):
    from selenium.webdriver.common.by import By
    for width in (1280, 390):
        viewport(browser, width)
        msg = open_page(browser, w.base + "/auditor/nergens", "message")
        assert msg.text == "Niet gevonden."
        assert "Terug naar het logboek" in visible_text(browser)
        assert no_horizontal_scroll(browser)
        shot(browser, f"auditor-notice-{width}.png", width, max_height=480)
        msg = open_page(browser, w.base + "/auditor/nergens?lang=en", "message")
        assert msg.text == "Not found."
        assert "Back to the log" in visible_text(browser)
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"

"""Contact details of an eHerkenning person, confirmed by a link mailed to
the address (store/contacts, the monitor's eh_contact / eh_confirm, the
worker's notifier mailing through a real SMTP server: tests/support/smtp_sink.py).

- In headless Chromium: log in at EH3 through the test broker, enter name
  and address, the worker mails the link, the test reads it from the sink
  and opens it, the page shows the address confirmed (screenshots for the
  README). An enrichment request published while the address was not
  confirmed is not mailed to it; a SIP published afterwards is.
- Over HTTP: a malformed address, an overlong or empty name, no session;
  an unknown, a reused, an expired and a superseded token: each refused
  with its reason on the page and in the transfer log.
"""

import email
import functools
import os
import re
import types

import pytest

import eh_broker
import headless
import kp
from test_auditor_web import browser  # noqa: F401  (the shared headless Chromium fixture)
from test_eherkenning import csrf_of, enable_eherkenning, reason_of, request, web_login
from test_hub import Hub
from test_notify import Sink

KVK = "12345678"
MUNI = "GM0363"


@pytest.fixture(scope="module")
def ctx(make_world, tmp_path_factory):
    sink = Sink(str(tmp_path_factory.mktemp("mail")))
    w = make_world(settings={"workers": "1", "smtp_host": "127.0.0.1", "smtp_port": str(sink.port),
                             "smtp_starttls": "no", "smtp_sender": "knooppunt@hub.test"})
    w.data.sql("UPDATE municipalities SET kvk = ? WHERE code = ?", (KVK, MUNI))
    server = kp.Server(w.data)
    broker, metadata = enable_eherkenning(w.data, server, tmp_path_factory.mktemp("eh"))
    w.server = server.start()
    yield types.SimpleNamespace(w=w, sink=sink, env=(w.data, server, broker, metadata))
    broker.close()
    sink.stop()


def mails_to(sink, address):
    """The bodies (quoted-printable decoded) of the mails to `address`."""
    out = []
    for raw in sink.messages():
        if f"X-Sink-Rcpt-To: {address}\n" in raw.replace("\r\n", "\n"):
            out.append(email.message_from_string(raw).get_payload(decode=True).decode())
    return out


def link_in(ctx, address, count=1):
    """The confirmation link of the `count`-th mail to `address`."""
    assert kp.wait_for(lambda: len(mails_to(ctx.sink, address)) >= count, timeout=30), \
        ctx.w.server.log_text()[-3000:]
    m = re.search(r"(http://\S+/eherkenning/confirm\?token=([0-9a-f]{64}))", mails_to(ctx.sink, address)[count - 1])
    assert m, mails_to(ctx.sink, address)
    return m.group(1), m.group(2)


def person_of(data, pseudonym):
    return data.sql("SELECT id FROM accounts WHERE pseudonym = ?", (pseudonym,))[0]["id"]


def test_browser_contact_confirmed_by_mail_then_notified(ctx, browser):  # noqa: F811
    from selenium.webdriver.common.by import By

    data, server, broker, _ = ctx.env
    address = "anna.eh@gemeente.test"
    browser.set_window_size(1000, 700)
    shot = functools.partial(headless.save_screenshot, browser)
    wait_for = functools.partial(headless.wait_for_id, browser)

    base = f"http://127.0.0.1:{server.http_port}"
    broker.next, broker.variant, broker.auto_submit = eh_broker.Person("pseudo-contact", KVK), None, False
    try:
        browser.get(base + "/eherkenning/login")
        wait_for("continue").click()
        wait_for("save-contact")
        assert "activated" in browser.find_element(By.ID, "message").text
        browser.find_element(By.ID, "name").send_keys("Anna de Vries")
        browser.find_element(By.ID, "email").send_keys(address)
        shot("eherkenning-7-contact.png")
        browser.find_element(By.ID, "save-contact").click()
        assert wait_for("contact-state").text == "not confirmed"
    finally:
        broker.auto_submit = True
    person = person_of(data, "pseudo-contact")
    assert data.sql("SELECT email FROM accounts WHERE id = ?", (person,))[0]["email"] is None

    # An enrichment request while the address is unconfirmed: not for this person.
    hub = Hub(ctx.w)
    case = hub.case(hub.signal(ctx.w.jansen, "j.jansen@" + MUNI))
    r = hub.kp("request", "send", "--case", case, "--question", "Graag de declaraties van mei")
    assert r.returncode == 0, r.stderr
    assert hub.receipt(os.path.join(data.path, "outgoing"), r.stdout.split()[1])["verdict"] == "accepted"
    request_name = f"request-{case}-R1.age"
    assert not data.sql("SELECT 1 FROM notifications n JOIN outbox_items o ON o.id = n.outbox_item "
                        "WHERE o.name = ? AND n.account = ?", (request_name, person))

    # The link from the mail, opened in the browser (no login needed).
    link, token = link_in(ctx, address)
    browser.get(link)
    wait_for("confirm")
    shot("eherkenning-8-confirm.png")
    browser.find_element(By.ID, "confirm").click()
    assert wait_for("contact-state").text == "confirmed"
    assert browser.find_element(By.ID, "contact-email").text == address
    shot("eherkenning-9-confirmed.png")
    browser.get(base + "/eherkenning/home")
    assert wait_for("contact-state").text == "confirmed"
    assert data.sql("SELECT email FROM accounts WHERE id = ?", (person,))[0]["email"] == address
    # Only the token's hash is stored; every step is audited, never the address.
    assert not data.sql("SELECT 1 FROM contact_confirmations WHERE hex(token_hash) = upper(?)", (token,))
    steps = [(e["event"], e["outcome"]) for e in data.audit(actor=person)]
    assert ("eherkenning.contact", "success") in steps and ("eherkenning.contact_confirmed", "success") in steps
    assert not [e for e in data.audit() if address in (e["object"] or "")]

    # A SIP now: mailed to the confirmed address; the earlier request never was.
    doc = os.path.join(data.path, "..", "rapport.pdf")
    with open(doc, "wb") as f:
        f.write(b"%PDF-1.4 " + os.urandom(64))
    r = hub.kp("sip", "publish", "--case", case, doc)
    assert r.returncode == 0, r.stderr
    sip = f"sip-{case}-S1.age"
    assert kp.wait_for(lambda: [m for m in mails_to(ctx.sink, address) if sip in m], timeout=60), \
        server.log_text()[-3000:]
    assert not [m for m in mails_to(ctx.sink, address) if request_name in m]


def test_contact_refusals_and_tokens(ctx):
    data, server, broker, _ = ctx.env
    port = server.http_port
    cookie, body = web_login(ctx.env, eh_broker.Person("pseudo-contact-2", KVK))
    person = person_of(data, "pseudo-contact-2")
    since = data.last_audit_id()

    def set_contact(name, address, with_cookie=True):
        return request(port, "POST", "/eherkenning/contact", cookie=cookie if with_cookie else None,
                       form={"csrf": csrf_of(body), "name": name, "email": address})

    def confirm(token):
        return request(port, "POST", "/eherkenning/confirm", form={"token": token})

    cases = [("Bram", "bram.gemeente.test", "email-invalid"), ("Bram", "bram@@gemeente.test", "email-invalid"),
             ("Bram", "bram@gemeente.test\r\nBcc: x@y.test", "email-invalid"),
             ("B" * 129, "bram@gemeente.test", "contact-name-too-long"),
             ("  ", "bram@gemeente.test", "contact-name-missing")]
    for name, address, reason in cases:
        status, page, _ = set_contact(name, address)
        assert status == 403 and reason_of(page) == reason, (name, address, page)
        assert 'id="message"' in page
    refused = data.audit(event="eherkenning.contact", outcome="refused", since_id=since)
    assert [(r["actor"], r["reason"]) for r in refused] == [(person, c[2]) for c in cases]
    status, page, _ = set_contact("Bram", "bram@gemeente.test", with_cookie=False)
    assert reason_of(page) == "session-missing"
    assert not data.sql("SELECT 1 FROM contacts WHERE account = ?", (person,))

    status, page, _ = set_contact("Bram", "bram@gemeente.test")
    assert status == 200 and 'id="contact-state">not confirmed<' in page, page
    _, token1 = link_in(ctx, "bram@gemeente.test")
    status, page, _ = confirm(os.urandom(32).hex())
    assert status == 403 and reason_of(page) == "contact-token-unknown", page
    status, page, _ = request(port, "GET", "/eherkenning/confirm?token=" + token1)  # no session
    assert status == 200 and 'id="confirm"' in page and token1 in page
    status, page, _ = confirm(token1)
    assert status == 200 and 'id="contact-state">confirmed<' in page, page
    status, page, _ = confirm(token1)
    assert status == 403 and reason_of(page) == "contact-token-used", page

    # A new address replaces the confirmed one at once and needs its own link.
    status, page, _ = set_contact("Bram", "bram@elders.test")
    assert status == 200
    assert data.sql("SELECT email FROM accounts WHERE id = ?", (person,))[0]["email"] is None
    _, token2 = link_in(ctx, "bram@elders.test")
    data.sql("UPDATE contact_confirmations SET expires_ms = 1 WHERE account = ? AND used_ms IS NULL", (person,))
    status, page, _ = confirm(token2)
    assert status == 403 and reason_of(page) == "contact-token-expired", page
    # Asking again sends a new link; the earlier one is superseded.
    assert set_contact("Bram", "bram@elders.test")[0] == 200
    _, token3 = link_in(ctx, "bram@elders.test", count=2)
    status, page, _ = confirm(token2)
    assert status == 403 and reason_of(page) == "contact-token-superseded", page
    assert confirm(token3)[0] == 200
    assert data.sql("SELECT email FROM accounts WHERE id = ?", (person,))[0]["email"] == "bram@elders.test"
    outcomes = [(r["outcome"], r["reason"]) for r in data.audit(event="eherkenning.contact_confirmed", since_id=since)]
    assert outcomes == [("refused", "contact-token-unknown"), ("success", None), ("refused", "contact-token-used"),
                        ("refused", "contact-token-expired"), ("refused", "contact-token-superseded"),
                        ("success", None)], outcomes

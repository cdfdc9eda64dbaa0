"""The SAML hardening of the eHerkenning login (gateway/saml_requests,
saml_sp, eherkenning_monitor) against the pysaml2 test broker:

- every Response must answer an AuthnRequest the monitor issued, for the
  browser that started it (the kp_eh_login cookie), once: an unsolicited
  (IdP-initiated) response, a response to a request we never sent, one for
  another browser's request (or without the cookie), and a second response
  to a used request are each refused with their own reason, a page and an
  `eherkenning.login` record; a replayed assertion is still `eh-replayed`;
  a Response whose assertion confirms another request is `eh-response-invalid`;
- our AuthnRequests are signed with the SP key (HTTP-Redirect: SigAlg
  RSA-SHA256 and Signature in the query), our metadata says
  AuthnRequestsSigned="true", and the broker, which wants signed requests,
  refuses an unsigned one and one with another request's signature;
- the broker encrypts every assertion to our metadata's encryption
  certificate (AES-256-CBC, the key wrapped with RSA-OAEP); it is decrypted
  with the key the monitor unwraps (every refusal of test_eherkenning.py
  runs encrypted too); one encrypted to another key is refused
  `eh-decryption-failed`; one in the clear is still accepted.
"""

import base64
import re
import urllib.error
import urllib.parse
import urllib.request
import zlib

import eh_broker
from test_eherkenning import (KVK_A, broker_answer, env, post_acs, reason_of, start_login)  # noqa: F401


def request_id(location):
    """The ID of the AuthnRequest in a broker URL (HTTP-Redirect binding)."""
    q = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)
    xml = zlib.decompress(base64.b64decode(q["SAMLRequest"][0]), -15).decode()
    return re.search(r'<samlp:AuthnRequest[^>]* ID="([^"]+)"', xml).group(1)


def refused(env, saml, cookie, reason, names_assertion=True):
    data, server = env[0], env[1]
    since = data.last_audit_id()
    status, body = post_acs(server.http_port, saml, cookie)
    assert status == 403 and reason_of(body) == reason, (reason, status, body)
    assert 'id="message"' in body
    rec = data.audit(event="eherkenning.login", since_id=since)
    assert [(r["outcome"], r["reason"]) for r in rec] == [("refused", reason)], rec
    assert rec[0]["channel"] == "http" and rec[0]["source"] == "127.0.0.1"
    if names_assertion:  # an assertion that does not decrypt has no id to name
        assert rec[0]["object"].startswith("assertion _a"), rec


def test_a_response_must_answer_our_request_for_this_browser_once(env):
    data, server, broker, _ = env
    acs = f"http://127.0.0.1:{server.http_port}/eherkenning/acs"
    person = eh_broker.Person("pseudo-bound", KVK_A)
    location_a, cookie_a = start_login(env)
    _, cookie_b = start_login(env)
    assert cookie_a != cookie_b
    # IdP-initiated: no InResponseTo at all.
    refused(env, broker.response(None, acs, person), cookie_a, "eh-unsolicited")
    # An InResponseTo we never issued.
    refused(env, broker.response("_made-up-request", acs, person), cookie_a, "eh-request-unknown")
    # The Response and its assertion's bearer confirmation answer different requests.
    refused(env, broker.response(request_id(location_a), acs, person, "irt-mismatch"), cookie_a,
            "eh-response-invalid", names_assertion=False)
    # Browser A's request, posted by browser B, or without any cookie.
    saml = broker_answer(env, location_a, person)
    refused(env, saml, cookie_b, "eh-request-other-browser")
    refused(env, saml, None, "eh-request-other-browser")
    # Those did not use it up: browser A logs in with it.
    status, body = post_acs(server.http_port, saml, cookie_a)
    assert status == 200 and "activated" in body, body
    # A second response to the same request; the same response again.
    refused(env, broker.response(request_id(location_a), acs, person), cookie_a, "eh-request-used")
    since = data.last_audit_id()
    status, body = post_acs(server.http_port, saml, cookie_a)
    assert status == 403 and reason_of(body) == "eh-replayed", body
    assert [r["reason"] for r in data.audit(event="eherkenning.login", since_id=since)] == ["eh-replayed"]
    assert len(data.sql("SELECT 1 FROM accounts WHERE pseudonym = 'pseudo-bound'")) == 1


def test_authn_requests_are_signed_and_the_broker_refuses_unsigned_ones(env):
    data, server, broker, metadata = env
    assert 'AuthnRequestsSigned="true"' in metadata
    location, _ = start_login(env)
    q = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)
    assert q["SigAlg"] == ["http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"] and q["Signature"][0]
    # The broker (pysaml2) verifies the signature against our metadata.
    assert broker.request_signed(q)
    base = location.split("?")[0]
    other_q = urllib.parse.parse_qs(urllib.parse.urlparse(start_login(env)[0]).query)
    forged = [
        {"SAMLRequest": q["SAMLRequest"][0]},                                        # unsigned
        {"SAMLRequest": q["SAMLRequest"][0], "SigAlg": q["SigAlg"][0],
         "Signature": other_q["Signature"][0]},                                     # another request's signature
    ]
    refused_before = broker.refused_requests
    for f in forged:
        try:
            urllib.request.urlopen(base + "?" + urllib.parse.urlencode(f), timeout=60)
            raise AssertionError("the broker answered a request that is not signed by us")
        except urllib.error.HTTPError as e:
            assert e.code == 403
    assert broker.refused_requests == refused_before + len(forged)


def test_encrypted_assertions_are_decrypted_with_our_key_only(env):
    data, server, broker, metadata = env
    assert '<md:KeyDescriptor use="encryption">' in metadata
    # The broker encrypts to our metadata's encryption certificate: accepted.
    location, cookie = start_login(env)
    saml = broker_answer(env, location, eh_broker.Person("pseudo-enc", KVK_A))
    xml = base64.b64decode(saml).decode()
    assert "<saml:EncryptedAssertion" in xml and "<saml:Assertion" not in xml and "pseudo-enc" not in xml
    assert "xmlenc#rsa-oaep-mgf1p" in xml and "xmlenc#aes256-cbc" in xml
    status, body = post_acs(server.http_port, saml, cookie)
    assert status == 200 and "activated" in body, body
    # Encrypted to another key: refused with its own reason, audited.
    location, cookie = start_login(env)
    refused(env, broker_answer(env, location, eh_broker.Person("pseudo-enc2", KVK_A), "other-enc-key"), cookie,
            "eh-decryption-failed", names_assertion=False)
    assert not data.sql("SELECT 1 FROM accounts WHERE pseudonym = 'pseudo-enc2'")
    # An assertion in the clear is still accepted (signed, as ever).
    broker.encrypt = False
    try:
        location, cookie = start_login(env)
        saml = broker_answer(env, location, eh_broker.Person("pseudo-plain", KVK_A))
        assert "<saml:Assertion" in base64.b64decode(saml).decode()
        status, body = post_acs(server.http_port, saml, cookie)
        assert status == 200, body
    finally:
        broker.encrypt = True

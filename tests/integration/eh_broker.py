"""A test eHerkenning broker (herkenningsmakelaar): a real SAML 2.0 identity
provider on loopback, built on Debian's python3-pysaml2 (and xmlsec1).

- its own RSA key and self-signed certificate, made with openssl, and a
  second pair ("other") to sign forged responses with;
- its metadata written by pysaml2 from its configuration;
- GET /sso?SAMLRequest=...&SigAlg=...&Signature=... (HTTP-Redirect binding):
  the broker requires signed AuthnRequests (WantAuthnRequestsSigned in its
  metadata) and verifies the query's signature against the signing
  certificate in our SP metadata with pysaml2's verify_redirect_signature
  (pysaml2 7.0's want_authn_requests_signed checks only enveloped XML
  signatures, which the Redirect binding does not carry); unsigned or
  wrongly signed: HTTP 403 and no Response. Then pysaml2 parses and checks
  our AuthnRequest against our SP metadata, and answers with the
  auto-posting HTML form of the HTTP-POST binding, carrying a Response for
  the person `self.next` describes (level, organisation, pseudonym, chain
  mandate) -- or for the variant a refusal test asks for (other key,
  altered, wrong audience, expired);
- the signed Assertion is encrypted to the encryption certificate in our SP
  metadata (xmlsec1, as pysaml2's encrypt_assertion runs it: AES-256-CBC,
  the key wrapped with RSA-OAEP), as eHerkenning brokers do; `encrypt =
  False` sends it in the clear, the variant "other-enc-key" encrypts it to
  another certificate;
- every Response and its Assertion are signed by pysaml2's sign_statement
  (xmlsec1), exactly as pysaml2's own IdP signs them. The assertion is
  written from a template because eHerkenning's attributes carry NameID
  values with a NameQualifier, which pysaml2's attribute converters do not
  produce.
"""

import base64
import html
import http.server
import os
import re
import subprocess
import threading
import time
import urllib.parse
import uuid

import saml2
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor
from saml2.server import Server
from saml2.sigver import pre_signature_part, verify_redirect_signature

ASSERTION = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"
RESPONSE = "urn:oasis:names:tc:SAML:2.0:protocol:Response"
KVK_Q = "urn:etoegang:1.9:EntityConcernedID:KvKnr"
RSIN_Q = "urn:etoegang:1.9:EntityConcernedID:RSIN"


def keypair(directory, name):
    key, cert = os.path.join(directory, name + ".key"), os.path.join(directory, name + ".crt")
    if not os.path.exists(cert):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                        "-subj", "/CN=" + name, "-keyout", key, "-out", cert],
                       check=True, capture_output=True)
    return key, cert


def cert_b64(cert_path):
    text = open(cert_path).read()
    return "".join(l for l in text.splitlines() if "-----" not in l)


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class Person:
    """What the broker asserts at the next login."""

    def __init__(self, pseudonym, org, qualifier=KVK_Q, level="loa3", intermediary=None):
        self.pseudonym, self.org, self.qualifier = pseudonym, org, qualifier
        self.level, self.intermediary = level, intermediary


class Broker:
    def __init__(self, directory, sp_metadata_path):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.key, self.cert = keypair(directory, "broker")
        self.other_key, self.other_cert = keypair(directory, "other")
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.entity_id = self.base + "/broker"
        conf = IdPConfig()
        conf.load({
            "entityid": self.entity_id,
            "service": {"idp": {"endpoints": {"single_sign_on_service": [(self.base + "/sso", BINDING_HTTP_REDIRECT)]},
                                "want_authn_requests_signed": True}},
            "key_file": self.key, "cert_file": self.cert,
            "metadata": {"local": [sp_metadata_path]},
            "xmlsec_binary": "/usr/bin/xmlsec1",
        })
        self.server = Server(config=conf)
        self.metadata_path = os.path.join(directory, "broker-metadata.xml")
        with open(self.metadata_path, "w") as f:
            f.write(str(entity_descriptor(conf)))
        self.sp_entity_id = next(iter(self.server.metadata.keys()))
        # Checked below on the query (verify_redirect_signature), not by
        # pysaml2's parser, which would look for an enveloped signature.
        self.server.config.setattr("idp", "want_authn_requests_signed", False)
        self.refused_requests = 0  # unsigned or wrongly signed AuthnRequests
        self.next = None
        self.variant = None      # None, "other-key", "altered", "wrong-audience", "expired", "other-enc-key",
        #                          "irt-mismatch"
        self.encrypt = True      # encrypt the assertion to our SP's encryption certificate
        self.requests = []       # parsed AuthnRequests (pysaml2 objects)
        self.last_response = None  # base64, as posted
        self.auto_submit = True  # False: the page waits for its Continue button (screenshots)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- the Response
    def response(self, req_id, acs_url, person, variant=None):
        """A signed Response for `person`, answering AuthnRequest `req_id`
        (None: unsolicited, IdP-initiated, without InResponseTo)."""
        now = time.time()
        in_response_to = f' InResponseTo="{req_id}"' if req_id else ""
        # "irt-mismatch": the bearer confirmation answers another request than the Response.
        confirms = ' InResponseTo="_another-request"' if variant == "irt-mismatch" else in_response_to
        aid, rid = "_a" + uuid.uuid4().hex, "_r" + uuid.uuid4().hex
        audience = "https://elsewhere.example/sp" if variant == "wrong-audience" else self.sp_entity_id
        not_before, not_after = (now - 3600, now - 1800) if variant == "expired" else (now - 60, now + 300)
        key, cert = (self.other_key, self.other_cert) if variant == "other-key" else (self.key, self.cert)

        def value(name, text, qualifier):
            return (f'<saml:Attribute Name="{name}"><saml:AttributeValue>'
                    f'<saml:NameID NameQualifier="{qualifier}">{html.escape(text)}</saml:NameID>'
                    f'</saml:AttributeValue></saml:Attribute>')

        attrs = value("urn:etoegang:core:LegalSubjectID", person.org, person.qualifier)
        attrs += value("urn:etoegang:core:ActingSubjectID", person.pseudonym,
                       "urn:etoegang:EB:" + self.entity_id)
        if person.intermediary:
            attrs += value("urn:etoegang:1.9:IntermediateEntityID:KvKnr", person.intermediary, KVK_Q)
        sig = lambda ident: str(pre_signature_part(ident, public_key=cert_b64(cert)))  # noqa: E731
        assertion = (
            f'<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{aid}" Version="2.0" '
            f'IssueInstant="{iso(now)}"><saml:Issuer>{self.entity_id}</saml:Issuer>{sig(aid)}'
            f'<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient">'
            f'{uuid.uuid4().hex}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
            f'<saml:SubjectConfirmationData{confirms} NotOnOrAfter="{iso(not_after)}" '
            f'Recipient="{acs_url}"/></saml:SubjectConfirmation></saml:Subject>'
            f'<saml:Conditions NotBefore="{iso(not_before)}" NotOnOrAfter="{iso(not_after)}">'
            f'<saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction>'
            f'</saml:Conditions><saml:AuthnStatement AuthnInstant="{iso(now)}"><saml:AuthnContext>'
            f'<saml:AuthnContextClassRef>urn:etoegang:core:assurance-class:{person.level}</saml:AuthnContextClassRef>'
            f'</saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement>{attrs}</saml:AttributeStatement>'
            f'</saml:Assertion>')
        signed_assertion = self.server.sec.sign_statement(assertion, ASSERTION, key_file=key, node_id=aid)
        signed_assertion = re.sub(r"^<\?xml[^>]*\?>\s*", "", signed_assertion)
        if variant == "altered":  # after signing: another organisation
            signed_assertion = signed_assertion.replace(f">{html.escape(person.org)}</saml:NameID>",
                                                        ">99999999</saml:NameID>", 1)
        if self.encrypt or variant == "other-enc-key":
            signed_assertion = self.encrypted(signed_assertion, self.other_cert if variant == "other-enc-key"
                                              else self.sp_encryption_cert())
        resp = (
            f'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
            f'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{rid}" Version="2.0" '
            f'IssueInstant="{iso(now)}" Destination="{acs_url}"{in_response_to}>'
            f'<saml:Issuer>{self.entity_id}</saml:Issuer>{sig(rid)}'
            f'<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>'
            f'{signed_assertion}</samlp:Response>')
        signed = self.server.sec.sign_statement(resp, RESPONSE, key_file=key, node_id=rid)
        return base64.b64encode(signed.encode()).decode()

    def request_signed(self, query):
        """True when the HTTP-Redirect query carries a valid RSA-SHA256
        signature by a signing key in our SP metadata."""
        msg = {k: v[0] for k, v in query.items()}
        if msg.get("SigAlg") != "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" or "Signature" not in msg:
            return False
        for cert in self.server.metadata.certs(self.sp_entity_id, "spsso", "signing"):
            try:
                if verify_redirect_signature(msg, self.server.sec.sec_backend, cert=cert):
                    return True
            except Exception:
                pass
        return False

    def sp_encryption_cert(self):
        """Our SP's encryption certificate (PEM file), from our metadata."""
        path = os.path.join(self.dir, "sp-encryption.crt")
        if not os.path.exists(path):
            b64 = self.server.metadata.certs(self.sp_entity_id, "spsso", "encryption")[0]
            b64 = "".join(l for l in b64.splitlines() if "-----" not in l)
            lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
            with open(path, "w") as f:
                f.write("-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n")
        return path

    def encrypted(self, assertion, cert):
        """<saml:EncryptedAssertion> holding `assertion` encrypted to `cert`."""
        data = os.path.join(self.dir, "enc-data-%s.xml" % uuid.uuid4().hex)
        template = os.path.join(self.dir, "enc-template.xml")
        with open(data, "w") as f:
            f.write(f'<saml:EncryptedAssertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">{assertion}'
                    f'</saml:EncryptedAssertion>')
        with open(template, "w") as f:
            f.write('<xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" '
                    'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Type="http://www.w3.org/2001/04/xmlenc#Element">'
                    '<xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes256-cbc"/>'
                    '<ds:KeyInfo><xenc:EncryptedKey><xenc:EncryptionMethod '
                    'Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"/>'
                    '<xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>'
                    '<xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedData>')
        try:
            out = subprocess.run(["xmlsec1", "--encrypt", "--pubkey-cert-pem", cert, "--session-key", "aes-256",
                                  "--xml-data", data, "--node-xpath", "//*[local-name()='Assertion']", template],
                                 check=True, capture_output=True).stdout.decode()
        finally:
            os.unlink(data)
        return re.sub(r"^<\?xml[^>]*\?>\s*", "", out)

    # -- HTTP
    def _onload(self):
        return ' onload="document.forms[0].submit()"' if self.auto_submit else ""

    def _handler(self):
        broker = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                url = urllib.parse.urlparse(self.path)
                q = urllib.parse.parse_qs(url.query)
                if url.path != "/sso" or "SAMLRequest" not in q:
                    self.send_error(404)
                    return
                if not broker.request_signed(q):
                    broker.refused_requests += 1
                    self.send_error(403, "AuthnRequest not signed by the SP")
                    return
                req = broker.server.parse_authn_request(q["SAMLRequest"][0], BINDING_HTTP_REDIRECT)
                broker.requests.append(req.message)
                acs = req.message.assertion_consumer_service_url
                b64 = broker.response(req.message.id, acs, broker.next, broker.variant)
                broker.last_response = b64
                body = (f'<!DOCTYPE html><html><head><title>eHerkenning test broker</title></head>'
                        f'<body{broker._onload()}><h1>eHerkenning test broker</h1>'
                        f'<p id="who">{html.escape(broker.next.pseudonym)} for {broker.next.org} '
                        f'({broker.next.level})</p>'
                        f'<form method="post" action="{html.escape(acs)}">'
                        f'<input type="hidden" name="SAMLResponse" value="{b64}"/>'
                        f'<input type="submit" id="continue" value="Continue"/></form></body></html>').encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

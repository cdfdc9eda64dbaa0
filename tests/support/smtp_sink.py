#!/usr/bin/python3
"""A real SMTP server on loopback for tests: every message it accepts becomes
one file in a folder, so a test can check exactly what was mailed.

Usage (Debian's python3-aiosmtpd, run with /usr/bin/python3):

    /usr/bin/python3 tests/support/smtp_sink.py --dir DIR [--port PORT]
        [--port-file FILE] [--starttls CERT KEY] [--fail-first N]
        [--reject-rcpt ADDRESS]

  --dir DIR          folder for the messages (created if missing)
  --port PORT        port on 127.0.0.1 (default 0 = any free port)
  --port-file FILE   written (atomically) with the bound port once the
                     server accepts connections; poll for it to start a test
  --starttls C K     offer STARTTLS with certificate C and key K (PEM); the
                     server still accepts plaintext, so the client must insist
  --fail-first N     answer "451" to the first N messages (DATA), to test retries
  --reject-rcpt A    answer "550" to RCPT TO:<A> (a permanent refusal)

Each accepted message is written as DIR/NNNN.eml (0001, 0002, ...) via a
temporary name and a rename, so a file that exists is complete. It holds
three lines the sink adds, then the message exactly as received:

    X-Sink-Mail-From: <envelope sender>
    X-Sink-Rcpt-To: <envelope recipients, comma-separated>
    X-Sink-TLS: yes|no        (whether the session had done STARTTLS)

Every MAIL command (also refused ones) is appended to DIR/envelopes.log as
"MAIL tls=yes|no", so a test can prove that no plaintext transaction began.

Stop it with SIGTERM (or SIGINT). In pytest:

    sink = subprocess.Popen(["/usr/bin/python3", SMTP_SINK, "--dir", d,
                             "--port-file", pf])
    ... wait for pf ...; smtp_port = int(open(pf).read())
    ...; sink.terminate(); sink.wait()
"""
import argparse
import asyncio
import logging
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, folder, fail_first, reject_rcpt):
        self.folder = folder
        self.fail_left = fail_first
        self.reject_rcpt = reject_rcpt
        self.count = 0

    def _log(self, line):
        with open(os.path.join(self.folder, "envelopes.log"), "a") as f:
            f.write(line + "\n")

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self._log("MAIL tls=" + ("yes" if session.ssl is not None else "no"))
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.reject_rcpt:
            return "550 5.1.1 sink: no such user"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.fail_left > 0:
            self.fail_left -= 1
            return "451 4.3.0 sink: try again later"
        self.count += 1
        head = (
            "X-Sink-Mail-From: %s\r\nX-Sink-Rcpt-To: %s\r\nX-Sink-TLS: %s\r\n"
            % (envelope.mail_from, ",".join(envelope.rcpt_tos),
               "yes" if session.ssl is not None else "no"))
        final = os.path.join(self.folder, "%04d.eml" % self.count)
        tmp = final + ".tmp"
        with open(tmp, "wb") as f:
            f.write(head.encode() + envelope.original_content)
        os.rename(tmp, final)
        return "250 OK"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dir", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--reject-rcpt")
    a = p.parse_args()
    os.makedirs(a.dir, exist_ok=True)

    tls = None
    if a.starttls:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(a.starttls[0], a.starttls[1])

    # aiosmtpd logs a traceback for every failed TLS handshake; the tests
    # provoke those on purpose.
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    handler = Sink(a.dir, a.fail_first, a.reject_rcpt)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(
        lambda: SMTP(handler, tls_context=tls, hostname="sink.test", loop=loop),
        host="127.0.0.1", port=a.port))
    port = server.sockets[0].getsockname()[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, a.port_file)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    print("smtp_sink listening on 127.0.0.1:%d" % port, file=sys.stderr, flush=True)
    loop.run_forever()
    server.close()
    loop.run_until_complete(server.wait_closed())


if __name__ == "__main__":
    main()

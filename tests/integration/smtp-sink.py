#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""An SMTP sink for tests, on aiosmtpd (Debian: python3-aiosmtpd).

    smtp-sink.py MAILDIR [--starttls CERT KEY]

Listens on 127.0.0.1 on a port the kernel picks, prints that port on
stdout once it accepts connections, and stores each message in MAILDIR/new
exactly as received (CRLF, dots unstuffed), after three lines recording the
envelope and the session: X-Sink-Mail-From, X-Sink-Rcpt-To and X-Sink-TLS
(the TLS version, or "none"). Runs until killed.
It never prints a message: they hold tokens.

With --starttls the sink offers STARTTLS with that certificate chain and
key (PEM) and requires it before any mail command, as a relay that takes
mail only over TLS does.
"""

import asyncio
import logging
import os
import socket
import ssl
import sys

from aiosmtpd.smtp import SMTP


def tls_object(server, session):
    """The session's ssl object after STARTTLS, or None."""
    info = getattr(session, "ssl", None)
    if isinstance(info, dict) and info.get("ssl_object"):
        return info["ssl_object"]
    transport = getattr(server, "transport", None)
    return transport.get_extra_info("ssl_object") if transport else None


class MaildirSink:
    def __init__(self, maildir):
        self.maildir = maildir
        self.count = 0
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(maildir, sub), mode=0o700, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = "%d.%d.sink" % (os.getpid(), self.count)
        tmp = os.path.join(self.maildir, "tmp", name)
        tls = tls_object(server, session)
        head = "X-Sink-Mail-From: %s\r\nX-Sink-Rcpt-To: %s\r\nX-Sink-TLS: %s\r\n" % (
            envelope.mail_from, ",".join(envelope.rcpt_tos), tls.version() if tls else "none")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(head.encode("utf-8", "surrogateescape"))
            f.write(envelope.original_content)
        # Maildir: written in tmp/, then moved, so a reader never sees half.
        os.rename(tmp, os.path.join(self.maildir, "new", name))
        return "250 OK"


async def serve(maildir, tls_context):
    handler = MaildirSink(maildir)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(handler, hostname="sink.test", enable_SMTPUTF8=True,
                     tls_context=tls_context, require_starttls=tls_context is not None),
        sock=sock)
    print(sock.getsockname()[1], flush=True)
    await server.serve_forever()


def main():
    # aiosmtpd logs what clients send that it does not understand: noise
    # in test output, and possibly message text.
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    # The client's failed handshakes (the tests make some) are no news.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    tls_context = None
    if len(sys.argv) == 5 and sys.argv[2] == "--starttls":
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(sys.argv[3], sys.argv[4])
    elif len(sys.argv) != 2:
        print("usage: smtp-sink.py MAILDIR [--starttls CERT KEY]", file=sys.stderr)
        return 2
    asyncio.run(serve(sys.argv[1], tls_context))
    return 0


if __name__ == "__main__":
    sys.exit(main())

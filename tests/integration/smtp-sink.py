#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""An SMTP sink for tests, on aiosmtpd (Debian: python3-aiosmtpd).

    smtp-sink.py MAILDIR

Listens on 127.0.0.1 on a port the kernel picks, prints that port on
stdout once it accepts connections, and stores each message in MAILDIR/new
exactly as received (CRLF, dots unstuffed), after two lines recording the
envelope: X-Sink-Mail-From and X-Sink-Rcpt-To. Runs until killed.
It never prints a message: they hold tokens.
"""

import asyncio
import logging
import os
import socket
import sys

from aiosmtpd.smtp import SMTP


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
        head = "X-Sink-Mail-From: %s\r\nX-Sink-Rcpt-To: %s\r\n" % (
            envelope.mail_from, ",".join(envelope.rcpt_tos))
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(head.encode("utf-8", "surrogateescape"))
            f.write(envelope.original_content)
        # Maildir: written in tmp/, then moved, so a reader never sees half.
        os.rename(tmp, os.path.join(self.maildir, "new", name))
        return "250 OK"


async def serve(maildir):
    handler = MaildirSink(maildir)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(handler, hostname="sink.test", enable_SMTPUTF8=True), sock=sock)
    print(sock.getsockname()[1], flush=True)
    await server.serve_forever()


def main():
    # aiosmtpd logs what clients send that it does not understand: noise
    # in test output, and possibly message text.
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    if len(sys.argv) != 2:
        print("usage: smtp-sink.py MAILDIR", file=sys.stderr)
        return 2
    asyncio.run(serve(sys.argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

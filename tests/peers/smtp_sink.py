#!/usr/bin/python3
"""A local SMTP server standing in for Plico's smarthost in tests: aiosmtpd (Debian
python3-aiosmtpd) with STARTTLS required and AUTH PLAIN/LOGIN required after it.

Each accepted message is written to OUT/<n>.eml (the bytes as received) with OUT/<n>.json
beside it: the envelope, the authenticated user and whether TLS was on. Written to a
temporary name and renamed, so a reader never sees half a message.

Recipients choose their fate by local part: `reject…` gets 550 5.1.1, `later…` gets 451 4.3.0,
anything else is accepted. Prints `ready <port>` once it listens.
"""
import argparse
import json
import os
import signal
import socket
import ssl
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, out):
        self.out = out
        self.count = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 <%s>: no such user here" % address
        if local.startswith("later"):
            # Real servers name the recipient in their replies; logs must not repeat it.
            return "451 4.3.0 <%s>: mailbox busy, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            name = "%06d" % self.count
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "user": session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None,
            "tls": session.ssl is not None,
        }
        for suffix, data in ((".eml", envelope.original_content), (".json", json.dumps(meta).encode())):
            temporary = os.path.join(self.out, "." + name + suffix)
            with open(temporary, "wb") as f:
                f.write(data)
            os.rename(temporary, os.path.join(self.out, name + suffix))
        return "250 2.0.0 Queued as %s" % name


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == args.user
            and auth_data.password.decode() == args.password
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    controller = Controller(
        Sink(args.out),
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        auth_required=True,
        auth_require_tls=True,
        ready_timeout=20,
    )
    controller.start()
    print("ready %d" % port, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A real SMTP server for the letter tests: aiosmtpd on 127.0.0.1, each accepted message
written to its own file in a directory before the 250 reply goes out (so a file exists for
every letter the sender was told was accepted).

Rules make it misbehave like real servers do, given as JSON in --rules:
  {"reject": {"bob@": [550, "5.1.1 no such user"]},      # permanent, for addresses containing the key
   "tempfail": {"carol@": 2},                             # 451 for the first N attempts of these
   "refuse_all": [421, "4.3.2 try later"],                # every message, until the file --open exists
   "delay_ms": 0}                                         # before answering each DATA

With --tls implicit (TLS from the first byte) or --tls starttls (STARTTLS required before
MAIL), --cert and --key name the server's certificate and key (PEM).

Prints "listening on PORT" once it accepts connections.
"""

import argparse
import asyncio
import json
import os
import ssl
import sys
import tempfile

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory, rules, open_flag):
        self.directory = directory
        self.rules = rules
        self.open_flag = open_flag
        self.attempts = {}
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        for key, (code, text) in self.rules.get("reject", {}).items():
            if key in address:
                return f"{code} {text}"
        for key, times in self.rules.get("tempfail", {}).items():
            if key in address:
                seen = self.attempts.get(address, 0)
                self.attempts[address] = seen + 1
                if seen < times:
                    return "451 4.7.1 greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        refuse = self.rules.get("refuse_all")
        if refuse and not (self.open_flag and os.path.exists(self.open_flag)):
            return f"{refuse[0]} {refuse[1]}"
        delay = self.rules.get("delay_ms", 0)
        if delay:
            await asyncio.sleep(delay / 1000)
        self.count += 1
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".incoming-")
        with os.fdopen(fd, "wb") as f:
            f.write(f"X-Sink-Envelope-To: {','.join(envelope.rcpt_tos)}\r\n".encode())
            f.write(envelope.original_content or envelope.content)
            f.flush()
        name = os.path.join(self.directory, f"{os.getpid()}-{self.count:07d}.eml")
        os.rename(tmp, name)
        return f"250 2.0.0 queued as {os.path.basename(name)}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rules", default="{}")
    parser.add_argument("--open", default=None, help="refuse_all stops once this file exists")
    parser.add_argument("--tls", choices=["implicit", "starttls"], default=None)
    parser.add_argument("--cert", default=None)
    parser.add_argument("--key", default=None)
    parser.add_argument("--auth", default=None, help="USER:PASSWORD the server requires")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    handler = Sink(args.dir, json.loads(args.rules), args.open)
    server_kwargs = {"data_size_limit": 10 * 1024 * 1024}
    extra = {}
    if args.tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
        if args.tls == "implicit":
            extra["ssl_context"] = context
        else:
            server_kwargs["tls_context"] = context
            server_kwargs["require_starttls"] = True
    if args.auth:
        from aiosmtpd.smtp import AuthResult

        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (
                auth_data is not None
                and getattr(auth_data, "login", None) == user.encode()
                and getattr(auth_data, "password", None) == password.encode()
            )
            return AuthResult(success=ok, handled=False)

        server_kwargs["authenticator"] = authenticator
        server_kwargs["auth_required"] = True
        server_kwargs["auth_require_tls"] = False
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=args.port,
        server_kwargs=server_kwargs,
        decode_data=False,
        **extra,
    )
    controller.start()
    print(f"listening on {args.port}", flush=True)
    try:
        asyncio.run(asyncio.Event().wait())
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The demo's local mail catcher: a tiny SMTP server on the loopback address that keeps every message in a folder.

`scripts/start.sh` starts it (`flask --app wsgi monitor mail-catcher`) and points the alerts' SMTP settings at
it, so the demo's alert e-mails are really sent, over SMTP, and can be read on the inspectors' demo page
(monitor/web/demo_mail.py) without a mail server. Nothing leaves the machine: it listens on 127.0.0.1 only
and relays nothing. One file per message (`<received>-<n>.eml`), written whole then renamed, so the page
never reads half a message.
"""
from __future__ import annotations

import itertools
import os
import socketserver
import threading
from datetime import datetime, timezone
from email import policy
from email.parser import BytesParser
from pathlib import Path

from flask_babel import gettext as _

from registry.errors import UserError

LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_MESSAGE = 5 * 1024 * 1024  # an alert is a few kilobytes; anything bigger is refused, not stored
_counter = itertools.count(1)


class MailCatcherError(UserError):
    """The catcher cannot start (an address that is not this machine's); .message is Vietnamese."""


def store(folder: Path, data: bytes, now: datetime | None = None) -> Path:
    """Write one received message into the folder; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%S%f")
    path = folder / f"{stamp}-{os.getpid()}-{next(_counter)}.eml"
    partial = path.with_suffix(".part")
    partial.write_bytes(data)
    partial.replace(path)
    return path


def read_messages(folder: Path, limit: int = 100) -> list[dict]:
    """The caught messages, newest first: name, from, to, subject, date and the text body."""
    if not folder.is_dir():
        return []
    paths = sorted(folder.glob("*.eml"), reverse=True)[:limit]
    messages = []
    for path in paths:
        message = BytesParser(policy=policy.default).parse(path.open("rb"))
        body = message.get_body(preferencelist=("plain",))
        messages.append({
            "name": path.stem, "from": str(message["From"] or ""), "to": str(message["To"] or ""),
            "subject": str(message["Subject"] or ""), "date": str(message["Date"] or ""),
            "body": body.get_content() if body is not None else "",
        })
    return messages


class _Session(socketserver.StreamRequestHandler):
    """One SMTP conversation (RFC 5321's minimum: HELO/EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT)."""

    timeout = 60

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode("ascii") + b"\r\n")

    def handle(self) -> None:
        self.reply("220 mail-catcher ready")
        sender, recipients = None, []
        while True:
            line = self.rfile.readline(4096)
            if not line:
                return
            verb = line.decode("latin-1").strip().split(" ", 1)[0].upper()
            if verb in ("HELO", "EHLO"):
                self.reply("250 mail-catcher")
            elif verb == "MAIL":
                sender, recipients = line, []
                self.reply("250 OK")
            elif verb == "RCPT":
                if sender is None:
                    self.reply("503 MAIL first")
                    continue
                recipients.append(line)
                self.reply("250 OK")
            elif verb == "DATA":
                if not recipients:
                    self.reply("503 RCPT first")
                    continue
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                data = self._read_data()
                if data is None:
                    self.reply("552 Message too large")
                else:
                    store(self.server.folder, data)
                    self.reply("250 OK: caught")
                sender, recipients = None, []
            elif verb == "RSET":
                sender, recipients = None, []
                self.reply("250 OK")
            elif verb == "NOOP":
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Command not implemented")

    def _read_data(self) -> bytes | None:
        """The message up to the lone dot, dot-unstuffed; None when it grew past MAX_MESSAGE."""
        lines, size = [], 0
        while True:
            line = self.rfile.readline(65536)
            if not line or line in (b".\r\n", b".\n"):
                break
            size += len(line)
            if size <= MAX_MESSAGE:
                lines.append(line[1:] if line.startswith(b"..") else line)
        return None if size > MAX_MESSAGE else b"".join(lines)


class MailCatcher(socketserver.ThreadingTCPServer):
    """An SMTP server on host:port (loopback only) storing each message into `folder`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int, folder: Path):
        if host not in LOOPBACK:
            raise MailCatcherError(_("Hộp thư trình diễn chỉ nghe trên máy này (127.0.0.1), không nghe trên “%(host)s”.",
                                     host=host), field="SMTP_HOST")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        super().__init__(("127.0.0.1" if host == "localhost" else host, port), _Session)


def serve(host: str, port: int, folder: Path, stop: threading.Event) -> None:
    """Serve until `stop` is set."""
    with MailCatcher(host, port, folder) as server:
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        thread.start()
        stop.wait()
        server.shutdown()

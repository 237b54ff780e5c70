"""E-mail over SMTP (the standard library's smtplib). EVERYMETRE_SMTP_URL says where:
smtp://host:port (plain), smtp+starttls://user:pass@host:port (STARTTLS), smtps://user:pass@host:port (TLS)."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import unquote, urlsplit

from everymetre.store.types import utcnow


class SmtpUrlError(ValueError):
    pass


@dataclass(frozen=True)
class SmtpTarget:
    scheme: str
    host: str
    port: int
    user: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpTarget:
    u = urlsplit(url)
    if u.scheme not in ("smtp", "smtps", "smtp+starttls") or not u.hostname:
        raise SmtpUrlError(f"EVERYMETRE_SMTP_URL={url!r}: expected smtp://host:port or smtps://user:pass@host:port")
    default = 465 if u.scheme == "smtps" else 587 if u.scheme == "smtp+starttls" else 25
    return SmtpTarget(u.scheme, u.hostname, u.port or default, unquote(u.username) if u.username else None,
                      unquote(u.password) if u.password else None)


def build_message(sender: str, to: str, subject: str, body: str, message_id: str, language: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Message-ID"] = message_id
    msg["Date"] = format_datetime(utcnow())
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body)
    msg["Content-Language"] = language  # after set_content, which replaces the Content-* headers
    return msg


class Mailer:
    """One SMTP connection, opened on first use and kept for the worker's batch."""

    def __init__(self, url: str, sender: str, timeout: float = 30.0) -> None:
        self.target, self.sender, self.timeout = parse_smtp_url(url), sender, timeout
        self._conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        t = self.target
        conn: smtplib.SMTP
        if t.scheme == "smtps":
            conn = smtplib.SMTP_SSL(t.host, t.port, timeout=self.timeout, context=ssl.create_default_context())
        else:
            conn = smtplib.SMTP(t.host, t.port, timeout=self.timeout)
            if t.scheme == "smtp+starttls":
                conn.starttls(context=ssl.create_default_context())
        if t.user:
            conn.login(t.user, t.password or "")
        return conn

    def send(self, msg: EmailMessage) -> None:
        """Raises smtplib.SMTPException / OSError; a 5xx refusal of the recipient is permanent."""
        if self._conn is None:
            self._conn = self._connect()
        try:
            self._conn.send_message(msg)
        except (smtplib.SMTPServerDisconnected, OSError):
            self.close()
            raise

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._conn = None

"""MailSender over SMTP with aiosmtplib: one connection per message.

SMTP_URL forms: `smtp://[user:pass@]host[:25]` (plain), `smtp+starttls://…[:587]` (STARTTLS required),
`smtps://…[:465]` (TLS from the first byte). A 5xx reply is permanent (the server refuses this
message or recipient for good); 4xx replies, timeouts and connection failures are transient.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import unquote, urlsplit

import aiosmtplib

from booking_core.tickets.senders import PermanentDeliveryError, TransientDeliveryError

DEFAULT_TIMEOUT_SECONDS = 30.0
_DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


@dataclass(frozen=True)
class SmtpEndpoint:
    """Where and how to connect, parsed from SMTP_URL."""

    host: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool


def parse_smtp_url(smtp_url: str) -> SmtpEndpoint:
    """Parse smtp://, smtp+starttls:// or smtps:// URLs; raises ValueError on anything else."""
    parts = urlsplit(smtp_url)
    if parts.scheme not in _DEFAULT_PORTS:
        raise ValueError("SMTP_URL must start with smtp://, smtp+starttls:// or smtps://")
    if not parts.hostname:
        raise ValueError("SMTP_URL has no host")
    return SmtpEndpoint(
        host=parts.hostname,
        port=parts.port or _DEFAULT_PORTS[parts.scheme],
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=parts.scheme == "smtps",
        start_tls=parts.scheme == "smtp+starttls",
    )


class SmtpMailSender:
    """Sends email through the SMTP server at `smtp_url`."""

    def __init__(self, smtp_url: str, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self._endpoint = parse_smtp_url(smtp_url)
        self._timeout = timeout

    async def send(self, message: EmailMessage) -> str:
        """Deliver `message` to the server and return its Message-ID (added when missing)."""
        if message["Message-ID"] is None:
            message["Message-ID"] = make_msgid(domain="marquee.invalid")
        endpoint = self._endpoint
        try:
            await aiosmtplib.send(
                message,
                hostname=endpoint.host,
                port=endpoint.port,
                username=endpoint.username,
                password=endpoint.password,
                use_tls=endpoint.use_tls,
                start_tls=endpoint.start_tls,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            # Every recipient refused: permanent only when each refusal is.
            codes = [refusal.code for refusal in exc.recipients]
            temporary = [code for code in codes if not 500 <= code < 600]
            detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            raise _by_reply_code(temporary[0] if temporary else codes[0], detail) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise _by_reply_code(exc.code, exc.message) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise TransientDeliveryError("smtp-connection", str(exc) or type(exc).__name__) from exc
        return str(message["Message-ID"])


def _by_reply_code(code: int, detail: str) -> PermanentDeliveryError | TransientDeliveryError:
    if 500 <= code < 600:
        return PermanentDeliveryError(f"smtp-{code}", detail)
    return TransientDeliveryError(f"smtp-{code}", detail)

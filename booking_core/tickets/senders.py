"""Ports for sending tickets out (SMS, email), their errors, and the SMS status order.

The adapters in `adapters/` implement the senders with the vendors' libraries. Every failure they
report is a DeliveryError that says whether trying again can help: outbox workers retry a
TransientDeliveryError with backoff and give up at once on a PermanentDeliveryError.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import ClassVar, Protocol


@dataclass(frozen=True)
class SentMessage:
    """The provider's answer to an accepted SMS: its message id and first status (e.g. "queued")."""

    message_id: str
    status: str


class DeliveryError(Exception):
    """A message could not be handed to its provider; `code` is the provider's error code or a short name."""

    permanent: ClassVar[bool] = False

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


class TransientDeliveryError(DeliveryError):
    """Worth retrying later: the provider was unreachable, slow, rate-limiting or failing on its side."""

    permanent = False


class PermanentDeliveryError(DeliveryError):
    """Retrying cannot help: the provider refused this message (bad number, unknown mailbox, bad account)."""

    permanent = True


class SmsSender(Protocol):
    """Sends one text message."""

    async def send(self, to: str, body: str, status_callback_url: str | None) -> SentMessage:
        """Hand the SMS to the provider; raises a DeliveryError when it is not accepted."""
        ...


class MailSender(Protocol):
    """Sends one email."""

    async def send(self, message: EmailMessage) -> str:
        """Hand the email to the mail server and return its Message-ID; raises a DeliveryError."""
        ...


# Twilio's message statuses in the order they happen. Callbacks may repeat and arrive out of
# order, so a stored status is only ever replaced by a later one.
_STATUS_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "canceled": 3,
    "read": 4,
}
# Delivered may still become read; these never change again.
_FINAL_STATUSES = frozenset({"undelivered", "failed", "canceled", "read"})


def status_moves_forward(old: str | None, new: str) -> bool:
    """True when an SMS status `new` may replace the stored `old` (None or a non-Twilio status: anything)."""
    if new not in _STATUS_RANK:
        return False
    if old not in _STATUS_RANK:
        return True
    if old in _FINAL_STATUSES:
        return False
    return _STATUS_RANK[new] > _STATUS_RANK[old]

"""What an actor works with: the collaborators the worker process opened at start-up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

import dramatiq
import redis.asyncio as aioredis
import telegram

from booking_core.batches import Batches
from booking_core.bookings.service import Bookings
from booking_core.database import SessionFactory
from booking_core.holds.store import HoldStore
from booking_core.payments.inbox import StoredPaymentEvent, stored_payment_events
from booking_core.payments.port import PaymentProvider
from booking_core.settings import Settings
from booking_core.tickets.senders import MailSender, SmsSender

if TYPE_CHECKING:
    from workers.jobs import DramatiqJobs


@dataclass
class WorkerContext:
    """Shared by every actor of one worker process; built once, on the actors' event loop."""

    settings: Settings
    sessions: SessionFactory
    redis: aioredis.Redis
    holds: HoldStore
    bookings: Bookings
    # By provider name ("sandbox", "stripe"): events and refunds go back to the provider that took the money.
    payment_providers: dict[str, PaymentProvider]
    telegram: telegram.Bot
    sms: SmsSender
    mail: MailSender
    # The broker the actors are declared on, so work can enqueue further work (the outbox relay).
    broker: dramatiq.Broker | None = None
    # Lets an actor enqueue follow-up work (a refund after a payment that cannot stand); the role sets it
    # once the actors are declared. Without it, the periodic passes pick that work up a little later.
    jobs: DramatiqJobs | None = None
    # TELEGRAM_ALLOW_PAID_BROADCAST: tickets go out with Telegram's paid broadcast allowance.
    telegram_paid_broadcast: bool = False
    # Reads of the stored payment events the actors settle, those running at once in one statement,
    # in turns with the confirmations' other steps (ConfirmationTurns); None: each read alone.
    stored_events: Batches[int, StoredPaymentEvent | None] | None = field(init=False)

    def __post_init__(self) -> None:
        confirming = self.bookings.settling
        reads = partial(stored_payment_events, self.bookings.reads or self.sessions)
        self.stored_events = None if confirming is None else Batches(reads, turn=confirming.turn)


# The role supplies this: it opens the context on first use, on the loop the actors run on.
ContextProvider = Callable[[], Awaitable[WorkerContext]]

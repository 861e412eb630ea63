"""Selling a paid booking of a connected cinema at its theatre (DESIGN.md section 10).

The network half only: booking_core.bookings.confirmation (when the payment arrives) and
booking_core.bookings.theatre_commits (later attempts) decide in SQL what each answer means for the booking.

- The booking's lock is committed with an idempotency key per booking and lock, so a repeat, in any
  process, gets the first answer; and a theatre never makes one lock into two tickets.
- 410 lock_expired, or no lock known: the seats may still be free, so they are locked again and the
  new lock is committed.
- 409 seats_unavailable: the seats went to someone else, and the booking goes the late-payment way.
- TheatreRejected: the theatre refused the sale as asked (an amount it disagrees with, a closed
  show): refund and flag it for a person.
- TheatreUnavailable: nothing is known; the booking waits as `paid_unconfirmed` and the same keys are
  tried again later, so a commit that went through with its answer lost is found, not repeated.
"""

from __future__ import annotations

import contextlib
import enum
import logging
from dataclasses import dataclass
from datetime import timedelta

from redis.exceptions import RedisError

from booking_core import metrics
from booking_core.holds.theatre_holds import TheatreHolds
from booking_core.theatre.port import (
    LockExpired,
    SeatsUnavailable,
    TheatreRejected,
    TheatreSystem,
    TheatreUnavailable,
)
from booking_core.theatre.shows import ConnectedShow

log = logging.getLogger(__name__)

# A lock taken again for a late payment only has to last until its commit a moment later.
RELOCK_SECONDS = 120
# Retries of a commit back off from a few seconds to a few minutes.
FIRST_RETRY_SECONDS = 5
MAX_RETRY_SECONDS = 300


class SaleOutcome(enum.StrEnum):
    """What the theatre said to selling a booking."""

    COMMITTED = "committed"  # the theatre issued its ticket
    SEATS_GONE = "seats_gone"  # someone else has some of the seats: refund
    REJECTED = "rejected"  # the theatre refused the sale as asked: refund and flag
    UNAVAILABLE = "unavailable"  # no answer: try again later with the same keys


@dataclass(frozen=True)
class SaleRequest:
    """A paid booking to sell: its seats, its price, and the lock its hold took (if known)."""

    booking_id: int
    show: ConnectedShow
    seat_ids: tuple[int, ...]
    amount_minor: int
    currency: str
    lock_id: str | None

    @property
    def reference(self) -> str:
        """Our reference for the booking at the theatre."""
        return f"marquee-booking-{self.booking_id}"

    def commit_key(self, lock_id: str) -> str:
        """The idempotency key of committing `lock_id` for this booking."""
        return f"marquee-commit-{self.booking_id}-{lock_id}"


@dataclass(frozen=True)
class SaleAttempt:
    """The theatre's answer: the ticket, or why not; `lock_id` is the lock to commit next time."""

    outcome: SaleOutcome
    lock_id: str | None = None
    ticket_id: str | None = None
    relocked: bool = False  # the original lock had lapsed and the seats were locked again
    reason: str | None = None


def retry_delay(attempts: int) -> timedelta:
    """How long to wait before the next commit after `attempts` failed ones."""
    return timedelta(seconds=min(FIRST_RETRY_SECONDS * 2 ** max(0, attempts - 1), MAX_RETRY_SECONDS))


async def sell(theatre: TheatreHolds, request: SaleRequest) -> SaleAttempt:
    """Commit the booking's lock, or lock the seats again and commit that; never raises for the theatre."""
    labels = request.show.labels_of(request.seat_ids)
    if labels is None:
        return SaleAttempt(SaleOutcome.REJECTED, request.lock_id, reason="seats the theatre does not know")
    try:
        system = theatre.system(request.show.system)
    except TheatreUnavailable as down:
        return SaleAttempt(SaleOutcome.UNAVAILABLE, request.lock_id, reason=str(down))
    attempt = None
    if request.lock_id is not None:
        attempt = await _commit(system, request, request.lock_id, relocked=False)
    if attempt is None:
        attempt = await _relock_and_commit(theatre, system, request, labels)
    metrics.THEATRE_SALES.labels(system=request.show.system, outcome=attempt.outcome.value).inc()
    with contextlib.suppress(RedisError, OSError):
        if attempt.outcome == SaleOutcome.UNAVAILABLE:
            await theatre.status.note_down(request.show.system)  # its maps say so at once, in every process
        else:
            await theatre.status.note_up(request.show.system)
            await theatre.status.forget(request.show.show_id)
    return attempt


async def _commit(
    system: TheatreSystem, request: SaleRequest, lock_id: str, *, relocked: bool
) -> SaleAttempt | None:
    """The commit's answer; None when the lock has lapsed (or is unknown) and may be taken again."""
    try:
        sale = await system.commit(
            lock_id, request.reference, request.amount_minor, request.currency, request.commit_key(lock_id)
        )
    except LockExpired:
        return None
    except SeatsUnavailable as gone:
        return SaleAttempt(SaleOutcome.SEATS_GONE, lock_id, relocked=relocked, reason=_gone(gone))
    except TheatreRejected as rejected:
        if rejected.reason == "lock_not_found":
            return None
        return SaleAttempt(SaleOutcome.REJECTED, lock_id, relocked=relocked, reason=_rejected(rejected))
    except TheatreUnavailable as down:
        return SaleAttempt(SaleOutcome.UNAVAILABLE, lock_id, relocked=relocked, reason=str(down))
    return SaleAttempt(SaleOutcome.COMMITTED, lock_id, ticket_id=sale.ticket_id, relocked=relocked)


async def _relock_and_commit(
    theatre: TheatreHolds, system: TheatreSystem, request: SaleRequest, labels: tuple[str, ...]
) -> SaleAttempt:
    # Keyed by the lock it replaces: a retry after a lost answer gets the same new lock back.
    key = f"marquee-relock-{request.booking_id}-{request.lock_id or 'none'}"
    show = request.show
    try:
        lock = await system.lock(show.theatre_show_id, labels, RELOCK_SECONDS, request.reference, key)
    except SeatsUnavailable as gone:
        return SaleAttempt(SaleOutcome.SEATS_GONE, request.lock_id, relocked=True, reason=_gone(gone))
    except TheatreRejected as rejected:
        return SaleAttempt(SaleOutcome.REJECTED, request.lock_id, relocked=True, reason=_rejected(rejected))
    except TheatreUnavailable as down:
        return SaleAttempt(SaleOutcome.UNAVAILABLE, request.lock_id, relocked=True, reason=str(down))
    attempt = await _commit(system, request, lock.lock_id, relocked=True)
    if attempt is None:
        # Lapsed between lock and commit (a very slow theatre): the next attempt locks again.
        return SaleAttempt(SaleOutcome.UNAVAILABLE, lock.lock_id, relocked=True, reason="new lock lapsed")
    if attempt.outcome in (SaleOutcome.SEATS_GONE, SaleOutcome.REJECTED):
        await theatre.release_lock(show, lock.lock_id)
    return attempt


async def undo_sale(theatre: TheatreHolds, request: SaleRequest) -> bool:
    """After a refund: leave nothing of the booking at the theatre; False when it must be tried later.

    Releasing the lock settles it for good; a lock the theatre committed after all (its answer lost
    on the way) is committed again to learn its ticket (same ticket, whatever the key), which is cancelled.
    """
    if request.lock_id is None:
        return True
    try:
        system = theatre.system(request.show.system)
        try:
            await system.release(request.lock_id)
        except TheatreRejected as rejected:
            if rejected.reason != "lock_committed":
                return True  # unknown to the theatre: nothing to undo
            sale = await system.commit(
                request.lock_id,
                request.reference,
                request.amount_minor,
                request.currency,
                request.commit_key(request.lock_id),
            )
            await cancel_sale(theatre, request.show, sale.ticket_id, request.booking_id)
            log.warning(
                "booking %s: refunded, and its stray ticket %s cancelled", request.booking_id, sale.ticket_id
            )
    except TheatreUnavailable as down:
        log.info("booking %s: theatre lock not undone yet: %s", request.booking_id, down)
        return False
    except TheatreRejected as rejected:
        log.error("booking %s: the theatre keeps its sale, check by hand: %s", request.booking_id, rejected)
    await _forget_status(theatre, request.show)
    return True


async def cancel_sale(theatre: TheatreHolds, show: ConnectedShow, ticket_id: str, booking_id: int) -> None:
    """Cancel the theatre's ticket of a booking (idempotent); raises the theatre's TheatreError."""
    await theatre.system(show.system).cancel_ticket(ticket_id, f"marquee-cancel-{booking_id}")
    await _forget_status(theatre, show)


def _gone(gone: SeatsUnavailable) -> str:
    seats = f"seats {', '.join(gone.seats)}" if gone.seats else "the seats"
    return f"{seats} went to someone else before the payment arrived"


def _rejected(rejected: TheatreRejected) -> str:
    return f"the cinema refused the sale ({rejected.reason})"


async def _forget_status(theatre: TheatreHolds, show: ConnectedShow) -> None:
    # Failing is harmless: the cached status lapses within seconds anyway.
    with contextlib.suppress(RedisError, OSError):
        await theatre.status.forget(show.show_id)

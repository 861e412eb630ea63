"""The on-sale queue's audit trail in SQL (`sale_queue_log`), and which shows' queues need a pass.

Redis runs the queue; SQL keeps what an auditor asks afterwards: the opening draw (its seed and the
order it gave), every admission (who, at which place, when) and who was told of a sell-out.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from booking_core.database import SessionFactory
from booking_core.holds.sale_queue import AdmitReport
from booking_core.models import SaleQueueEntry, Show

# A queue runs from its show's on-sale moment; one that has not emptied within this long is left alone.
QUEUE_LIFETIME = timedelta(days=2)


async def shows_with_queues(sessions: SessionFactory, now: datetime) -> list[int]:
    """Shows whose on-sale queue may be running: queued, on sale since `on_sale_at`, not started."""
    query = select(Show.id).where(
        Show.sale_queue.is_(True),
        Show.on_sale.is_(True),
        Show.on_sale_at <= now,
        Show.on_sale_at > now - QUEUE_LIFETIME,
        Show.starts_at > now,
    )
    async with sessions() as session:
        return list(await session.scalars(query.order_by(Show.id)))


async def record_step(sessions: SessionFactory, show_id: int, report: AdmitReport) -> None:
    """Write the audit rows of one admission step (nothing when it changed nothing).

    An opening already in the log (same seed) is not written again: a later pass repairing a lost
    opening row may race the opener's own row, and the unique index on (show, seed) lets one through.
    """
    if report.opened is not None and report.seed is not None:
        await _record_opening(sessions, show_id, report.seed, report.opened)
    rows = [
        SaleQueueEntry(show_id=show_id, kind="admitted", user_id=user, position=place)
        for user, place, _ends in report.admitted
    ]
    if report.sold_out:
        told = ",".join(str(user) for user, _party in report.sold_out)
        rows.append(SaleQueueEntry(show_id=show_id, kind="sold_out", detail=told))
    if not rows:
        return
    async with sessions() as session:
        session.add_all(rows)
        await session.commit()


async def _record_opening(sessions: SessionFactory, show_id: int, seed: int, drawn: tuple[str, ...]) -> None:
    """Write the opening drawn with `seed`, unless its row is there already (written by a racing pass)."""
    try:
        async with sessions() as session:
            session.add(SaleQueueEntry(show_id=show_id, kind="opened", seed=seed, detail=",".join(drawn)))
            await session.commit()
    except IntegrityError:
        if not await _opening_logged(sessions, show_id, seed):
            raise


async def _opening_logged(sessions: SessionFactory, show_id: int, seed: int) -> bool:
    """Whether the opening drawn with `seed` has its row in the log."""
    query = select(SaleQueueEntry.id).where(
        SaleQueueEntry.show_id == show_id, SaleQueueEntry.kind == "opened", SaleQueueEntry.seed == seed
    )
    async with sessions() as session:
        return (await session.scalar(query.limit(1))) is not None


async def audit_log(sessions: SessionFactory, show_id: int) -> list[SaleQueueEntry]:
    """The show's audit rows, in the order they were written."""
    async with sessions() as session:
        query = select(SaleQueueEntry).where(SaleQueueEntry.show_id == show_id).order_by(SaleQueueEntry.id)
        return list(await session.scalars(query))

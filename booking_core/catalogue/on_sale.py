"""An operator sets a show's on-sale time and queue (`main.py catalog on-sale`), the catalogue file aside.

The next import of a catalogue file that lists the show sets them as the file says.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from booking_core.database import SessionFactory
from booking_core.models import Show


class OnSaleRefused(ValueError):
    """The change cannot be made; the message says why in an operator's words."""


async def set_on_sale(
    sessions: SessionFactory, external_id: str, on_sale_at: datetime | None, queue: bool, now: datetime
) -> int:
    """Set the show's on-sale time (None: on sale now) and queue; returns its id. Raises OnSaleRefused."""
    if queue and on_sale_at is None:
        raise OnSaleRefused("a queue needs an on-sale time (--at)")
    async with sessions() as session, session.begin():
        show = await session.scalar(select(Show).where(Show.external_id == external_id).with_for_update())
        if show is None:
            raise OnSaleRefused(f"no show {external_id!r} in the catalogue")
        if on_sale_at is not None and on_sale_at >= show.starts_at:
            raise OnSaleRefused(f"the sale must open before the show starts ({show.starts_at.isoformat()})")
        if show.sale_queue and show.on_sale_at is not None and show.on_sale_at <= now:
            raise OnSaleRefused("its queue has already opened: the sale cannot be moved now")
        show.on_sale_at, show.sale_queue = on_sale_at, queue
        return show.id

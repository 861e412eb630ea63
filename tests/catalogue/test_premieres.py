"""A premiere in the catalogue file: an on-sale time and a queue, checked, imported and changed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from booking_core.catalogue import InvalidCatalogue, import_catalogue, parse_catalogue
from booking_core.database import SessionFactory
from booking_core.models import Show
from tests.catalogue.samples import sample_catalogue


def test_a_queue_needs_an_on_sale_time_before_the_start() -> None:
    catalogue = sample_catalogue()
    first, second = catalogue["shows"][0], catalogue["shows"][1]
    first["queue"] = True
    second["on_sale_at"] = second["starts_at"]
    try:
        parse_catalogue(catalogue)
    except InvalidCatalogue as invalid:
        described = invalid.describe()
    else:
        raise AssertionError("a queue without an on-sale time was accepted")
    assert "an on-sale queue needs 'on_sale_at'" in described
    assert "'on_sale_at' must come before 'starts_at'" in described


async def test_an_import_sets_and_changes_a_premiere_and_reports_the_change(sessions: SessionFactory) -> None:
    catalogue = sample_catalogue()
    premiere = catalogue["shows"][0]
    await import_catalogue(sessions, parse_catalogue(catalogue))
    starts = parse_catalogue(catalogue).shows[0].starts_at
    premiere["on_sale_at"] = (starts - timedelta(days=1)).isoformat()
    premiere["queue"] = True
    report = await import_catalogue(sessions, parse_catalogue(catalogue))
    async with sessions() as session:
        show = await session.scalar(select(Show).where(Show.external_id == premiere["id"]))
    assert show is not None and show.sale_queue and show.on_sale_at == starts - timedelta(days=1)
    # The hold store's cached inventory of that show must be read again: the report names it.
    assert report.sale_changed_show_ids == (show.id,)
    again = await import_catalogue(sessions, parse_catalogue(catalogue))
    assert again.sale_changed_show_ids == ()

"""Importing catalogues: idempotent, all-or-nothing, and kind to the seats that bookings refer to."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import Mapper

from booking_core.catalogue import (
    ImportReport,
    InvalidCatalogue,
    import_catalogue,
    load_catalogue_file,
    parse_catalogue,
    seed_demo,
)
from booking_core.database import SessionFactory
from booking_core.models import Base, BookedSeat, Booking, Cinema, City, Hall, Movie, Seat, Show, ShowPrice
from tests.catalogue.samples import NOW, sample_catalogue
from tests.factories import make_customer

CATALOGUE_TABLES: tuple[type[Base], ...] = (City, Cinema, Hall, Seat, Movie, Show, ShowPrice)


async def snapshot(sessions: SessionFactory) -> dict[str, list[tuple[Any, ...]]]:
    """Every catalogue row, every column, in primary-key order."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    async with sessions() as session:
        for model in CATALOGUE_TABLES:
            mapper: Mapper[Any] = inspect(model)
            rows = await session.execute(select(*mapper.columns).order_by(*mapper.primary_key))
            tables[model.__tablename__] = [tuple(row) for row in rows]
    return tables


async def load(sessions: SessionFactory, data: dict[str, Any]) -> ImportReport:
    return await import_catalogue(sessions, parse_catalogue(data), now=NOW)


async def seats_by_label(sessions: SessionFactory, hall_name: str, cinema: str) -> dict[str, Seat]:
    async with sessions() as session:
        query = (
            select(Seat)
            .join(Hall, Seat.hall_id == Hall.id)
            .join(Cinema, Hall.cinema_id == Cinema.id)
            .where(Hall.name == hall_name, Cinema.external_id == cinema)
        )
        return {seat.label: seat for seat in await session.scalars(query)}


async def book_seat(sessions: SessionFactory, show_external_id: str, seat_id: int) -> None:
    """A confirmed booking that sold one seat of a show."""
    customer_id = await make_customer(sessions, telegram_user_id=seat_id + 1000)
    async with sessions() as session:
        show_id = await session.scalar(select(Show.id).where(Show.external_id == show_external_id))
        assert show_id is not None
        booking = Booking(
            show_id=show_id,
            customer_id=customer_id,
            status="confirmed",
            hold_token=f"token-{seat_id}",
            hold_expires_at=NOW,
            amount_minor=1200,
            currency="EUR",
        )
        session.add(booking)
        await session.flush()
        session.add(BookedSeat(show_id=show_id, seat_id=seat_id, booking_id=booking.id))
        await session.commit()


async def test_seeding_the_demo_twice_changes_nothing(sessions: SessionFactory) -> None:
    first = await seed_demo(sessions, today=date(2030, 6, 1), now=NOW)
    before = await snapshot(sessions)

    second = await seed_demo(sessions, today=date(2030, 6, 1), now=NOW)

    assert first.created["shows"] == 13 * 4 * 7
    assert not second.changed, second.summary()
    assert second.summary() == "nothing changed"
    assert await snapshot(sessions) == before


async def test_seeding_again_the_next_day_only_adds_the_new_day(sessions: SessionFactory) -> None:
    await seed_demo(sessions, today=date(2030, 6, 1), now=NOW)

    report = await seed_demo(sessions, today=date(2030, 6, 2), now=NOW + timedelta(days=1))

    assert report.created == {"shows": 13 * 4, "prices": 13 * 4 * 3}
    assert report.updated == {} and report.removed == {}
    assert report.withdrawn_show_ids == ()


async def test_a_file_with_three_bad_rows_reports_all_three_and_imports_nothing(
    sessions: SessionFactory, tmp_path: Path
) -> None:
    await load(sessions, sample_catalogue())
    before = await snapshot(sessions)
    data = sample_catalogue()
    data["movies"].append({**data["movies"][0], "id": "echo", "title": "Echo"})  # a good new row
    data["cities"][1]["latitude"] = "north"
    data["shows"][2]["hall"] = "Hall 9"
    data["shows"][5]["prices"] = {"standard": 9.99}
    path = tmp_path / "schedule.json"
    path.write_text(json.dumps(data), encoding="utf-8")

    with pytest.raises(InvalidCatalogue) as caught:
        await import_catalogue(sessions, load_catalogue_file(path), now=NOW)

    assert caught.value.bad_rows == ("cities[1]", "shows[2]", "shows[5]")
    assert await snapshot(sessions) == before


async def test_a_new_layout_keeps_the_ids_of_seats_it_still_has(sessions: SessionFactory) -> None:
    await load(sessions, sample_catalogue())
    before = await seats_by_label(sessions, "Hall 1", "b-one")
    data = sample_catalogue()
    data["halls"][0]["rows"][0]["layout"] = "WWS_S_S"  # A3 moves, A5 is new
    data["halls"][0]["rows"][1]["seats"].pop()  # B3 goes
    data["shows"][0]["prices"] = data["shows"][1]["prices"] = {"standard": 1, "wheelchair": 1}

    report = await load(sessions, data)

    after = await seats_by_label(sessions, "Hall 1", "b-one")
    assert sorted(after) == ["A1", "A2", "A3", "A4", "A5", "B1", "B2"]
    assert {label: after[label].id for label in before if label != "B3"} == {
        label: seat.id for label, seat in before.items() if label != "B3"
    }
    assert (after["A3"].column, after["A3"].category) == (3, "standard")
    assert report.created["seats"] == 1 and report.removed["seats"] == 1
    assert report.removed["prices"] == 2  # premium, at alpha-1 and alpha-2


async def test_a_sold_seat_cannot_be_removed_and_the_whole_import_is_refused(
    sessions: SessionFactory,
) -> None:
    await load(sessions, sample_catalogue())
    seats = await seats_by_label(sessions, "Hall 1", "b-one")
    await book_seat(sessions, "alpha-1", seats["B3"].id)
    before = await snapshot(sessions)
    data = sample_catalogue()
    data["movies"].append({**data["movies"][0], "id": "echo", "title": "Echo"})
    data["halls"][0]["rows"][1]["seats"].pop()

    with pytest.raises(InvalidCatalogue) as caught:
        await load(sessions, data)

    assert [str(p) for p in caught.value.problems] == [
        "halls[0]: seats B3 of hall 'Hall 1' have bookings and cannot be removed"
    ]
    assert await snapshot(sessions) == before


async def test_shows_the_file_no_longer_lists_are_withdrawn_and_can_come_back(
    sessions: SessionFactory,
) -> None:
    await load(sessions, sample_catalogue())
    data = sample_catalogue()
    bravo = data["shows"].pop(3)

    withdrawn = await load(sessions, data)
    data["shows"].append(bravo)
    restored = await load(sessions, data)

    async with sessions() as session:
        show = await session.scalar(select(Show).where(Show.external_id == "bravo-1"))
    assert show is not None and show.on_sale
    assert withdrawn.withdrawn_show_ids == (show.id,)
    assert restored.updated == {"shows": 1}


async def test_a_file_for_one_cinema_leaves_other_cinemas_alone(sessions: SessionFactory) -> None:
    await load(sessions, sample_catalogue())
    data = sample_catalogue()
    data["cities"] = [data["cities"][1]]
    data["cinemas"] = [data["cinemas"][2]]
    data["halls"] = [data["halls"][2]]
    data["movies"] = [data["movies"][3]]
    data["shows"] = [data["shows"][5]]

    report = await load(sessions, data)

    assert not report.changed


async def test_a_slot_taken_by_a_show_the_file_does_not_list_is_a_bad_row(sessions: SessionFactory) -> None:
    await load(sessions, sample_catalogue())
    data = sample_catalogue()
    data["shows"][3]["id"] = "bravo-renamed"

    with pytest.raises(InvalidCatalogue) as caught:
        await load(sessions, data)

    assert caught.value.bad_rows == ("shows[3]",)
    assert "already has show 'bravo-1'" in caught.value.problems[0].message


async def test_a_show_with_bookings_cannot_move_to_another_hall(sessions: SessionFactory) -> None:
    data = sample_catalogue()
    data["halls"].append({"cinema": "b-two", "name": "Hall 2", "rows": [{"label": "A", "layout": "SS"}]})
    await load(sessions, data)
    seats = await seats_by_label(sessions, "Hall 1", "b-two")
    await book_seat(sessions, "bravo-1", seats["A1"].id)
    data["shows"][3]["hall"] = "Hall 2"

    with pytest.raises(InvalidCatalogue) as caught:
        await load(sessions, data)

    assert [str(p) for p in caught.value.problems] == [
        "shows[3]: show 'bravo-1' has bookings and cannot move to hall 'Hall 2'"
    ]


async def test_changed_rows_are_updated_in_place(sessions: SessionFactory) -> None:
    await load(sessions, sample_catalogue())
    data = sample_catalogue()
    data["cinemas"][0]["address"] = "New Street 2"
    data["movies"][1]["title"] = "Bravo (Director's Cut)"
    data["shows"][3]["starts_at"] = datetime(2030, 6, 1, 19, 0, tzinfo=UTC).isoformat()
    data["shows"][3]["prices"] = {"standard": 1100}

    report = await load(sessions, data)

    assert report.updated == {"cinemas": 1, "movies": 1, "shows": 1, "prices": 1}
    async with sessions() as session:
        show = await session.scalar(select(Show).where(Show.external_id == "bravo-1"))
    assert show is not None and show.starts_at == datetime(2030, 6, 1, 19, 0, tzinfo=UTC)

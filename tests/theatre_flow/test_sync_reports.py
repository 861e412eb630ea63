"""What a schedule sync reports: every bad row named in one documented format, unreadable answers in
words, and a withdrawn show that comes back as a change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from booking_core.models import BookingStatus, Hall, Show
from tests.theatre_flow.stand import Stand
from tests.theatre_flow.test_sync import catalogue

Edit = Callable[[dict[str, Any]], None]


def show_row(schedule: dict[str, Any], theatre_show: str) -> tuple[int, dict[str, Any]]:
    """The index and row of a show in the schedule's answer."""
    return next((i, row) for i, row in enumerate(schedule["shows"]) if row["id"] == theatre_show)


def edit_show(change: Callable[[dict[str, Any]], None], theatre_show: str) -> Edit:
    def edit(schedule: dict[str, Any]) -> None:
        change(show_row(schedule, theatre_show)[1])

    return edit


# (what the theatre's answer does to the show's row, the field named, words of the message)
BAD_ROWS: list[tuple[Callable[[dict[str, Any]], None], str, str]] = [
    (lambda row: row["prices"].pop("premium"), "prices.premium", "no price for premium"),
    (lambda row: row["prices"].update(premium=-100), "prices.premium", "greater than or equal to 0"),
    (lambda row: row["prices"].update(premium="15 EUR"), "prices.premium", "Input should be a valid integer"),
    (lambda row: row.update(hall="riverside-9"), "hall", "unknown hall riverside-9"),
    (lambda row: row.update(movie="m-nowhere"), "movie", "unknown movie m-nowhere"),
    (lambda row: row.update(starts_at="tomorrow 8pm"), "starts_at", "Input should be a valid datetime"),
    (lambda row: row.update(starts_at="2030-06-01T20:00:00"), "starts_at", "Input should have timezone info"),
    (lambda row: row.pop("currency"), "currency", "Field required"),
]


@pytest.mark.parametrize(("change", "field", "words"), BAD_ROWS)
async def test_every_bad_show_row_is_named_in_the_documented_format_and_changes_nothing(
    stand: Stand, change: Callable[[dict[str, Any]], None], field: str, words: str
) -> None:
    # Given a synced catalogue and a schedule answer with one bad show row
    _, bad = await stand.show()
    before = await catalogue(stand)
    index = []

    def edit(schedule: dict[str, Any]) -> None:
        position, row = show_row(schedule, bad)
        index.append(position)
        change(row)

    stand.sandbox.faults.edit_schedule = edit
    # When the schedule is synced
    report = await stand.sync()
    # Then the one line names the row by the theatre's id and its place in the answer, says what is
    # wrong, and nothing changed
    assert not report.ok and report.error is None and len(report.problems) == 1, report.summary()
    (problem,) = report.problems
    assert problem.startswith(f"show {bad} (shows[{index[0]}].{field}): "), problem
    assert words in problem, problem
    assert report.summary() == f"northlight: nothing changed, 1 bad row: {problem}"
    assert await catalogue(stand) == before


async def test_a_bad_seat_of_a_hall_is_named_down_to_its_field(stand: Stand) -> None:
    before = await catalogue(stand)
    index = []

    def edit(schedule: dict[str, Any]) -> None:
        position, hall = next((i, h) for i, h in enumerate(schedule["halls"]) if h["id"] == "riverside-1")
        index.append(position)
        hall["rows"][2]["seats"][1]["number"] = "2"

    stand.sandbox.faults.edit_schedule = edit
    report = await stand.sync()
    assert report.problems == (
        f"hall riverside-1 (halls[{index[0]}].rows[2].seats[1].number): Input should be a valid integer",
    ), report.summary()
    assert await catalogue(stand) == before


async def test_a_schedule_that_is_not_json_is_reported_in_words(stand: Stand) -> None:
    before = await catalogue(stand)
    stand.sandbox.faults.garble_next = 1
    report = await stand.sync()
    assert not report.ok and report.error is not None
    assert "is not JSON" in report.summary() and "NoneType" not in report.summary(), report.summary()
    assert await catalogue(stand) == before


async def test_a_withdrawn_show_that_comes_back_is_on_sale_again_and_reported_as_a_change(
    stand: Stand,
) -> None:
    # Given a show the theatre left out of one schedule, so the sync withdrew it
    show_id, theatre_show = await stand.show()

    def leave_out(schedule: dict[str, Any]) -> None:
        schedule["shows"] = [row for row in schedule["shows"] if row["id"] != theatre_show]

    stand.sandbox.faults.edit_schedule = leave_out
    withdrawn = await stand.sync()
    assert withdrawn.imported is not None and withdrawn.imported.withdrawn_show_ids == (show_id,)
    # When the next schedule lists it again
    stand.sandbox.faults.edit_schedule = None
    report = await stand.sync()
    # Then it is on sale again, and the report says something changed
    assert report.ok and report.imported is not None and report.imported.changed, report.summary()
    assert "nothing changed" not in report.summary() and "1 shows" in report.summary(), report.summary()
    async with stand.core.sessions() as session:
        assert await session.scalar(select(Show.on_sale).where(Show.id == show_id)) is True
    assert not (await stand.holds.seat_map(show_id, 5)).closed


async def test_a_hall_renamed_at_the_theatre_is_renamed_here_with_its_shows_and_bookings(
    stand: Stand,
) -> None:
    # Given a booking in the theatre's big hall
    show_id, _ = await stand.show()
    checkout = await stand.buy(show_id, 30, "C9")
    async with stand.core.sessions() as session:
        hall_id = await session.scalar(select(Show.hall_id).where(Show.id == show_id))
    # When the theatre renames the hall (same hall id) and the schedule is synced
    await stand.change_theatre("UPDATE halls SET name = 'Saal 1 (renoviert)' WHERE id = 'riverside-1'")
    report = await stand.sync()
    # Then it is the same hall under its new name: the show, its seats and the booking stay
    assert report.ok and report.imported is not None, report.summary()
    assert report.imported.updated.get("halls") == 1 and "halls" not in report.imported.created
    async with stand.core.sessions() as session:
        hall = await session.get(Hall, hall_id)
        assert hall is not None and (hall.name, hall.external_id) == ("Saal 1 (renoviert)", "riverside-1")
        assert await session.scalar(select(Show.hall_id).where(Show.id == show_id)) == hall_id
    assert (await stand.booking(checkout.booking_id)).status == BookingStatus.PENDING_PAYMENT
    # and the next sync finds nothing to change
    again = await stand.sync()
    assert again.ok and again.imported is not None and not again.imported.changed, again.summary()

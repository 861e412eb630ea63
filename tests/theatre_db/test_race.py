"""Marquee processes and the cinema's till racing for the same seats in one theatre database."""

from __future__ import annotations

import random
from collections import Counter
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.theatre.database import DatabaseTheatreSystem
from sandbox.theatre_db import boxoffice
from tests.support.racing import RacingPools
from tests.theatre_db import contender

PRICES = {f"{row}{n}": 1100 for row in "CDEF" for n in range(1, 13)}


async def race(
    pools: RacingPools, url: str, show_id: str, jobs: list[tuple[str, list[list[str]]]]
) -> list[list[Any]]:
    """One process per job, released together; every outcome of every process."""
    contenders = [
        partial(
            contender.contend,
            {"database_url": url, "show_id": show_id, "role": role, "picks": picks, "prices": PRICES},
        )
        for role, picks in jobs
    ]
    return [outcome for outcomes in await pools.race(contenders) for outcome in outcomes]


async def sold_seats(theatre_db: AsyncEngine, show_id: str) -> Counter[str]:
    """How many valid tickets hold each seat."""
    tickets = await boxoffice.tickets(theatre_db, show_id)
    return Counter(
        seat for ticket in tickets if not ticket["cancelled"] for seat in str(ticket["seats"]).split(",")
    )


async def test_many_processes_for_the_same_two_seats_exactly_one_wins(
    theatre_db: AsyncEngine, theatre_db_url: str, show_id: str, racing_pools: RacingPools
) -> None:
    jobs = [("marquee", [["D5", "D6"]] * 3) for _ in range(4)] + [
        ("boxoffice", [["D6", "D5"]] * 3) for _ in range(2)
    ]
    outcomes = await race(racing_pools, theatre_db_url, show_id, jobs)
    winners = [outcome for outcome in outcomes if outcome[1] == "sold"]
    assert len(outcomes) == 18 and len(winners) == 1, outcomes
    assert {outcome[1] for outcome in outcomes} - {"sold"} <= {"SeatsUnavailable", "seats_unavailable"}
    assert await sold_seats(theatre_db, show_id) == Counter({"D5": 1, "D6": 1})


async def test_a_crowd_over_overlapping_seats_sells_none_twice(
    theatre_db: AsyncEngine,
    theatre_db_url: str,
    theatre: DatabaseTheatreSystem,
    show_id: str,
    racing_pools: RacingPools,
) -> None:
    rng = random.Random(17)
    seats = list(PRICES)

    def picks(count: int) -> list[list[str]]:
        return [rng.sample(seats, rng.randint(1, 3)) for _ in range(count)]

    jobs = [("marquee", picks(12)) for _ in range(4)] + [("boxoffice", picks(12)) for _ in range(2)]
    outcomes = await race(racing_pools, theatre_db_url, show_id, jobs)
    sold = await sold_seats(theatre_db, show_id)
    assert max(sold.values()) == 1  # none sold twice
    won = Counter(seat for outcome in outcomes if outcome[1] == "sold" for seat in outcome[0])
    assert won == sold  # every sale reported is in the database, and nothing else
    assert {outcome[1] for outcome in outcomes} <= {"sold", "SeatsUnavailable", "seats_unavailable"}
    # Both sides won some seats, and the theatre's map shows exactly what was sold.
    roles = {outcome[2][:2] for outcome in outcomes if outcome[1] == "sold"}
    assert len(roles) == 2, outcomes
    status = await theatre.seat_status(show_id)
    assert status.sold == set(sold) and status.locked == frozenset()


async def test_control_distinct_seats_all_sell(
    theatre_db: AsyncEngine, theatre_db_url: str, show_id: str, racing_pools: RacingPools
) -> None:
    jobs = [("marquee", [[f"E{n}"]]) for n in range(1, 5)] + [("boxoffice", [[f"F{n}"]]) for n in range(1, 3)]
    outcomes = await race(racing_pools, theatre_db_url, show_id, jobs)
    assert [outcome[1] for outcome in outcomes] == ["sold"] * 6
    assert sum((await sold_seats(theatre_db, show_id)).values()) == 6

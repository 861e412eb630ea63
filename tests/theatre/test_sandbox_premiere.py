"""The sandbox theatre serves a premiere's on-sale time and queue where its planners set them, also on a
database file an older sandbox created."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from adapters.theatre.http import HttpTheatreSystem
from sandbox.theatre import TheatreSandbox, TheatreStore
from tests.support.clocks import TheatreClock


async def test_the_schedule_says_which_show_is_a_premiere_and_whether_it_queues(
    sandbox: TheatreSandbox, theatre: HttpTheatreSystem, show_id: str, theatre_clock: TheatreClock
) -> None:
    opens = (theatre_clock.now + timedelta(hours=5)).replace(microsecond=0)
    await sandbox.store.call(sandbox.store.set_on_sale, show_id, opens, True)
    schedule = await theatre.schedule(theatre_clock.now, theatre_clock.now + timedelta(days=7))
    sale = {show.external_id: (show.on_sale_at, show.queue) for show in schedule.shows}
    assert sale.pop(show_id) == (opens, True)
    assert set(sale.values()) == {(None, False)}


def test_an_older_sandbox_database_gains_the_premiere_columns(tmp_path: Path) -> None:
    # Given a database file of a sandbox from before premieres (no on_sale_at, no queue)
    path = str(tmp_path / "theatre.db")
    TheatreStore(path).close()
    with sqlite3.connect(path) as old:
        old.execute("ALTER TABLE shows DROP COLUMN queue")
        old.execute("ALTER TABLE shows DROP COLUMN on_sale_at")
    # when today's sandbox opens it, its schedule serves every show as on sale at once.
    store = TheatreStore(path)
    try:
        clock = TheatreClock()
        shows = store.schedule(clock.now.timestamp(), (clock.now + timedelta(days=3)).timestamp())["shows"]
        assert shows and all("on_sale_at" not in show and "queue" not in show for show in shows)
    finally:
        store.close()

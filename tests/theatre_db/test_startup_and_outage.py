"""A theatre database that does not fit, may not be written, is down or hangs: caught, bounded, contained."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.theatre.database import DatabaseTheatreSystem
from adapters.theatre.systems import check_theatre_databases, theatre_systems_from_settings
from booking_core.settings import ConfigurationError
from booking_core.theatre.port import TheatreUnavailable
from roles.settings import load_settings
from tests.support.theatre_links import on_server


async def test_a_fitting_database_passes_the_start_up_check(theatre: DatabaseTheatreSystem) -> None:
    await check_theatre_databases([theatre])


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ("ALTER TABLE shows DROP COLUMN version", "column shows.version"),
        ("DROP TABLE show_prices", "table show_prices"),
    ],
)
async def test_a_schema_that_does_not_fit_stops_start_up_with_one_line_naming_what_is_missing(
    theatre_db: AsyncEngine, theatre: DatabaseTheatreSystem, change: str, named: str
) -> None:
    async with theatre_db.begin() as connection:
        await connection.execute(text(change))
    with pytest.raises(ConfigurationError) as stopped:
        await check_theatre_databases([theatre])
    message = str(stopped.value)
    assert "\n" not in message and named in message and message.startswith("THEATRE_SYSTEMS: theatre elbe:")


@pytest.fixture
async def read_only_url(theatre_db: AsyncEngine, theatre_db_url: str) -> AsyncIterator[str]:
    """The theatre database as a user who may only read it (SQLite has no users: skipped there)."""
    url = make_url(theatre_db_url)
    if url.get_backend_name() == "sqlite":
        pytest.skip("SQLite has no database users")
    user = f"reader_{os.getpid()}"
    server = url.set(database="postgres" if url.get_backend_name() == "postgresql" else None)
    server_url = server.render_as_string(hide_password=False)
    if url.get_backend_name() == "postgresql":
        await on_server(
            server_url, f'DROP ROLE IF EXISTS "{user}"', f"CREATE ROLE \"{user}\" LOGIN PASSWORD 'pw'"
        )
        await on_server(
            theatre_db_url,
            f'GRANT USAGE ON SCHEMA public TO "{user}"',
            f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{user}"',
        )
        drop = [
            f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{user}"',
            f'REVOKE ALL ON SCHEMA public FROM "{user}"',
        ]
        yield url.set(username=user, password="pw").render_as_string(hide_password=False)
        await on_server(theatre_db_url, *drop)
        await on_server(server_url, f'DROP ROLE IF EXISTS "{user}"')
    else:
        await on_server(
            server_url,
            f"DROP USER IF EXISTS '{user}'@'%'",
            f"CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'",
            f"GRANT SELECT ON `{url.database}`.* TO '{user}'@'%'",
        )
        yield url.set(username=user, password="pw").render_as_string(hide_password=False)
        await on_server(server_url, f"DROP USER IF EXISTS '{user}'@'%'")


async def test_a_read_only_user_is_refused_at_start_up_with_a_clear_message(read_only_url: str) -> None:
    async with DatabaseTheatreSystem(read_only_url, name="elbe") as reader:
        with pytest.raises(ConfigurationError) as stopped:
            await check_theatre_databases([reader])
    message = str(stopped.value)
    assert "\n" not in message
    assert (
        "may not UPDATE shows" in message
        and "read-only" in message
        and "INSERT, UPDATE, DELETE on seat_claims" in message
    )


async def test_a_database_link_comes_from_configuration(
    monkeypatch: pytest.MonkeyPatch, theatre_db_url: str
) -> None:
    systems_json = {
        "elbe": {"database_url": theatre_db_url, "application": "marquee-eu"},
        "northlight": {"base_url": "http://127.0.0.1:9000", "token": "t"},
    }
    monkeypatch.setenv("THEATRE_SYSTEMS", json.dumps(systems_json))
    systems = theatre_systems_from_settings(load_settings(), timeout=0.7)
    elbe = systems["elbe"]
    assert isinstance(elbe, DatabaseTheatreSystem)
    assert (elbe.name, elbe.application, elbe.timeout) == ("elbe", "marquee-eu", 0.7)
    assert not isinstance(systems["northlight"], DatabaseTheatreSystem)
    for system in systems.values():
        await system.close()


@pytest.mark.parametrize(
    "value",
    [
        '{"elbe": {"database_url": "mysql+pymysql://u@127.0.0.1/x"}}',
        '{"elbe": {"database_url": "not a url"}}',
        '{"elbe": {"database_url": "sqlite+aiosqlite:///x.db", "base_url": "http://127.0.0.1:1",'
        ' "token": "t"}}',
        '{"elbe": {}}',
    ],
)
def test_a_bad_database_link_names_the_variable(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("THEATRE_SYSTEMS", value)
    with pytest.raises(ConfigurationError, match="THEATRE_SYSTEMS"):
        load_settings()


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A port on 127.0.0.1 that accepts connections and never says a word: a hung database server."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in held:
        writer.close()
    server.close()


async def test_a_hung_theatre_database_costs_the_timeout_then_nothing_and_others_sell_on(
    silent_server: int, theatre: DatabaseTheatreSystem, show_id: str
) -> None:
    hung = DatabaseTheatreSystem(
        f"postgresql+asyncpg://marquee@127.0.0.1:{silent_server}/theatre", name="hung", timeout=0.5
    )
    try:
        started = time.monotonic()
        # While the hung theatre is asked three times, the healthy one answers as usual.
        attempts = [hung.lock("S1", ["A1"], 60, "r", f"k{n}") for n in range(3)]
        results = await asyncio.gather(*attempts, theatre.seat_status(show_id), return_exceptions=True)
        elapsed = time.monotonic() - started
        assert all(
            isinstance(failed, TheatreUnavailable) and failed.reason == "timeout" for failed in results[:3]
        )
        assert not isinstance(results[3], BaseException)
        assert elapsed < 2.0
        # The breaker is open now: the next call is refused at once.
        started = time.monotonic()
        with pytest.raises(TheatreUnavailable) as refused:
            await hung.seat_status("S1")
        assert refused.value.reason == "circuit_open" and time.monotonic() - started < 0.05
    finally:
        await hung.close()


async def test_a_theatre_database_that_is_down_is_unavailable_at_once() -> None:
    down = DatabaseTheatreSystem("mysql+asyncmy://marquee@127.0.0.1:9/theatre", name="down", timeout=0.5)
    try:
        started = time.monotonic()
        with pytest.raises(TheatreUnavailable) as failed:
            await down.seat_status("S1")
        assert failed.value.reason in ("connection", "timeout") and time.monotonic() - started < 1.0
        await check_theatre_databases([down])  # start-up goes on: its shows are unavailable until it answers
    finally:
        await down.close()

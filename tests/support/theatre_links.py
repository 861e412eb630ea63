"""Connected theatres as the port's contract tests meet them, one per way a cinema is linked.

A `TheatreLink` is a seeded sandbox chain (the same cinemas, halls, shows and prices either way) with
Marquee's adapter, a rival booking application's adapter and the cinema's own till: the sandbox theatre
behind Theatre API v1 over real HTTP (`api_link`), or a Theatre DB v1 database on a real engine written by
the database link and by the cinema's box office (`database_link`). Both run on a clock the test moves.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.theatre.database import DatabaseTheatreSystem
from adapters.theatre.db_tables import shows
from adapters.theatre.http import HttpTheatreSystem
from sandbox.theatre import SANDBOX_TOKEN, TheatreSandbox, start_theatre_sandbox
from sandbox.theatre_db import boxoffice
from sandbox.theatre_db.boxoffice import BoxOfficeRefusal
from sandbox.theatre_db.page import box_office_app
from sandbox.theatre_db.schema import create_schema
from sandbox.theatre_db.seed import seed_chain
from tests.support.clocks import TheatreClock
from tests.support.dropping import drop_later

RIVAL_TOKEN = "rival-app-token"
SERVER_FIXTURES = {"postgresql": "postgres_url", "mariadb": "mariadb_url"}  # (tests/conftest.py)
BIG_HALL = "riverside-1"  # rows A-H of 12 seats, an aisle after seat 6

Adapter = HttpTheatreSystem | DatabaseTheatreSystem


class TillRefused(Exception):
    """The cinema's till would not sell: `seats` are the ones already sold or locked."""

    def __init__(self, seats: tuple[str, ...]) -> None:
        super().__init__(f"not sold: {', '.join(seats)}")
        self.seats = seats


@dataclass(frozen=True)
class TheatreLink:
    """One connected theatre: Marquee's adapter, a rival's, a show in the big hall and the cinema's till.

    `sell_at_till(show, seats)` sells at the box office and answers the ticket id (TillRefused naming
    the taken seats); `ticket_ids(show)` lists the show's tickets, oldest first; `till_url` is where the
    box-office page is served.
    """

    kind: str
    theatre: Adapter
    rival: Adapter
    show_id: str
    till_url: str
    sell_at_till: Callable[[str, list[str]], Awaitable[str]]
    ticket_ids: Callable[[str], Awaitable[list[str]]]


@asynccontextmanager
async def api_link(clock: TheatreClock) -> AsyncIterator[TheatreLink]:
    """The sandbox theatre behind Theatre API v1, over real HTTP on 127.0.0.1."""
    _, _, sandbox = await start_theatre_sandbox(clock=clock, other_clients={RIVAL_TOKEN: "rival"})
    try:
        async with (
            HttpTheatreSystem(
                sandbox.base_url, SANDBOX_TOKEN, name="northlight", timeout=10.0, attempt_timeout=5.0
            ) as theatre,
            HttpTheatreSystem(
                sandbox.base_url, RIVAL_TOKEN, name="rival", timeout=10.0, attempt_timeout=5.0
            ) as rival,
            aiohttp.ClientSession(base_url=sandbox.base_url) as till,
        ):

            async def sell_at_till(show_id: str, seats: list[str]) -> str:
                async with till.post(f"/boxoffice/shows/{show_id}/sell", json={"seats": seats}) as answer:
                    body = await answer.json()
                if answer.status == 409:
                    raise TillRefused(tuple(body["error"]["seats"]))
                assert answer.status == 201, body
                return str(body["ticket_id"])

            async def ticket_ids(show_id: str) -> list[str]:
                tickets = await sandbox.store.call(sandbox.store.tickets, show_id)
                return [str(ticket["ticket_id"]) for ticket in tickets]

            show_id = await api_show(sandbox, clock)
            yield TheatreLink("api", theatre, rival, show_id, sandbox.base_url, sell_at_till, ticket_ids)
    finally:
        await sandbox.close()


async def api_show(sandbox: TheatreSandbox, clock: TheatreClock) -> str:
    """A show of the sandbox theatre's big hall starting in 2-3 days."""
    soon = clock.now + timedelta(days=2)
    upcoming = await sandbox.store.call(sandbox.store.upcoming_shows, 200)
    return next(
        show["id"]
        for show in upcoming
        if show["id"].startswith(f"{BIG_HALL}-") and show["starts_at"] > soon.timestamp()
    )


@asynccontextmanager
async def database_link(url: str, clock: TheatreClock) -> AsyncIterator[TheatreLink]:
    """A seeded Theatre DB v1 database at `url` (empty), with the box-office page on a port of its own."""
    till = await seeded_theatre_database(url, clock)
    runner = web.AppRunner(box_office_app(till))
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        async with (
            DatabaseTheatreSystem(url, name="elbe", timeout=10.0, clock=clock) as theatre,
            DatabaseTheatreSystem(url, name="rival", application="rival", timeout=10.0, clock=clock) as rival,
        ):

            async def sell_at_till(show_id: str, seats: list[str]) -> str:
                try:
                    return (await boxoffice.sell(till, show_id, seats, clock)).ticket_id
                except BoxOfficeRefusal as refused:
                    raise TillRefused(refused.seats) from None

            async def ticket_ids(show_id: str) -> list[str]:
                return [str(ticket["id"]) for ticket in await boxoffice.tickets(till, show_id)]

            show_id = await database_show(till, clock)
            yield TheatreLink(
                "database", theatre, rival, show_id, f"http://127.0.0.1:{port}", sell_at_till, ticket_ids
            )
    finally:
        await runner.cleanup()
        await till.dispose()


async def seeded_theatre_database(url: str, clock: TheatreClock) -> AsyncEngine:
    """The Theatre DB v1 tables made with the shipped script and the sandbox chain: the till's engine."""
    engine = create_async_engine(url)
    await create_schema(engine)
    await seed_chain(engine, clock.now)
    return engine


async def database_show(engine: AsyncEngine, clock: TheatreClock) -> str:
    """A show of the big hall starting in 2-3 days."""
    soon = (clock.now + timedelta(days=2)).replace(tzinfo=None)
    async with engine.connect() as connection:
        found = await connection.execute(
            select(shows.c.id)
            .where(shows.c.hall_id == BIG_HALL, shows.c.starts_at > soon)
            .order_by(shows.c.starts_at)
            .limit(1)
        )
        return str(found.scalar_one())


async def on_server(server_url: str, *statements: str) -> None:
    """Run statements outside a transaction (CREATE DATABASE and the like)."""
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


def database_server(request: pytest.FixtureRequest, engine: str) -> str | None:
    """The server a database link on `engine` uses: None for SQLite, else the suite's server (or skip)."""
    fixture = SERVER_FIXTURES.get(engine)
    return None if fixture is None else str(request.getfixturevalue(fixture))


@asynccontextmanager
async def empty_theatre_database(server_url: str | None, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database for a theatre: a SQLite file (no server), or one of this test's own on the server,
    dropped while the next tests run (tests/support/dropping.py)."""
    if server_url is None:
        yield f"sqlite+aiosqlite:///{tmp_path / 'theatre.db'}"
        return
    name = f"theatre_db_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    if make_url(server_url).get_backend_name() == "postgresql":
        drop, create = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'
    else:
        drop, create = f"DROP DATABASE IF EXISTS `{name}`", f"CREATE DATABASE `{name}`"
    await on_server(server_url, create)
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        drop_later(functools.partial(on_server, server_url, drop))

"""The till of a database-linked cinema, on the command line or as a page.

    python -m sandbox.theatre_db URL shows                  upcoming shows and free seats
    python -m sandbox.theatre_db URL sell SHOW SEAT...      sell seats at the till
    python -m sandbox.theatre_db URL cancel TICKET          cancel a ticket
    python -m sandbox.theatre_db URL serve [--port 8091]    the box-office page on 127.0.0.1

URL is a Theatre DB v1 database (e.g. sqlite+aiosqlite:///data/theatre-db.sqlite); a database without
the tables gets them and the sandbox chain first.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from datetime import UTC, datetime

from aiohttp import web

from sandbox.theatre_db import boxoffice
from sandbox.theatre_db.boxoffice import BoxOfficeRefusal
from sandbox.theatre_db.page import box_office_app
from sandbox.theatre_db.seed import open_theatre_database


async def run(arguments: argparse.Namespace) -> int:
    """Do what the command line says; 1 when the till refuses."""
    engine = await open_theatre_database(arguments.url, datetime.now(UTC))
    try:
        if arguments.command == "shows":
            for show in await boxoffice.upcoming_shows(engine):
                print(f"{show['id']}  {show['title']}  {show['cinema']}, {show['hall']}  {show['free']} free")
        elif arguments.command == "sell":
            ticket = await boxoffice.sell(engine, arguments.show, arguments.seats)
            print(f"sold {ticket.ticket_id}: {', '.join(ticket.seats)} for {ticket.amount} {ticket.currency}")
        elif arguments.command == "cancel":
            await boxoffice.cancel(engine, arguments.ticket)
            print(f"cancelled {arguments.ticket}")
        else:
            runner = web.AppRunner(box_office_app(engine))
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", arguments.port).start()
            print(f"box office at http://127.0.0.1:{arguments.port}/boxoffice", flush=True)
            try:
                await asyncio.Event().wait()
            finally:
                await runner.cleanup()
    except BoxOfficeRefusal as refusal:
        print(f"refused ({refusal.code}): {refusal}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    return 0


def main() -> None:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("url")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("shows")
    sell = commands.add_parser("sell")
    sell.add_argument("show")
    sell.add_argument("seats", nargs="+")
    cancel = commands.add_parser("cancel")
    cancel.add_argument("ticket")
    serve = commands.add_parser("serve")
    serve.add_argument("--port", type=int, default=8091)
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()

"""Marquee's command line: run every role at once, or one role of a scaled-out deployment."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from booking_core.settings import ConfigurationError
from roles.settings import MarqueeSettings, load_settings

ROLES = {
    "run": "everything in one process on embedded defaults: the demo (sandboxes included)",
    "web": "the aiohttp server: payment and Twilio webhooks, Telegram webhook mode, health, metrics",
    "bot": "the Telegram bot in polling mode (a single instance)",
    "worker": "Dramatiq workers plus the periodic sweeper, outbox relay, reminders and theatre sync",
    "migrate": "upgrade the database schema to the newest migration",
    "seed": "load the demo catalogue (idempotent)",
    "sandbox": "the offline stand-ins of Telegram, Twilio and SMTP, for roles run as separate processes",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: one subcommand per role, plus `catalog import|sync`."""
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="Marquee, a Telegram bot for booking cinema seats. Configuration comes from the "
        "environment and .env (see README: Configuration).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in ROLES.items():
        commands.add_parser(name, help=help_text, description=help_text)
    catalog = commands.add_parser("catalog", help="manage the catalogue", description="manage the catalogue")
    catalog_commands = catalog.add_subparsers(dest="catalog_command", required=True, metavar="ACTION")
    importing = catalog_commands.add_parser(
        "import", help="validate a catalogue file, then import all of it or nothing"
    )
    importing.add_argument("file", type=Path, help="a catalogue file (format: README, 'Catalogue file')")
    catalog_commands.add_parser("sync", help="sync the schedules of connected theatres now")
    on_sale = catalog_commands.add_parser(
        "on-sale",
        help="set when a show goes on sale, and whether early arrivals queue (README: On-sale queue)",
    )
    on_sale.add_argument("show", help="the show's catalogue id")
    on_sale.add_argument("--at", help="ISO 8601 time with an offset, e.g. 2026-12-20T18:00+01:00 (none: now)")
    on_sale.add_argument("--queue", action="store_true", help="sell through the on-sale queue")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, load the settings and run the chosen command."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigurationError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    from roles.logging_setup import configure_logging

    configure_logging(settings.LOG_FORMAT)
    return dispatch(args, settings)


def dispatch(args: argparse.Namespace, settings: MarqueeSettings) -> int:
    """Run one parsed command."""
    from roles import commands

    if args.command == "migrate":
        commands.migrate(settings)
        return 0
    if args.command == "catalog":
        if args.catalog_command == "import":
            return asyncio.run(commands.import_catalogue_file(settings, args.file))
        if args.catalog_command == "on-sale":
            return asyncio.run(commands.set_show_on_sale(settings, args.show, args.at, args.queue))
        return asyncio.run(commands.sync_theatres(settings))
    if args.command == "seed":
        return asyncio.run(commands.seed(settings))
    from roles import processes

    return processes.run_role(args.command, settings)


if __name__ == "__main__":
    logging.captureWarnings(True)
    sys.exit(main())

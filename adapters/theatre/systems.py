"""The connected theatres of THEATRE_SYSTEMS, each behind the adapter its link needs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from sqlalchemy.exc import DBAPIError

from adapters.theatre.database import DatabaseTheatreSystem
from adapters.theatre.db_tables import ContractMismatch
from adapters.theatre.http import HttpTheatreSystem
from booking_core.settings import ConfigurationError, Settings

log = logging.getLogger(__name__)

ConnectedTheatre = HttpTheatreSystem | DatabaseTheatreSystem


def theatre_systems_from_settings(settings: Settings, *, timeout: float) -> dict[str, ConnectedTheatre]:
    """By name: an HttpTheatreSystem for a `base_url`, a DatabaseTheatreSystem for a `database_url`.

    `timeout` bounds one call to either (an HTTP attempt gets half of it, so one retry fits).
    """
    systems: dict[str, ConnectedTheatre] = {}
    for name, config in settings.THEATRE_SYSTEMS.items():
        if config.database_url is not None:
            systems[name] = DatabaseTheatreSystem(
                config.database_url.get_secret_value(),
                name=name,
                application=config.application,
                timeout=timeout,
            )
        else:
            assert config.token is not None  # the settings' validator insists
            systems[name] = HttpTheatreSystem(
                config.url,
                config.token.get_secret_value(),
                name=name,
                timeout=timeout,
                attempt_timeout=timeout / 2,
            )
    return systems


async def check_theatre_databases(systems: Iterable[ConnectedTheatre]) -> None:
    """Stop start-up when a database-linked theatre's tables or rights do not fit Theatre DB v1.

    The ConfigurationError is one line naming what is missing. A theatre database that cannot be
    reached now is only logged: its shows are unavailable until it answers, like a Theatre API's.
    """
    databases = [system for system in systems if isinstance(system, DatabaseTheatreSystem)]
    outcomes = await asyncio.gather(
        *(database.check_contract() for database in databases), return_exceptions=True
    )
    for database, outcome in zip(databases, outcomes, strict=True):
        if isinstance(outcome, ContractMismatch):
            raise ConfigurationError(f"THEATRE_SYSTEMS: {outcome}")
        if isinstance(outcome, TimeoutError | OSError | DBAPIError):
            log.warning("theatre %s: database not checked, it does not answer: %s", database.name, outcome)
        elif isinstance(outcome, BaseException):
            raise outcome

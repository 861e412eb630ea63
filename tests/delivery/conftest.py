"""Fixtures for ticket delivery: a ticket to render, the sandbox SMTP server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from booking_core.tickets.codes import new_ticket_code
from booking_core.tickets.content import TicketView
from sandbox.mailbox import Mailbox, start_mailbox


def make_view(**changes: object) -> TicketView:
    """A ticket for an evening show in Berlin (17:30 UTC is 19:30 local in June), with `changes` applied."""
    fields: dict[str, object] = {
        "code": new_ticket_code(),
        "movie_title": "Dune: Part Two",
        "cinema_name": "Kino International",
        "cinema_address": "Karl-Marx-Allee 33, 10178 Berlin",
        "hall_name": "Saal 1",
        "seat_labels": ("F7", "F8", "F9"),
        "starts_at": datetime(2025, 6, 14, 17, 30, tzinfo=UTC),
        "timezone": "Europe/Berlin",
        "runtime_minutes": 166,
        "amount_minor": 3750,
        "currency": "EUR",
    }
    fields.update(changes)
    return TicketView(**fields)  # type: ignore[arg-type]


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1 that keeps what it receives."""
    server = start_mailbox()
    yield server
    server.stop()

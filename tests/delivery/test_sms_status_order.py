"""Twilio status callbacks repeat and arrive out of order: a stored status only moves forward."""

from __future__ import annotations

import itertools

import pytest

from booking_core.tickets.senders import (
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
    status_moves_forward,
)

FORWARD = [
    (None, "queued"),
    ("pending", "sent"),  # our outbox's own status before Twilio has said anything
    ("queued", "sending"),
    ("accepted", "sent"),
    ("queued", "delivered"),
    ("sending", "sent"),
    ("sent", "delivered"),
    ("sent", "undelivered"),
    ("queued", "failed"),
    ("delivered", "read"),
]
NOT_FORWARD = [
    ("delivered", "sent"),  # the late 'sent' never overwrites 'delivered'
    ("delivered", "delivered"),
    ("delivered", "failed"),
    ("sent", "queued"),
    ("sent", "sending"),
    ("undelivered", "delivered"),
    ("failed", "sent"),
    ("read", "delivered"),
    ("queued", "no-such-status"),
    (None, "no-such-status"),
]


@pytest.mark.parametrize(("old", "new"), FORWARD)
def test_later_statuses_replace_earlier_ones(old: str | None, new: str) -> None:
    assert status_moves_forward(old, new)


@pytest.mark.parametrize(("old", "new"), NOT_FORWARD)
def test_earlier_repeated_or_unknown_statuses_are_ignored(old: str | None, new: str) -> None:
    assert not status_moves_forward(old, new)


def test_any_order_of_callbacks_ends_in_the_final_status() -> None:
    for arrival in itertools.permutations(["sent", "delivered", "sent", "sending"]):
        stored = "queued"
        for status in arrival:
            if status_moves_forward(stored, status):
                stored = status
        assert stored == "delivered", arrival


def test_errors_say_whether_to_retry() -> None:
    transient, permanent = TransientDeliveryError("429", "Too many requests"), PermanentDeliveryError("21211")
    assert isinstance(transient, DeliveryError) and isinstance(permanent, DeliveryError)
    assert (transient.permanent, permanent.permanent) == (False, True)
    assert (transient.code, str(transient), str(permanent)) == ("429", "429: Too many requests", "21211")

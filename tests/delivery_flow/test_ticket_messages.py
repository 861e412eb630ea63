"""The Telegram messages' pure parts: the button the bot must understand, the reminder, error mapping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from booking_core.tickets.senders import PermanentDeliveryError, TransientDeliveryError
from bot.codec import Action, decode
from tests.delivery.conftest import make_view
from workers.telegram_tickets import FloodWait, delivery_error, my_tickets_keyboard, reminder_text


def test_the_my_tickets_button_is_one_the_bot_understands() -> None:
    [[button]] = my_tickets_keyboard().inline_keyboard

    callback = decode(button.callback_data)  # type: ignore[arg-type]

    assert callback is not None and callback.action == Action.MY_TICKETS


def test_the_reminder_names_the_show_in_the_cinemas_time_and_escapes_html() -> None:
    view = make_view(movie_title="Tom & Jerry <3", starts_at=datetime(2025, 6, 14, 17, 30, tzinfo=UTC))

    text = reminder_text(view)

    assert "<b>Tom &amp; Jerry &lt;3</b>" in text
    assert "Saturday 14 June 2025, 19:30" in text  # Berlin time, not 17:30 UTC
    assert f"<code>{view.code}</code>" in text and "F7, F8, F9" in text


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def test_telegram_errors_say_whether_trying_again_can_help() -> None:
    flood = delivery_error(RetryAfter(timedelta(seconds=3)))
    assert isinstance(flood, FloodWait) and flood.retry_after_ms == 3_000

    for permanent in (Forbidden("Forbidden: bot was blocked by the user"), BadRequest("chat not found")):
        assert isinstance(delivery_error(permanent), PermanentDeliveryError)
    for transient in (TimedOut(), NetworkError("connection reset")):
        error = delivery_error(transient)
        assert isinstance(error, TransientDeliveryError) and not error.permanent

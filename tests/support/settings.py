"""The one settings builder of the test stands: every service at this machine's test instances."""

from __future__ import annotations

from typing import Any

from booking_core.settings import Settings, load_settings

# Port 9 (discard) is closed here: a stand that does not test email never reaches a mail server.
NO_SMTP = "smtp://127.0.0.1:9"


def stand_settings(database_url: str, **values: Any) -> Settings:
    """Settings read as production reads them (load_settings), from DATABASE_URL and `values`.

    Unless `values` say otherwise, this is a demo (MODE=demo: stand-ins allowed, with a bot token too),
    payments go to the sandbox provider and email nowhere.
    """
    defaults = {"MODE": "demo", "PAYMENT_PROVIDER": "sandbox", "SMTP_URL": NO_SMTP}
    return load_settings(**{**defaults, "DATABASE_URL": database_url, **values})

"""The one settings builder of the test stands: every service at this machine's test instances."""

from __future__ import annotations

import json
import os
from typing import Any

from roles.settings import MarqueeSettings, load_settings

# Port 9 (discard) is closed here: a stand that does not test email never reaches a mail server.
NO_SMTP = "smtp://127.0.0.1:9"


def stand_settings(database_url: str, **values: Any) -> MarqueeSettings:
    """Settings read as production reads them (load_settings), from DATABASE_URL and `values`.

    Unless `values` say otherwise, this is a demo (MODE=demo: stand-ins allowed, with a bot token too),
    payments go to the sandbox provider and email nowhere.
    """
    defaults = {"MODE": "demo", "PAYMENT_PROVIDER": "sandbox", "SMTP_URL": NO_SMTP}
    return load_settings(**{**defaults, "DATABASE_URL": database_url, **values})


def settings_environment(settings: MarqueeSettings) -> dict[str, str]:
    """This process's environment with `settings` in it: what a subprocess's load_settings() reads back."""
    env = dict(os.environ)
    for name, value in settings.model_dump(mode="json").items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value if isinstance(value, str) else json.dumps(value)
    return env

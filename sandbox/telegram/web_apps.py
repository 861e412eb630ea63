"""Mini Apps in the sandbox: the signed launch parameters Telegram's clients hand a `web_app` page.

A Telegram client opens a `web_app` button's URL with launch parameters in the fragment:
`#tgWebAppData=<initData>&tgWebAppVersion=..&tgWebAppPlatform=..&tgWebAppThemeParams=<JSON>`. initData
is signed with the bot's token as core.telegram.org/bots/webapps documents, so the bot's server can
check it. The sandbox's `telegram-web-app.js` reads that fragment as Telegram's own script does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any
from urllib.parse import quote, urlencode

WEB_APP_VERSION = "8.0"
# Telegram's own colours for its light and dark themes (the keys of ThemeParams).
THEMES: dict[str, dict[str, str]] = {
    "light": {
        "bg_color": "#ffffff",
        "secondary_bg_color": "#f0f2f5",
        "text_color": "#000000",
        "hint_color": "#707579",
        "link_color": "#3390ec",
        "button_color": "#3390ec",
        "button_text_color": "#ffffff",
        "destructive_text_color": "#e53935",
    },
    "dark": {
        "bg_color": "#212121",
        "secondary_bg_color": "#181818",
        "text_color": "#ffffff",
        "hint_color": "#aaaaaa",
        "link_color": "#8774e1",
        "button_color": "#8774e1",
        "button_text_color": "#ffffff",
        "destructive_text_color": "#ff595a",
    },
}


def signed_init_data(user: dict[str, Any], bot_token: str, *, auth_date: int | None = None) -> str:
    """initData for `user` (a Bot API User object), with the hash Telegram computes."""
    fields = {
        "query_id": secrets.token_urlsafe(12),
        "user": json.dumps(user, separators=(",", ":"), ensure_ascii=False),
        "auth_date": str(int(time.time()) if auth_date is None else auth_date),
    }
    check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    key = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(key, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields, quote_via=quote)


def launch_url(url: str, init_data: str, theme: str) -> str:
    """The page's URL with the launch parameters a Telegram client adds."""
    params = {
        "tgWebAppData": init_data,
        "tgWebAppVersion": WEB_APP_VERSION,
        "tgWebAppPlatform": "web",
        "tgWebAppThemeParams": json.dumps(THEMES.get(theme, THEMES["light"]), separators=(",", ":")),
    }
    return f"{url.split('#', 1)[0]}#{urlencode(params, quote_via=quote)}"

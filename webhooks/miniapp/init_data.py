"""Telegram Mini App initData, checked exactly as Telegram documents it.

https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app: the data-check-string
is every received field but `hash`, sorted by key, as `key=value` lines joined by "\\n"; the secret key
is HMAC-SHA256 of the bot token keyed with "WebAppData"; the hash is the hex HMAC-SHA256 of the
data-check-string under that key. Nothing in initData is trusted before the hash matches.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl

# initData remembered as genuine per web process: a few hundred bytes each, one per open page.
REMEMBERED = 10_000


class InitDataRejected(Exception):
    """initData that must not be trusted: missing, malformed, wrongly signed or too old."""


@dataclass(frozen=True)
class WebAppUser:
    """The Telegram user a validated initData names (their private chat with the bot has the same id)."""

    id: int
    first_name: str
    last_name: str | None
    auth_date: int

    @property
    def full_name(self) -> str:
        """First and last name, as Telegram shows them."""
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name


@lru_cache(maxsize=4)
def secret_key(bot_token: str) -> bytes:
    """The key initData is signed with: HMAC-SHA256 of the bot token, keyed with "WebAppData"."""
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def data_check_string(fields: dict[str, str]) -> str:
    """The fields but `hash`, sorted by key, as "key=value" lines."""
    return "\n".join(f"{key}={value}" for key, value in sorted(fields.items()) if key != "hash")


def verify_init_data(init_data: str, bot_token: str, *, max_age_seconds: int, now: float) -> WebAppUser:
    """The user of a genuine, fresh initData; InitDataRejected for anything else."""
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise InitDataRejected("initData is not a query string") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise InitDataRejected("initData repeats a field")
    given = fields.get("hash", "")
    expected = hmac.new(secret_key(bot_token), data_check_string(fields).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise InitDataRejected("initData is not signed by Telegram for this bot")
    try:
        auth_date = int(fields["auth_date"])
        user = json.loads(fields["user"])
        user_id, first_name = int(user["id"]), str(user.get("first_name", ""))
    except (KeyError, ValueError, TypeError):
        raise InitDataRejected("initData lacks auth_date or user") from None
    _check_age(auth_date, max_age_seconds=max_age_seconds, now=now)
    last_name = user.get("last_name")
    return WebAppUser(user_id, first_name, str(last_name) if last_name else None, auth_date)


def _check_age(auth_date: int, *, max_age_seconds: int, now: float) -> None:
    if not now - max_age_seconds <= auth_date <= now + 60:
        raise InitDataRejected("initData has expired: open the seat map again from the chat")


class VerifiedInitData:
    """verify_init_data with a memory of the initData it found genuine: a page sends the same initData
    with every request, so its signature is checked once, and only its age every time after.

    Only initData whose hash matched is remembered (by its exact text), so a forged or altered one is
    checked, and refused, every time. At most `size` are kept, the least recently used dropped first.
    """

    def __init__(self, size: int = REMEMBERED) -> None:
        self._size = size
        self._users: OrderedDict[str, WebAppUser] = OrderedDict()

    def user(self, init_data: str, bot_token: str, *, max_age_seconds: int, now: float) -> WebAppUser:
        """The user of a genuine, fresh initData; InitDataRejected for anything else."""
        user = self._users.get(init_data)
        if user is None:
            user = verify_init_data(init_data, bot_token, max_age_seconds=max_age_seconds, now=now)
            self._users[init_data] = user
            if len(self._users) > self._size:
                self._users.popitem(last=False)
        else:
            self._users.move_to_end(init_data)
            _check_age(user.auth_date, max_age_seconds=max_age_seconds, now=now)
        return user

"""The bot's pending updates: getUpdates long polling, offsets, and the webhook setting that excludes it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sandbox.telegram import errors
from sandbox.telegram.changes import Signal
from sandbox.telegram.errors import ApiError, bad_request

MAX_UPDATES_PER_CALL = 100
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


@dataclass
class WebhookConfig:
    """The webhook set by setWebhook, and how its deliveries have gone."""

    url: str
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] = field(default_factory=list)
    last_error_date: int | None = None
    last_error_message: str | None = None

    def info(self, pending: int) -> dict[str, Any]:
        """The Bot API `WebhookInfo` object."""
        info: dict[str, Any] = {
            "url": self.url,
            "has_custom_certificate": False,
            "pending_update_count": pending,
            "max_connections": self.max_connections,
            "ip_address": "127.0.0.1",
        }
        if self.allowed_updates:
            info["allowed_updates"] = self.allowed_updates
        if self.last_error_date is not None:
            info["last_error_date"] = self.last_error_date
            info["last_error_message"] = self.last_error_message
        return info


def check_webhook(url: str, secret_token: str | None, max_connections: int | None) -> WebhookConfig:
    """A webhook setting as setWebhook validates it (plain http allowed: everything here is local)."""
    if not url.startswith(("http://", "https://")):
        raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
    if secret_token is not None and not _SECRET_TOKEN.fullmatch(secret_token):
        raise ApiError(errors.SECRET_TOKEN_INVALID)
    connections = 40 if max_connections is None else min(max(max_connections, 1), 100)
    return WebhookConfig(url, secret_token, connections)


class UpdateQueue:
    """Updates not yet confirmed by the bot, numbered in order."""

    def __init__(self, signal: Signal, first_update_id: int = 1) -> None:
        self.pending: list[dict[str, Any]] = []
        self.webhook: WebhookConfig | None = None
        self.allowed_updates: list[str] = []
        self.closing = False
        self._signal = signal
        self._next_id = first_update_id
        self._poller = 0

    def push(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Queue an update of `kind` (message, callback_query, ...) unless allowed_updates excludes it."""
        allowed = self.webhook.allowed_updates if self.webhook else self.allowed_updates
        if allowed and kind not in allowed:
            return None
        update = {"update_id": self._next_id, kind: payload}
        self._next_id += 1
        self.pending.append(update)
        self._signal.fire()
        return update

    def confirm(self, offset: int) -> None:
        """Forget updates before `offset`; a negative offset keeps only the last -offset updates."""
        if offset < 0:
            self.pending = self.pending[offset:]
        else:
            self.pending = [update for update in self.pending if update["update_id"] >= offset]

    def drop_pending(self) -> None:
        """Forget every pending update (drop_pending_updates)."""
        self.pending.clear()

    def set_webhook(self, webhook: WebhookConfig | None) -> None:
        """Set or remove the webhook; waiting getUpdates calls then answer 409."""
        self.webhook = webhook
        self._signal.fire()

    async def get_updates(
        self, offset: int | None, limit: int | None, wait_seconds: float, allowed_updates: list[str] | None
    ) -> list[dict[str, Any]]:
        """getUpdates: confirm by offset, then wait up to `wait_seconds` for at most `limit` updates."""
        if self.webhook is not None:
            raise ApiError(errors.WEBHOOK_ACTIVE, 409)
        self._poller += 1
        me = self._poller
        self._signal.fire()  # an older long poll still waiting is told it was terminated
        if allowed_updates is not None:
            self.allowed_updates = allowed_updates
        if offset is not None:
            self.confirm(offset)
        count = min(max(limit or MAX_UPDATES_PER_CALL, 1), MAX_UPDATES_PER_CALL)

        def ready() -> list[dict[str, Any]] | None:
            if self.webhook is not None:
                raise ApiError(errors.WEBHOOK_ACTIVE, 409)
            if me != self._poller:
                raise ApiError(errors.POLLING_CONFLICT, 409)
            if self.closing:
                return []
            return self.pending[:count] or None

        return await self._signal.until(ready, wait_seconds) or []

"""Pushing updates to the bot's webhook, in order, with the secret header and retries on failure."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from sandbox.telegram.chat import now_timestamp
from sandbox.telegram.state import TelegramSandbox
from sandbox.telegram.updates import WebhookConfig

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(frozen=True)
class WebhookDelivery:
    """One attempt to deliver an update: the HTTP status, or the connection error."""

    update_id: int
    url: str
    attempt: int
    status: int | None
    error: str | None
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        """Whether the webhook answered 2xx."""
        return self.status is not None and 200 <= self.status < 300


class WebhookPusher:
    """Delivers pending updates one at a time while a webhook is set.

    Any non-2xx answer is retried `state.webhook_attempts` times with doubling backoff, then the update
    is dropped and the error shown in getWebhookInfo, as Telegram does after "a reasonable number" of tries.
    """

    def __init__(self, state: TelegramSandbox, session: aiohttp.ClientSession):
        self.state = state
        self.session = session

    async def run(self) -> None:
        """Deliver updates until cancelled."""
        queue = self.state.updates
        while not queue.closing:
            webhook = queue.webhook
            if webhook is None or not queue.pending:
                await self.state.signal.wait(30)
                continue
            update = queue.pending[0]
            if await self._deliver(webhook, update):
                queue.pending = [u for u in queue.pending if u["update_id"] != update["update_id"]]

    async def _deliver(self, webhook: WebhookConfig, update: dict[str, Any]) -> bool:
        """True once the update is done with (delivered or given up); False if the webhook changed."""
        headers = {"Content-Type": "application/json"}
        if webhook.secret_token:
            headers[SECRET_HEADER] = webhook.secret_token
        body = orjson.dumps(update)
        timeout = aiohttp.ClientTimeout(total=self.state.webhook_timeout)
        for attempt in range(1, self.state.webhook_attempts + 1):
            if self.state.updates.webhook is not webhook:
                return False
            status, error = None, None
            try:
                async with self.session.post(
                    webhook.url, data=body, headers=headers, timeout=timeout
                ) as answer:
                    status = answer.status
                    if not 200 <= status < 300:
                        error = f"Wrong response from the webhook: {status} {answer.reason}"
            except (aiohttp.ClientError, TimeoutError) as failure:
                error = f"Connection failed: {type(failure).__name__} {failure}".strip()
            self.state.webhook_deliveries.append(
                WebhookDelivery(update["update_id"], webhook.url, attempt, status, error)
            )
            if error is None:
                return True
            webhook.last_error_date, webhook.last_error_message = now_timestamp(), error
            await asyncio.sleep(self.state.webhook_backoff * 2 ** (attempt - 1))
        return True

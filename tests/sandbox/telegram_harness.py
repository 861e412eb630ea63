"""What the Telegram sandbox tests share: a running sandbox, a real Bot, keyboards, pictures."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from PIL import Image
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest

from sandbox.telegram import TelegramSandbox, start_telegram_sandbox
from sandbox.telegram.changes import Signal

TOKEN = "123456:sandbox-test-token"
USER = 4242
WAIT_SECONDS = 10.0  # the longest a step may take on a loaded machine


@dataclass
class Sandbox:
    """A running sandbox: its base URL, its state, and an HTTP client for the user-side API."""

    url: str
    state: TelegramSandbox
    http: aiohttp.ClientSession

    async def get(self, path: str, **params: Any) -> Any:
        """GET /sandbox/telegram/<path>, decoded."""
        async with self.http.get(f"{self.url}/sandbox/telegram/{path}", params=params) as answer:
            return await answer.json()

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        """POST /sandbox/telegram/<path> with a JSON body: the status and the decoded answer."""
        async with self.http.post(f"{self.url}/sandbox/telegram/{path}", json=body) as answer:
            return answer.status, await answer.json()


@asynccontextmanager
async def serve_sandbox(state: TelegramSandbox | None = None) -> AsyncIterator[Sandbox]:
    """Serve a sandbox on a free port for the duration of the block."""
    runner, url, running_state = await start_telegram_sandbox(
        state=state or TelegramSandbox(webhook_backoff=0.01)
    )
    try:
        async with aiohttp.ClientSession() as http:
            yield Sandbox(url, running_state, http)
    finally:
        await runner.cleanup()


def sandbox_bot(url: str) -> Bot:
    """The real python-telegram-bot Bot pointed at a sandbox (use it with `async with`)."""
    return Bot(TOKEN, base_url=f"{url}/bot", base_file_url=f"{url}/file/bot")


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    """An inline keyboard from rows of (text, callback_data)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


def png(width: int = 40, height: int = 20) -> bytes:
    """A real PNG picture of the given size."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "navy").save(buffer, "PNG")
    return buffer.getvalue()


def api_message(error: BadRequest) -> str:
    """The error's description as python-telegram-bot gives it ("Bad Request: " dropped), in lower case."""
    return error.message.lower()


def expected(description: str) -> str:
    """A sandbox description in the form `api_message` gives."""
    return description.removeprefix("Bad Request: ").lower()


async def until(check: Callable[[], bool], what: str, within: float = WAIT_SECONDS) -> None:
    """Until `check()` holds (looked at every 10 ms); fails after `within` seconds, naming `what`."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within} s")
        await asyncio.sleep(0.01)


async def until_waiting(signal: Signal, count: int = 1) -> None:
    """Until `count` long polls wait on `signal` (a sandbox's updates, or one chat)."""
    await until(lambda: signal.waiting >= count, f"{count} long poll(s) waiting")

"""Simulated Telegram users acting through the sandbox process's user-side HTTP API.

The sandbox's state lives in its own process, so everything goes over HTTP: send text, press a button
on the newest message carrying it, and wait (long-polling `GET .../chat?version=&wait=`) until the
bot's messages show what is expected.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

PREFIX = "/sandbox/telegram/users"
WAIT_SECONDS = 20.0
CHECKOUT_ID = re.compile(r"/sandbox/pay/([A-Za-z0-9_\-]+)")

Message = dict[str, Any]


def text_of(message: Message) -> str:
    """A message's text or caption."""
    return str(message.get("text") or message.get("caption") or "")


def buttons(message: Message) -> list[dict[str, Any]]:
    """The inline buttons of a message, row after row."""
    markup = message.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


def callback_data(message: Message) -> list[str]:
    """The callback data of a message's inline buttons."""
    return [str(button["callback_data"]) for button in buttons(message) if "callback_data" in button]


def pay_url(message: Message) -> str:
    """The URL of the Pay button of a checkout message."""
    for button in buttons(message):
        if str(button.get("text", "")).startswith("💳 Pay") and button.get("url"):
            return str(button["url"])
    raise AssertionError(f"no Pay button on {text_of(message)!r}")


def checkout_id_of(url: str) -> str:
    """The checkout id in a sandbox checkout URL."""
    match = CHECKOUT_ID.search(url)
    assert match, url
    return match[1]


@dataclass
class ChatUser:
    """One Telegram user of the sandbox process."""

    http: aiohttp.ClientSession
    sandbox_url: str
    id: int
    messages: list[Message] = field(default_factory=list)
    version: int = -1

    @property
    def _base(self) -> str:
        return f"{self.sandbox_url}{PREFIX}/{self.id}"

    async def create(self, first_name: str | None = None) -> None:
        """Make the user known to the sandbox (the bot can write to them from now on); their chat must be new.

        The sandbox process serves a whole test session, so a chat id two tests (or two parameters of one
        test) share would count the other's messages: such a reuse fails here, not as a duplicate later.
        """
        async with self.http.post(self._base, json={"first_name": first_name or f"Fan{self.id}"}) as answer:
            assert answer.status == 200, await answer.text()
        await self.refresh()
        assert not self.messages, (
            f"chat {self.id} already has {len(self.messages)} messages in this sandbox session:"
            f" another test uses the same chat id\n{self.describe()}"
        )

    async def say(self, text: str) -> None:
        """Send a text message."""
        async with self.http.post(f"{self._base}/messages", json={"text": text}) as answer:
            body = await answer.json()
            assert answer.status == 200 and body["ok"], body

    async def press(self, data: str, *, wait: float = WAIT_SECONDS) -> dict[str, Any]:
        """Press the button `data` on the newest message carrying it; the bot's answer to the press."""
        message = self.message_with(data)
        body = {"message_id": message["message_id"], "callback_data": data}
        async with self.http.post(f"{self._base}/press", json=body) as answer:
            pressed = await answer.json()
            assert answer.status == 200 and pressed["ok"], pressed
        query_id = pressed["callback_query_id"]
        params = {"query_id": query_id, "wait": str(wait)}
        async with self.http.get(f"{self._base}/callback-answers", params=params) as answer:
            answers = (await answer.json())["answers"]
        assert answers, f"user {self.id}: no answer to the press of {data!r} within {wait} s"
        return dict(answers[0])

    async def refresh(self, wait: float = 0.0) -> None:
        """Read the chat; with `wait`, first wait up to that long for a change past what was read."""
        params = {"version": str(self.version), "wait": str(wait)} if wait else {}
        async with self.http.get(f"{self._base}/chat", params=params) as answer:
            chat = await answer.json()
            assert answer.status == 200, chat
        self.messages, self.version = chat["messages"], int(chat["version"])

    async def wait_for(
        self, found: Callable[[list[Message]], Message | None], what: str, within: float = WAIT_SECONDS
    ) -> Message:
        """The message `found` picks from the chat, once there is one."""
        deadline = time.monotonic() + within
        await self.refresh()
        while (message := found(self.messages)) is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"user {self.id}: no {what} after {within} s:\n{self.describe()}")
            await self.refresh(wait=min(left, 5.0))
        return message

    async def wait_for_button(self, data: str, within: float = WAIT_SECONDS) -> Message:
        """The newest bot message with a button `data`."""

        def found(messages: list[Message]) -> Message | None:
            return next((m for m in reversed(messages) if _from_bot(m) and data in callback_data(m)), None)

        return await self.wait_for(found, f"button {data!r}", within)

    async def wait_for_text(self, needle: str, within: float = WAIT_SECONDS) -> Message:
        """The newest bot message whose text or caption contains `needle`."""

        def found(messages: list[Message]) -> Message | None:
            return next((m for m in reversed(messages) if _from_bot(m) and needle in text_of(m)), None)

        return await self.wait_for(found, f"message with {needle!r}", within)

    def message_with(self, data: str) -> Message:
        """The newest bot message (as last read) carrying a button `data`."""
        for message in reversed(self.messages):
            if _from_bot(message) and data in callback_data(message):
                return message
        raise AssertionError(f"user {self.id}: no message has a button {data!r}:\n{self.describe()}")

    def count(self, needle: str) -> int:
        """How many bot messages (as last read) contain `needle`."""
        return sum(1 for message in self.messages if _from_bot(message) and needle in text_of(message))

    def describe(self) -> str:
        """The chat as last read, one line per message, for failure messages."""
        return "\n".join(
            f"  {m['message_id']} {m['from']}: {text_of(m)[:120]!r} {callback_data(m)}" for m in self.messages
        )


def _from_bot(message: Message) -> bool:
    return message.get("from") == "bot" and not message.get("deleted")

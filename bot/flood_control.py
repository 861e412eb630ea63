"""The bot's rate limiter: replies go out at once, what the bot sends on its own initiative is paced.

Telegram's "about 30 messages per second" is its limit for bulk notifications; replies to what a user
just did are not bulk (core.telegram.org/bots/faq; grammY's "Scaling Up IV: Flood Limits"). So:
- every call that is not marked `BULK` (callback answers, the edit of the pressed screen, the answer to
  a message) goes out without waiting behind anybody else's traffic;
- calls marked `BULK` (waitlist offers, expiry notices, hold reminders: `rate_limit_args=BULK`) also
  share `bulk_per_second` across all chats;
- every message to a chat (send, edit, copy, forward) is paced per chat: `per_chat_burst` at once,
  then one per `1 / per_chat_rate` seconds;
- a 429 answer blocks the chat (and, for bulk traffic, the bulk lane) for its `retry_after`, then the
  call is tried again, up to `max_retries` times;
- an edit of a message that is still waiting for its chat's turn is not sent twice: the waiting edit
  goes out once, with the newest content; the caller of that content gets Telegram's answer, the callers
  whose content it replaced get `True` (their screen never went out as such). An edit carrying an older
  `ScreenTurn` than one already sent or waiting for the same message is dropped (answered `True`), so
  a screen never goes back to an older state.
Pacing is per process: two bot processes each pace their own traffic.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram import Bot
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter, ExtBot
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]
Callback = Callable[..., Coroutine[Any, Any, JSONResult]]

# Telegram's published figures (core.telegram.org/bots/faq); the burst is not published.
BULK_PER_SECOND = 30.0
PER_CHAT_RATE = 1.0
PER_CHAT_BURST = 3
MAX_RETRIES = 2
# How many messages' latest screen turn are remembered (older ones cannot be edited out of order any more).
REMEMBERED_SCREENS = 10_000

# Bot API method names are case-insensitive (bot/replies.py calls some in lower case): compared lowered.
_EDITS = frozenset({"editmessagetext", "editmessagecaption", "editmessagemedia", "editmessagereplymarkup"})
_TO_CHAT = ("send", "edit", "copy", "forward")


@dataclass(frozen=True)
class Traffic:
    """What a call is, for the limiter (`rate_limit_args=`): bulk or a reply, and a screen edit's turn."""

    bulk: bool = False
    screen_turn: int | None = None


BULK = Traffic(bulk=True)
_turns = itertools.count(1)


def bulk(bot: Bot) -> dict[str, Any]:
    """The keyword that marks a call as bulk, for a bot with a rate limiter (a plain Bot takes none)."""
    return {"rate_limit_args": BULK} if isinstance(bot, ExtBot) else {}


def screen_turn() -> Traffic:
    """A reply whose screen edit must not be overtaken by an older one (take it while the state is fresh)."""
    return Traffic(screen_turn=next(_turns))


@dataclass
class _Chat:
    """One chat's pacing: when its next message may go (GCRA), and until when a 429 blocks it."""

    next_at: float = 0.0
    blocked_until: float = 0.0


@dataclass
class _WaitingEdit:
    """An edit waiting for its chat's turn; a newer edit of the same message replaces its content."""

    call: tuple[Callback, Any, dict[str, Any]]
    turn: int | None
    result: asyncio.Future[JSONResult] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    followers: int = 0
    # Whose content goes out: a token of the caller that set `call` last.
    owner: object = field(default_factory=object)


class RepliesFirst(BaseRateLimiter[Traffic]):
    """Replies at once, bulk at `bulk_per_second`, every chat paced, 429s waited out (module docstring)."""

    def __init__(
        self,
        *,
        bulk_per_second: float = BULK_PER_SECOND,
        per_chat_rate: float = PER_CHAT_RATE,
        per_chat_burst: int = PER_CHAT_BURST,
        max_retries: int = MAX_RETRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bulk = AsyncLimiter(bulk_per_second, 1.0)
        self._bulk_blocked_until = 0.0
        self._interval = 1.0 / per_chat_rate
        self._burst = per_chat_burst
        self._max_retries = max_retries
        self._clock = clock
        self._chats: dict[int | str, _Chat] = {}
        self._waiting: dict[tuple[int | str, int], _WaitingEdit] = {}
        self._latest_turn: OrderedDict[tuple[int | str, int], int] = OrderedDict()

    @classmethod
    def without_pacing(cls) -> RepliesFirst:
        """Every figure far above Telegram's, for a Bot API that enforces none (the sandbox, by default);
        429s are still waited out."""
        return cls(bulk_per_second=100_000, per_chat_rate=100_000, per_chat_burst=100_000)

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def process_request(
        self,
        callback: Callback,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Traffic | None,
    ) -> JSONResult:
        """Send the call when its chat (and, for bulk, the bot) may; see the module docstring."""
        traffic = rate_limit_args or Traffic()
        method = endpoint.lower()
        chat = data.get("chat_id") if method.startswith(_TO_CHAT) else None
        message = data.get("message_id")
        if chat is None or method not in _EDITS or message is None:
            return await self._send(callback, args, kwargs, chat, traffic.bulk)
        return await self._edit((chat, int(message)), (callback, args, kwargs), traffic)

    async def _edit(
        self, key: tuple[int | str, int], call: tuple[Callback, Any, dict[str, Any]], traffic: Traffic
    ) -> JSONResult:
        turn = traffic.screen_turn
        if turn is not None and turn < self._latest_turn.get(key, 0):
            return True  # an older screen than one already on its way: the newer one stands
        if turn is not None:
            self._remember_turn(key, turn)
        waiting = self._waiting.get(key)
        if waiting is not None:
            # Still waiting for the chat's turn: it goes out once, with this (newer) content.
            waiting.call, waiting.turn, waiting.owner = call, turn, object()
            waiting.followers += 1
            mine = waiting.owner
            result = await asyncio.shield(waiting.result)
            return result if waiting.owner is mine else True
        waiting = _WaitingEdit(call, turn)
        mine = waiting.owner
        self._waiting[key] = waiting
        try:
            await self._chat_turn(key[0])
        finally:
            del self._waiting[key]
        callback, args, kwargs = waiting.call
        try:
            result = await self._send(callback, args, kwargs, key[0], traffic.bulk, paced=True)
        except Exception as error:
            if waiting.followers:
                waiting.result.set_exception(error)
            raise
        waiting.result.set_result(result)
        return result if waiting.owner is mine else True

    def _remember_turn(self, key: tuple[int | str, int], turn: int) -> None:
        self._latest_turn[key] = turn
        self._latest_turn.move_to_end(key)
        while len(self._latest_turn) > REMEMBERED_SCREENS:
            self._latest_turn.popitem(last=False)

    async def _send(
        self,
        callback: Callback,
        args: Any,
        kwargs: dict[str, Any],
        chat: int | str | None,
        bulk: bool,
        *,
        paced: bool = False,
    ) -> JSONResult:
        """Make the call once its chat's turn (unless `paced` already) and the bulk lane allow; retry 429s."""
        for attempt in range(self._max_retries + 1):
            if bulk:
                await self._bulk_turn()
            if chat is not None and not paced:
                await self._chat_turn(chat)
            paced = False
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as flood:
                if attempt == self._max_retries:
                    raise
                wait = retry_after_seconds(flood) + 0.1
                log.info("429 for chat %s: waiting %.1f s before trying again", chat, wait)
                until = self._clock() + wait
                if chat is not None:
                    state = self._chats.setdefault(chat, _Chat())
                    state.blocked_until = max(state.blocked_until, until)
                else:
                    await asyncio.sleep(wait)
                if bulk:
                    self._bulk_blocked_until = max(self._bulk_blocked_until, until)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _chat_turn(self, chat: int | str) -> None:
        """Wait until the chat may get another message, and take that turn."""
        state = self._chats.setdefault(chat, _Chat())
        now = self._clock()
        # GCRA: a message may go when the chat's theoretical time is at most burst-1 intervals ahead.
        at = max(now, state.next_at - (self._burst - 1) * self._interval, state.blocked_until)
        state.next_at = max(state.next_at, at) + self._interval
        if at > now:
            await asyncio.sleep(at - now)
        if len(self._chats) > REMEMBERED_SCREENS:
            self._forget_idle_chats(now)

    def _forget_idle_chats(self, now: float) -> None:
        for chat, state in list(self._chats.items()):
            if state.next_at < now and state.blocked_until < now:
                del self._chats[chat]

    async def _bulk_turn(self) -> None:
        wait = self._bulk_blocked_until - self._clock()
        if wait > 0:
            await asyncio.sleep(wait)
        await self._bulk.acquire()


def retry_after_seconds(flood: RetryAfter) -> float:
    """How long a 429 says to wait, in seconds."""
    # An int (deprecated, with a warning) or a timedelta, depending on PTB_TIMEDELTA.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        wait = flood.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)

"""An open request for a phone number or an email address, kept in Redis (never in process memory).

The answer comes as an ordinary message, so whichever bot process receives it reads here which
screen asked (to replace it with the updated details) and whether a typed text is meant as an email.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import redis.asyncio as aioredis

PROMPT_SECONDS = 15 * 60
_KEY = "bot:contact-prompt:{}"

Kind = Literal["phone", "email"]


@dataclass(frozen=True)
class ContactPrompt:
    """What asked: the kind of detail, the show of the checkout (0: none), the screen and prompt messages."""

    kind: Kind
    show_id: int
    screen_message_id: int
    prompt_message_id: int


class ContactPrompts:
    """One open prompt per user, forgotten after PROMPT_SECONDS."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def open(self, user_id: int, prompt: ContactPrompt) -> None:
        """Remember the prompt just sent (replacing an older one)."""
        value = f"{prompt.kind}:{prompt.show_id}:{prompt.screen_message_id}:{prompt.prompt_message_id}"
        await self._redis.set(_KEY.format(user_id), value, ex=PROMPT_SECONDS)

    async def peek(self, user_id: int) -> ContactPrompt | None:
        """The user's open prompt, if any."""
        value = await self._redis.get(_KEY.format(user_id))
        if value is None:
            return None
        text = value.decode() if isinstance(value, bytes) else str(value)
        kind, show_id, screen, prompt = text.split(":")
        if kind not in ("phone", "email"):
            return None
        return ContactPrompt("phone" if kind == "phone" else "email", int(show_id), int(screen), int(prompt))

    async def close(self, user_id: int) -> None:
        """Forget the user's prompt (answered or declined)."""
        await self._redis.delete(_KEY.format(user_id))

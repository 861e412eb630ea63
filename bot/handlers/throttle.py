"""Before any handler does work: a user sending more than BOT_UPDATES_PER_MINUTE updates is told to slow down.

Callback data can be sent by a script as fast as the network allows; every press redraws a seat map.
A counter per user in Redis (one script call, shared by every bot process) counts the updates
of the current minute; over the limit the update is answered "slow down" and goes no further.
Seat taps and best-seat presses are not counted here: each is a hold attempt, which the core counts per
user and show (HOLD_ATTEMPTS_PER_MINUTE) in the one script call that handles it (toggle.lua, best.lua in
booking_core/holds/lua), refusing it over that limit before changing anything; so such a press costs
one Redis round trip, not two.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop, TypeHandler

from bot import context as ctx
from bot.codec import Action
from bot.context import BotApplication, BotContext
from bot.replies import answer, pressed

log = logging.getLogger(__name__)

# After the log tagging (-100), before every handler that does work (0 and later).
GROUP = -50
WINDOW_SECONDS = 60
# Buttons the core counts as hold attempts, in the call that handles them.
HOLD_ATTEMPTS = frozenset({Action.SEAT, Action.BEST})
SLOW_DOWN = "That was a lot at once. Please wait a minute, then try again."
# The update counted; a new window starts with the first update (one command: a pipeline of two cost
# more than the rest of an answer-only press).
_COUNT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


def _key(user_id: int) -> str:
    return f"bot:updates:{{user:{user_id}}}"


async def limit_updates(update: Update, context: BotContext) -> None:
    """Count the user's update; over the limit, answer "slow down" and stop it here."""
    user = update.effective_user
    if user is None:
        return
    button = pressed(update)
    if button is not None and button.action in HOLD_ATTEMPTS:
        return
    count = await ctx.core(context).redis.eval(_COUNT, 1, _key(user.id), WINDOW_SECONDS)
    limit = ctx.settings(context).BOT_UPDATES_PER_MINUTE
    if int(count) <= limit:
        return
    if int(count) == limit + 1:
        log.info("user %s sent more than %s updates in a minute: slowed down", user.id, limit)
    await answer(update, SLOW_DOWN, alert=True)
    raise ApplicationHandlerStop


def register(application: BotApplication) -> None:
    """Add the limit in its own group, ahead of every handler that does work."""
    application.add_handler(TypeHandler(Update, limit_updates), group=GROUP)

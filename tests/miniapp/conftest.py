"""Fixtures of the Mini App tests: the whole system (bot, web app, sandbox Bot API) over test services."""

from tests.bot.conftest import world  # noqa: F401 - the running system, as the bot tests have it

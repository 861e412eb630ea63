"""Typed keys of the sandbox's aiohttp application."""

from __future__ import annotations

from aiohttp import web

from sandbox.telegram.state import TelegramSandbox

SANDBOX = web.AppKey("telegram_sandbox", TelegramSandbox)

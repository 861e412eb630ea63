"""A local stand-in for the Telegram Bot API, with simulated users and a web chat.

Point python-telegram-bot at it with `ApplicationBuilder().base_url(f"{url}/bot")`; drive users from
tests through `TelegramSandbox` (`send_text`, `press`, `wait_for`, `chat`) or over HTTP under
`/sandbox/telegram/`; people try the bot at `/sandbox/telegram/chat`.
"""

from sandbox.telegram.app import create_telegram_sandbox_app, install_telegram_sandbox, start_telegram_sandbox
from sandbox.telegram.chat import CallbackAnswer, ChatMessage, SimUser
from sandbox.telegram.errors import ApiError, SandboxError
from sandbox.telegram.keys import SANDBOX
from sandbox.telegram.limits import FloodLimits
from sandbox.telegram.state import TelegramSandbox

__all__ = [
    "SANDBOX",
    "ApiError",
    "CallbackAnswer",
    "ChatMessage",
    "FloodLimits",
    "SandboxError",
    "SimUser",
    "TelegramSandbox",
    "create_telegram_sandbox_app",
    "install_telegram_sandbox",
    "start_telegram_sandbox",
]

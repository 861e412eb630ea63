"""Bot API methods about the bot itself: identity, updates, webhook, commands, files."""

from __future__ import annotations

import re
from typing import Any

from sandbox.telegram.errors import bad_request
from sandbox.telegram.methods_messages import Method
from sandbox.telegram.params import Params
from sandbox.telegram.state import TelegramSandbox
from sandbox.telegram.updates import check_webhook

_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
MAX_COMMANDS = 100


async def get_me(state: TelegramSandbox, params: Params) -> dict[str, Any]:
    """getMe."""
    return state.bot


async def get_updates(state: TelegramSandbox, params: Params) -> list[dict[str, Any]]:
    """getUpdates: long polling; the next offset confirms everything before it."""
    allowed = params.get_json("allowed_updates")
    return await state.updates.get_updates(
        params.get_int("offset"),
        params.get_int("limit"),
        params.get_float("timeout", 0.0) or 0.0,
        list(allowed) if isinstance(allowed, list) else None,
    )


async def set_webhook(state: TelegramSandbox, params: Params) -> bool:
    """setWebhook (an empty url removes it)."""
    url = params.get_str("url") or ""
    if params.get_bool("drop_pending_updates"):
        state.updates.drop_pending()
    if not url:
        state.updates.set_webhook(None)
        return True
    webhook = check_webhook(url, params.get_str("secret_token"), params.get_int("max_connections"))
    allowed = params.get_json("allowed_updates")
    webhook.allowed_updates = list(allowed) if isinstance(allowed, list) else []
    state.updates.set_webhook(webhook)
    return True


async def delete_webhook(state: TelegramSandbox, params: Params) -> bool:
    """deleteWebhook."""
    if params.get_bool("drop_pending_updates"):
        state.updates.drop_pending()
    state.updates.set_webhook(None)
    return True


async def get_webhook_info(state: TelegramSandbox, params: Params) -> dict[str, Any]:
    """getWebhookInfo."""
    pending = len(state.updates.pending)
    webhook = state.updates.webhook
    if webhook is None:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": pending}
    return webhook.info(pending)


def _scope_key(params: Params) -> tuple[str, str]:
    scope = params.get_json("scope") or {"type": "default"}
    if not isinstance(scope, dict) or "type" not in scope:
        raise bad_request("can't parse BotCommandScope JSON object")
    return scope["type"], params.get_str("language_code") or ""


async def set_my_commands(state: TelegramSandbox, params: Params) -> bool:
    """setMyCommands for a scope and language."""
    commands = params.get_json("commands")
    if not isinstance(commands, list) or len(commands) > MAX_COMMANDS:
        raise bad_request("can't parse commands JSON object")
    for command in commands:
        if not isinstance(command, dict) or not _COMMAND.fullmatch(str(command.get("command", ""))):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    state.commands[_scope_key(params)] = [
        {"command": c["command"], "description": c["description"]} for c in commands
    ]
    return True


async def get_my_commands(state: TelegramSandbox, params: Params) -> list[dict[str, Any]]:
    """getMyCommands for a scope and language."""
    return state.commands.get(_scope_key(params), [])


async def delete_my_commands(state: TelegramSandbox, params: Params) -> bool:
    """deleteMyCommands for a scope and language."""
    state.commands.pop(_scope_key(params), None)
    return True


async def get_file(state: TelegramSandbox, params: Params) -> dict[str, Any]:
    """getFile: where to download a file the bot sent."""
    stored = state.files.get(params.get_str("file_id") or "")
    if stored is None or stored.url is not None:
        raise bad_request("invalid file_id")
    return stored.file_api()


async def trivially_true(state: TelegramSandbox, params: Params) -> bool:
    """close / logOut: nothing to do locally."""
    return True


BOT_METHODS: dict[str, Method] = {
    "getme": get_me,
    "getupdates": get_updates,
    "setwebhook": set_webhook,
    "deletewebhook": delete_webhook,
    "getwebhookinfo": get_webhook_info,
    "setmycommands": set_my_commands,
    "getmycommands": get_my_commands,
    "deletemycommands": delete_my_commands,
    "getfile": get_file,
    "close": trivially_true,
    "logout": trivially_true,
}

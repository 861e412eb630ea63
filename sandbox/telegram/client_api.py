"""The user side of the sandbox under `/sandbox/telegram/`: what the web chat and tests do as users.

Every answer is JSON. A chat read can wait for news: `?after=<message_id>` waits for a newer message,
`?version=<n>` for any change past version n (edits, presses, keyboards), `&wait=<seconds>` bounds it.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from aiohttp import web

from sandbox.telegram.chat import Chat
from sandbox.telegram.errors import SandboxError
from sandbox.telegram.keys import SANDBOX
from sandbox.telegram.state import TelegramSandbox

PREFIX = "/sandbox/telegram"
MAX_WAIT_SECONDS = 60.0
_PROFILE_FIELDS = ("first_name", "last_name", "username", "language_code", "phone_number")
_STATIC = {
    "webchat.js": "application/javascript",
    "webchat.css": "text/css",
    "telegram-web-app.js": "application/javascript",
}


def _user_id(request: web.Request) -> int:
    try:
        return int(request.match_info["user_id"])
    except ValueError:
        raise web.HTTPBadRequest(text="user id must be an integer") from None


async def _body(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        body = await request.json()
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="body must be a JSON object")
        return body
    return dict(await request.post())


def _profile(body: dict[str, Any]) -> dict[str, Any]:
    return {name: body[name] for name in _PROFILE_FIELDS if body.get(name)}


def _refused(error: Exception) -> web.Response:
    return web.json_response({"ok": False, "error": str(error)}, status=400)


def chat_view(request: web.Request, state: TelegramSandbox, chat: Chat, after: int = 0) -> dict[str, Any]:
    """The chat as the web page shows it: messages newer than `after`, keyboard, profile, version."""
    router = request.app.router

    def file_url(file_id: str) -> str:
        stored = state.files.get(file_id)
        if stored is not None and stored.url is not None:
            return stored.url
        return str(router["telegram_sandbox_file"].url_for(file_id=file_id))

    return {
        "chat_id": chat.user.id,
        "user": {"id": chat.user.id, **{name: getattr(chat.user, name) for name in _PROFILE_FIELDS}},
        "version": chat.version,
        "blocked": chat.blocked,
        "reply_keyboard": chat.reply_keyboard,
        "last_action": {"action": chat.actions[-1][0], "date": chat.actions[-1][1]} if chat.actions else None,
        "messages": [m.view(file_url) for m in chat.visible() if m.message_id > after],
    }


async def get_chat(request: web.Request) -> web.Response:
    """A user's chat, optionally waiting for a newer message (`after`) or any change (`version`)."""
    state = request.app[SANDBOX]
    try:
        chat = state.chat_state(_user_id(request))
    except SandboxError as error:
        return web.json_response({"ok": False, "error": str(error)}, status=404)
    try:
        after = int(request.query.get("after", 0))
        version = int(request.query.get("version", -1))
        wait = min(float(request.query.get("wait", 0)), MAX_WAIT_SECONDS)
    except ValueError:
        raise web.HTTPBadRequest(text="after, version and wait must be numbers") from None

    def news() -> bool | None:
        if state.updates.closing:
            return True
        newer = "after" not in request.query or any(m.message_id > after for m in chat.visible())
        return True if newer and chat.version > version else None

    await chat.changed.until(news, wait)
    return web.json_response(chat_view(request, state, chat, after))


async def post_message(request: web.Request) -> web.Response:
    """The user sends a text message (profile fields in the body update the user first)."""
    state, user_id, body = request.app[SANDBOX], _user_id(request), await _body(request)
    try:
        message = await state.send_text(user_id, str(body.get("text", "")), **_profile(body))
    except SandboxError as error:
        return _refused(error)
    return web.json_response(
        {"ok": True, **chat_view(request, state, state.chat_state(user_id), message.message_id - 1)}
    )


async def post_location(request: web.Request) -> web.Response:
    """The user shares a location."""
    state, user_id, body = request.app[SANDBOX], _user_id(request), await _body(request)
    try:
        message = await state.send_location(user_id, float(body["latitude"]), float(body["longitude"]))
    except (SandboxError, KeyError, ValueError, TypeError) as error:
        return _refused(error)
    return web.json_response(
        {"ok": True, **chat_view(request, state, state.chat_state(user_id), message.message_id - 1)}
    )


async def post_contact(request: web.Request) -> web.Response:
    """The user shares their contact."""
    state, user_id, body = request.app[SANDBOX], _user_id(request), await _body(request)
    phone = str(body.get("phone_number", "")).strip()
    if not phone:
        return _refused(SandboxError("phone_number is required"))
    message = await state.send_contact(user_id, phone, body.get("first_name"), body.get("last_name"))
    return web.json_response(
        {"ok": True, **chat_view(request, state, state.chat_state(user_id), message.message_id - 1)}
    )


async def post_press(request: web.Request) -> web.Response:
    """The user presses an inline button (`forge: true` allows a button that is not there)."""
    state, user_id, body = request.app[SANDBOX], _user_id(request), await _body(request)
    forge = body.get("forge") in (True, "true", "1", 1)
    try:
        query_id = await state.press(
            user_id, int(body["message_id"]), str(body["callback_data"]), forge=forge
        )
    except (SandboxError, KeyError, ValueError) as error:
        return _refused(error)
    return web.json_response(
        {"ok": True, "callback_query_id": query_id, "version": state.chat_state(user_id).version}
    )


async def get_callback_answers(request: web.Request) -> web.Response:
    """The bot's answers to the user's presses; `?query_id=..&wait=..` waits for one answer."""
    state, user_id = request.app[SANDBOX], _user_id(request)
    query_id = request.query.get("query_id")
    wait = min(float(request.query.get("wait", 0)), MAX_WAIT_SECONDS)
    if query_id and user_id in state.chats:
        chat = state.chats[user_id]
        await chat.changed.until(
            lambda: True if any(p.callback_query_id == query_id and p.answer for p in chat.presses) else None,
            wait,
        )
    answers = [answer.view() for answer in state.callback_answers(user_id)]
    if query_id:
        answers = [answer for answer in answers if answer["callback_query_id"] == query_id]
    return web.json_response({"answers": answers})


async def post_profile(request: web.Request) -> web.Response:
    """Create a user or update their profile (first_name, username, phone_number, ...)."""
    state, user_id, body = request.app[SANDBOX], _user_id(request), await _body(request)
    state.add_user(user_id, **_profile(body))
    if "blocked" in body:
        state.block(user_id, body["blocked"] in (True, "true", "1", 1))
    return web.json_response(chat_view(request, state, state.chat_state(user_id), 10**9))


async def post_web_app(request: web.Request) -> web.Response:
    """The user taps a `web_app` button: the page URL with signed launch parameters, as clients open it."""
    state, user_id, body = request.app[SANDBOX], _user_id(request), await _body(request)
    url = str(body.get("url", ""))
    if not url.startswith(("http://", "https://")):
        return _refused(SandboxError("url must be an http(s) URL"))
    try:
        launch = state.web_app_launch(user_id, url, str(body.get("theme", "light")))
    except SandboxError as error:
        return _refused(error)
    return web.json_response({"ok": True, "url": launch})


async def get_overview(request: web.Request) -> web.Response:
    """The bot, its commands, webhook and pending updates, the users, and the location presets."""
    state = request.app[SANDBOX]
    return web.json_response(
        {
            "bot": state.bot,
            "commands": state.commands.get(("default", ""), []),
            "webhook": state.updates.webhook.url if state.updates.webhook else None,
            "pending_updates": len(state.updates.pending),
            "users": [
                {"id": chat.user.id, "first_name": chat.user.first_name, "messages": len(chat.visible())}
                for chat in state.chats.values()
            ],
            "location_presets": [
                {"name": name, "latitude": lat, "longitude": lon} for name, lat, lon in state.location_presets
            ],
        }
    )


async def get_file(request: web.Request) -> web.Response:
    """The bytes of a file the bot sent (photos shown in the web chat)."""
    stored = request.app[SANDBOX].files.get(request.match_info["file_id"])
    if stored is None or stored.url is not None:
        raise web.HTTPNotFound()
    return web.Response(body=stored.data, content_type=stored.content_type)


async def get_page(request: web.Request) -> web.Response:
    """The web chat page and its script and style."""
    name = request.match_info.get("name", "webchat.html")
    content_type = _STATIC.get(name, "text/html")
    text = resources.files("sandbox.telegram").joinpath(name).read_text(encoding="utf-8")
    return web.Response(text=text, content_type=content_type, headers={"Cache-Control": "no-cache"})


def add_client_routes(app: web.Application) -> None:
    """Register the user-side routes and the web chat on `app`."""
    router = app.router
    router.add_get(f"{PREFIX}/chat", get_page)
    router.add_get(PREFIX + r"/{name:webchat\.(js|css)}", get_page)
    router.add_get(f"{PREFIX}/{{name:telegram-web-app\\.js}}", get_page)
    router.add_get(f"{PREFIX}/overview", get_overview)
    router.add_get(f"{PREFIX}/files/{{file_id}}", get_file, name="telegram_sandbox_file")
    router.add_post(f"{PREFIX}/users/{{user_id}}", post_profile)
    router.add_post(f"{PREFIX}/users/{{user_id}}/messages", post_message)
    router.add_post(f"{PREFIX}/users/{{user_id}}/location", post_location)
    router.add_post(f"{PREFIX}/users/{{user_id}}/contact", post_contact)
    router.add_post(f"{PREFIX}/users/{{user_id}}/press", post_press)
    router.add_post(f"{PREFIX}/users/{{user_id}}/web-app", post_web_app)
    router.add_get(f"{PREFIX}/users/{{user_id}}/chat", get_chat)
    router.add_get(f"{PREFIX}/users/{{user_id}}/callback-answers", get_callback_answers)

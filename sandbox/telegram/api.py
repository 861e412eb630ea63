"""The Bot API routes: `/bot<token>/<method>` and `/file/bot<token>/<file_path>`."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from aiohttp import web

from sandbox.telegram.errors import ApiError
from sandbox.telegram.keys import SANDBOX
from sandbox.telegram.methods_bot import BOT_METHODS
from sandbox.telegram.methods_messages import MESSAGE_METHODS, Method
from sandbox.telegram.params import read_params

log = logging.getLogger(__name__)

METHODS: dict[str, Method] = {**BOT_METHODS, **MESSAGE_METHODS}


async def call_method(request: web.Request) -> web.Response:
    """Run one Bot API method and answer like Telegram: `{"ok": true, "result": ...}` or an error object."""
    state = request.app[SANDBOX]
    method_name = request.match_info["method"]
    method = METHODS.get(method_name.lower())
    params_logged: dict[str, object] = {}
    try:
        state.check_token(request.match_info["token"])
        if method is None:
            raise ApiError("Not Found", 404)
        params = await read_params(request)
        params_logged = params.logged()
        result = await method(state, params)
    except ApiError as error:
        state.log_call(method_name, params_logged, error)
        log.info("Bot API %s refused: %s", method_name, error.description)
        return _json_answer(error.payload(), status=error.error_code)
    state.log_call(method_name, params_logged, None)
    return _json_answer({"ok": True, "result": result})


async def download_file(request: web.Request) -> web.Response:
    """A file's bytes at the path getFile gave."""
    state = request.app[SANDBOX]
    try:
        state.check_token(request.match_info["token"])
    except ApiError as error:
        return _json_answer(error.payload(), status=error.error_code)
    stored = state.files.by_path(request.match_info["path"])
    if stored is None:
        return _json_answer({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
    return web.Response(body=stored.data, content_type=stored.content_type)


def _json_answer(payload: dict[str, Any], status: int = 200) -> web.Response:
    """A JSON answer, encoded by orjson (a getUpdates answer carries whole keyboards)."""
    return web.Response(body=orjson.dumps(payload), status=status, content_type="application/json")


def add_bot_api_routes(app: web.Application) -> None:
    """Register the Bot API routes on `app`."""
    app.router.add_route("*", r"/bot{token:[^/]+}/{method:[A-Za-z]+}", call_method)
    app.router.add_get(r"/file/bot{token:[^/]+}/{path:.+}", download_file)

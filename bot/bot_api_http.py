"""The HTTP client under python-telegram-bot's calls: aiohttp in place of PTB's default httpx.

Every Bot API call of a press (the callback answer, the screen edit, the getUpdates that brought it)
goes through here. httpx's connection pool looks at every pooled connection (a socket system call
each) to pick one for a request, so with the hundreds of connections a rush opens, picking one cost
more than the request; aiohttp's connector takes a free connection off a queue. A call goes out as a
JSON object (the Bot API takes application/json for every method), multipart when a file is uploaded.
PTB's own client sends form fields, nested values as JSON text: url-encoding a keyboard of a hundred
buttons cost more than the rest of the request. In the JSON body nested values are JSON objects, and a
value that is JSON text already (`JsonText`: the keyboards bot/replies.py puts together) goes in as it
is, so neither side encodes or parses a keyboard twice. Bodies and answers are written and read by
orjson, several times faster than the standard library's json on them.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData

# PTB's own defaults (telegram.request.HTTPXRequest), in seconds; a file upload may take longer.
CONNECTIONS = 256
READ_TIMEOUT = 5.0
CONNECT_TIMEOUT = 5.0
POOL_TIMEOUT = 1.0
MEDIA_TIMEOUT = 20.0
_JSON = {"Content-Type": "application/json"}


class JsonText(str):
    """A parameter value that is JSON text already: a JSON body takes it as it is (PTB's form fields too)."""

    __slots__ = ()


class AiohttpRequest(BaseRequest):
    """A `telegram.request.BaseRequest` over one aiohttp session of at most `connections` connections."""

    def __init__(self, connections: int = CONNECTIONS, *, read_timeout: float | None = READ_TIMEOUT) -> None:
        self._connections = connections
        self._read_timeout = read_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """The read timeout of a call that names none (PTB adds getUpdates' long-poll time to it)."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session (in the running event loop)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._connections)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.USER_AGENT}
            )

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        """Telegram's answer, read by orjson; what it cannot read goes to PTB's reading (which replaces
        bytes that are not UTF-8, or raises PTB's "Invalid server response")."""
        try:
            answer = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return BaseRequest.parse_json_payload(payload)
        if not isinstance(answer, dict):
            raise TelegramError("Invalid server response")
        return answer

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """One HTTP request; its status and body (PTB turns them into a result or an error)."""
        if self._session is None:
            raise RuntimeError("AiohttpRequest is not initialized")
        files = request_data.multipart_data if request_data is not None else None
        read = _given(read_timeout, self._read_timeout)
        if files and read is not None:
            # aiohttp has no write timeout: an upload may wait for its answer as long as PTB lets it write.
            write = _given(write_timeout, MEDIA_TIMEOUT)
            read = None if write is None else max(read, write)
        pool, connect = _given(pool_timeout, POOL_TIMEOUT), _given(connect_timeout, CONNECT_TIMEOUT)
        timeout = aiohttp.ClientTimeout(
            sock_read=read,
            sock_connect=connect,
            # aiohttp's `connect` is the wait for a free connection and the opening of a new one together.
            connect=None if pool is None or connect is None else pool + connect,
        )
        body: aiohttp.FormData | bytes | None = None
        if request_data is not None:
            body = _form(request_data, files) if files else _json_body(request_data)
        headers = _JSON if isinstance(body, bytes) else None
        try:
            async with self._session.request(
                method, url, data=body, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{error.__class__.__name__}: {error}") from error


def _given(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value


def _json_body(request_data: RequestData) -> bytes:
    """The parameters as one JSON object; `JsonText` values in it as they are."""
    fields = (orjson.dumps(name) + b":" + _json(value) for name, value in request_data.parameters.items())
    return b"{" + b",".join(fields) + b"}"


def _json(value: object) -> bytes:
    return value.encode() if isinstance(value, JsonText) else orjson.dumps(value)


def _form(request_data: RequestData, files: dict[str, Any]) -> aiohttp.FormData:
    """The parameters and files of an upload as multipart form data."""
    form = aiohttp.FormData()
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in files.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form

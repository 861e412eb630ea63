"""Reading Bot API parameters however a client sends them: query string, JSON, form fields or multipart.

python-telegram-bot sends form fields whose non-string values are JSON-encoded (`reply_markup`,
`chat_id`, booleans), and multipart with the uploaded files as extra parts; other clients send JSON.
Each getter converts by the type the method expects, so a text of "123" stays a string.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import BodyPartReader, web

from sandbox.telegram.errors import ApiError, bad_request


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    filename: str
    content_type: str
    data: bytes


class Params:
    """The parameters of one Bot API call, with typed getters."""

    def __init__(self, values: dict[str, Any], uploads: dict[str, Upload] | None = None):
        self.values = values
        self.uploads = uploads or {}

    def has(self, name: str) -> bool:
        """Whether the parameter was sent (and is not null)."""
        return self.values.get(name) is not None

    def get_str(self, name: str, default: str | None = None) -> str | None:
        """A string parameter, as sent."""
        value = self.values.get(name)
        if value is None:
            return default
        return value if isinstance(value, str) else json.dumps(value)

    def get_int(self, name: str, default: int | None = None) -> int | None:
        """An integer parameter; a malformed one is a Bad Request."""
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise bad_request(f"invalid {name} specified")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def get_float(self, name: str, default: float | None = None) -> float | None:
        """A number parameter."""
        value = self.values.get(name)
        if value is None or value == "":
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def get_bool(self, name: str, default: bool = False) -> bool:
        """A boolean parameter ("true"/"false", 1/0 or a JSON boolean)."""
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def get_json(self, name: str, unparsable: str | None = None) -> Any:
        """A JSON-serialised parameter (object or array), decoded."""
        value = self.values.get(name)
        if not isinstance(value, str):
            return value
        try:
            return orjson.loads(value)
        except ValueError:
            raise ApiError(unparsable or f"Bad Request: can't parse {name} JSON object") from None

    def upload(self, name: str) -> Upload | None:
        """The file uploaded as part `name`, if any."""
        return self.uploads.get(name)

    def logged(self) -> dict[str, Any]:
        """The parameters as recorded in the call log (uploads summarised)."""
        record = dict(self.values)
        for name, upload in self.uploads.items():
            record[name] = f"<upload {upload.filename} {len(upload.data)} bytes>"
        return record


async def read_params(request: web.Request) -> Params:
    """Every parameter of a Bot API request, from the query string and the body."""
    values: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.method == "POST" and request.can_read_body:
        content_type = request.content_type
        if content_type == "application/json":
            try:
                body = orjson.loads(await request.read())
            except orjson.JSONDecodeError:
                raise bad_request("can't parse JSON object") from None
            if not isinstance(body, dict):
                raise bad_request("request body must be a JSON object")
            values.update(body)
        elif content_type.startswith("multipart/"):
            await _read_multipart(request, values, uploads)
        else:
            values.update(await request.post())
    return Params(values, uploads)


async def _read_multipart(request: web.Request, values: dict[str, Any], uploads: dict[str, Upload]) -> None:
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue
        data = await part.read(decode=True)
        if part.filename is None:
            values[part.name] = data.decode(part.get_charset("utf-8"))
        else:
            content_type = part.headers.get("Content-Type", "application/octet-stream")
            uploads[part.name] = Upload(part.filename, content_type, bytes(data))

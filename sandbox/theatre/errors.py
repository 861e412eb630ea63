"""How the sandbox theatre says no: an HTTP status, a stable code, a message and optional details."""

from __future__ import annotations

from typing import Any


class Refusal(Exception):
    """An answer other than success: HTTP status, stable code, message and optional details."""

    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        """The JSON error body of the Theatre API."""
        return {"error": {"code": self.code, "message": self.message, **self.details}}

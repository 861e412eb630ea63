"""The id of the request, update or job being handled, attached to every log line written meanwhile."""

from __future__ import annotations

import contextvars

correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)

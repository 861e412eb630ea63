"""A signal from the worker itself: how many messages of each actor have finished (done, failed or skipped).

A Dramatiq middleware (the broker's own extension point) added to a test's broker, so a test can wait
until every job it caused has run to the end, instead of sleeping and hoping the last one is done.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import dramatiq


class FinishedMessages(dramatiq.Middleware):
    """Counts finished messages per actor; `wait_for` (blocking: call it in a thread) waits for a count."""

    def __init__(self) -> None:
        self._finished: Counter[str] = Counter()
        self._changed = threading.Condition()

    def _finish(self, message: dramatiq.Message[Any]) -> None:
        with self._changed:
            self._finished[message.actor_name] += 1
            self._changed.notify_all()

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: dramatiq.Message[Any],
        *,
        result: Any = None,
        exception: Any = None,
    ) -> None:
        """A message ran to its end, returning or raising."""
        self._finish(message)

    def after_skip_message(self, broker: dramatiq.Broker, message: dramatiq.Message[Any]) -> None:
        """A message was skipped (by another middleware) without running."""
        self._finish(message)

    def wait_for(self, actor_name: str, count: int, within: float) -> None:
        """Until `count` messages of `actor_name` have finished; fails after `within` seconds."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._finished[actor_name] >= count, timeout=within):
                raise AssertionError(
                    f"{self._finished[actor_name]} of {count} {actor_name} messages finished in {within} s"
                )

"""Clocks that tests move by hand."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class HandClock:
    """Seconds (as time.time() or time.monotonic() give them) that move only when the test says so."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


class TheatreClock:
    """The sandbox theatre's clock: real time when the test starts, then moved by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the theatre's time forward."""
        self.now += timedelta(seconds=seconds)

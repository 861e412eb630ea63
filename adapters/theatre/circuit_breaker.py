"""A circuit breaker: stop calling a service that keeps failing, and probe it now and then.

Closed: calls go through; `failure_threshold` consecutive failures open it. Open: calls are refused at
once for `reset_seconds`. Half-open: one probe call goes through; its success closes the breaker, its
failure opens it for another `reset_seconds`. A probe that never reports back (its caller was cancelled)
counts as failed after `reset_seconds`, so the breaker cannot stay stuck half-open.

Plain Python and single-threaded (one event loop); the clock is injectable for tests.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable


class CircuitState(enum.StrEnum):
    """Where the breaker is."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Counts consecutive failures of one service and decides whether the next call may go."""

    def __init__(
        self,
        failure_threshold: int = 3,
        reset_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or reset_seconds <= 0:
            raise ValueError("failure_threshold must be >= 1 and reset_seconds > 0")
        self.failure_threshold = failure_threshold
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probe_started_at: float | None = None

    @property
    def state(self) -> CircuitState:
        """CLOSED, OPEN, or HALF_OPEN once the cool-down has passed."""
        if self._opened_at is None:
            return CircuitState.CLOSED
        if self._clock() - self._opened_at < self.reset_seconds:
            return CircuitState.OPEN
        return CircuitState.HALF_OPEN

    @property
    def consecutive_failures(self) -> int:
        """Failures since the last success."""
        return self._failures

    def seconds_until_probe(self) -> float:
        """How long until a call may go through again (0 when it may go now)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._opened_at + self.reset_seconds - self._clock())

    def allow(self) -> bool:
        """Whether a call may go now; in half-open state this hands out the single probe."""
        state = self.state
        if state is CircuitState.CLOSED:
            return True
        if state is CircuitState.OPEN:
            return False
        now = self._clock()
        if self._probe_started_at is not None and now - self._probe_started_at < self.reset_seconds:
            return False
        self._probe_started_at = now
        return True

    def record_success(self) -> None:
        """The service answered: close the breaker."""
        self._failures = 0
        self._opened_at = None
        self._probe_started_at = None

    def record_failure(self) -> None:
        """The service failed: count it, and open (or re-open) the breaker when it is time."""
        self._failures += 1
        was_probing = self._opened_at is not None
        if was_probing or self._failures >= self.failure_threshold:
            self._opened_at = self._clock()
            self._probe_started_at = None

"""`TheatreSystem` over HTTP: a client of Theatre API v1 (docs/theatre-api.md) built on aiohttp.

Every call has a total time budget (retries included) and goes through a circuit breaker, so a theatre
that is down or hanging costs the bot about a second at most, and nothing at all once the breaker is
open. GETs, DELETEs and POSTs (which always carry their idempotency key, so a repeat replays the first
answer) are retried with bounded, jittered exponential backoff on timeouts, connection errors, 429 and
5xx. Answers are turned into the typed errors of `booking_core.theatre.port`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp

from adapters.theatre.circuit_breaker import CircuitBreaker
from adapters.theatre.wire import parse_lock, parse_sale, parse_schedule, parse_seat_status, rfc3339
from booking_core.theatre.port import (
    Lock,
    LockExpired,
    Sale,
    SeatStatus,
    SeatsUnavailable,
    TheatreError,
    TheatreRejected,
    TheatreSchedule,
    TheatreUnavailable,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

# Answers worth asking again for: the theatre is busy or broken right now, not saying no.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
# TheatreUnavailable.reason when the theatre kept answering 409 request_in_progress to the last attempt.
IN_PROGRESS = "in_progress"


@dataclass(frozen=True)
class _Answer:
    status: int
    body: Any  # parsed JSON, or None
    unreadable: str | None = None  # why the body could not be read as JSON, in words


class HttpTheatreSystem:
    """One connected theatre's Theatre API: one aiohttp session, one circuit breaker.

    `timeout` bounds a whole call including retries, `attempt_timeout` one attempt, `retries` the
    extra attempts; `schedule_timeout` replaces `timeout` for the (large, background) schedule.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        name: str = "",
        timeout: float = 1.0,
        attempt_timeout: float = 0.5,
        retries: int = 2,
        backoff: float = 0.05,
        schedule_timeout: float = 30.0,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        if timeout <= 0 or attempt_timeout <= 0 or retries < 0 or backoff < 0 or schedule_timeout <= 0:
            raise ValueError("timeouts must be positive, retries and backoff not negative")
        self.base_url = base_url.rstrip("/")
        self.name = name or self.base_url
        self.timeout = timeout
        self.attempt_timeout = attempt_timeout
        self.retries = retries
        self.backoff = backoff
        self.schedule_timeout = schedule_timeout
        self.breaker = breaker or CircuitBreaker(failure_threshold=3, reset_seconds=5.0)
        self._token = token
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> HttpTheatreSystem:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session (the next call would open a new one)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- TheatreSystem -----------------------------------------------------------------------------

    async def schedule(self, frm: datetime, to: datetime) -> TheatreSchedule:
        """GET /v1/schedule: the theatre's cinemas, halls, movies and shows starting in [frm, to)."""
        query = {"from": rfc3339(frm), "to": rfc3339(to)}
        answer = await self._call(
            "GET", "/v1/schedule", query=query, total=self.schedule_timeout, per_attempt=self.schedule_timeout
        )
        return self._parse(answer, parse_schedule)

    async def seat_status(self, show_external_id: str) -> SeatStatus:
        """GET /v1/shows/{show}/seats: the show's sold and locked seats and their version."""
        answer = await self._call("GET", f"/v1/shows/{_segment(show_external_id)}/seats")
        return self._parse(answer, parse_seat_status)

    async def lock(
        self,
        show_external_id: str,
        seats: Sequence[str],
        ttl_seconds: int,
        reference: str,
        idempotency_key: str,
    ) -> Lock:
        """POST /v1/shows/{show}/locks: lock all the seats, or raise SeatsUnavailable naming the taken."""
        body = {"seats": list(seats), "ttl_seconds": ttl_seconds, "reference": reference}
        answer = await self._call(
            "POST",
            f"/v1/shows/{_segment(show_external_id)}/locks",
            body=body,
            idempotency_key=idempotency_key,
        )
        return self._parse(answer, parse_lock)

    async def release(self, lock_id: str) -> None:
        """DELETE /v1/locks/{lock}: free the lock's seats (fine if it had expired already)."""
        _expect(await self._call("DELETE", f"/v1/locks/{_segment(lock_id)}"))

    async def commit(
        self, lock_id: str, reference: str, amount_minor: int, currency: str, idempotency_key: str
    ) -> Sale:
        """POST /v1/locks/{lock}/commit: the sale; LockExpired (410) or SeatsUnavailable (409) if too late."""
        body = {"reference": reference, "amount": amount_minor, "currency": currency}
        answer = await self._call(
            "POST", f"/v1/locks/{_segment(lock_id)}/commit", body=body, idempotency_key=idempotency_key
        )
        return self._parse(answer, parse_sale)

    async def cancel_ticket(self, ticket_id: str, idempotency_key: str) -> None:
        """POST /v1/tickets/{ticket}/cancel: cancel a sold ticket."""
        answer = await self._call(
            "POST", f"/v1/tickets/{_segment(ticket_id)}/cancel", body={}, idempotency_key=idempotency_key
        )
        _expect(answer)

    # -- transport -------------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        total: float | None = None,
        per_attempt: float | None = None,
    ) -> _Answer:
        """One logical call through the breaker: any answer closes it, unavailability counts against it."""
        if method == "POST" and not idempotency_key:
            raise ValueError("every POST to a theatre needs an idempotency key")
        if not self.breaker.allow():
            wait = self.breaker.seconds_until_probe()
            raise TheatreUnavailable(
                "circuit_open", f"{self.name}: not called for {wait:.1f}s more after failures"
            )
        try:
            answer = await self._attempts(
                method,
                self.base_url + path,
                query=query,
                data=None if body is None else json.dumps(body).encode(),
                idempotency_key=idempotency_key,
                total=total or self.timeout,
                per_attempt=per_attempt or self.attempt_timeout,
            )
        except TheatreUnavailable as exc:
            if exc.reason == IN_PROGRESS:
                self.breaker.record_success()  # it answered: alive, only still busy with our request
            else:
                self.breaker.record_failure()
            log.warning("theatre %s: %s %s failed: %s", self.name, method, path, exc)
            raise
        self.breaker.record_success()
        return answer

    async def _attempts(
        self,
        method: str,
        url: str,
        *,
        query: dict[str, str] | None,
        data: bytes | None,
        idempotency_key: str | None,
        total: float,
        per_attempt: float,
    ) -> _Answer:
        """Try, and retry what may be retried, until an answer or the end of the time budget."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + total
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        session = self._client()
        attempt = 0
        while True:
            attempt += 1
            try:
                async with asyncio.timeout(min(per_attempt, deadline - loop.time())):
                    async with session.request(
                        method, url, params=query, data=data, headers=headers
                    ) as response:
                        status, raw = response.status, await response.read()
            except TimeoutError:
                failure = TheatreUnavailable("timeout", f"{self.name}: no answer in time")
            except (aiohttp.ClientError, OSError) as exc:
                failure = TheatreUnavailable("connection", f"{self.name}: {type(exc).__name__}: {exc}")
            else:
                answer = _answer(status, raw)
                if not _retryable(answer):
                    return answer
                reason = IN_PROGRESS if answer.status == 409 else "server_error"
                failure = TheatreUnavailable(reason, f"{self.name}: answered {status} {_code(answer)}")
            # Jitter keeps many bot processes from retrying a recovering theatre in step.
            delay = self.backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.0)
            if attempt > self.retries or loop.time() + delay >= deadline:
                raise failure
            await asyncio.sleep(delay)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # Time is bounded per attempt by asyncio.timeout; this is only a backstop.
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.schedule_timeout))
        return self._session

    def _parse(self, answer: _Answer, parser: Callable[[Any], T]) -> T:
        body = _expect(answer)
        if answer.unreadable is not None:
            raise TheatreUnavailable(
                "bad_response", f"{self.name}: the answer ({answer.status}) is not JSON: {answer.unreadable}"
            )
        try:
            return parser(body)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise TheatreUnavailable("bad_response", f"{self.name}: unusable answer: {exc}") from None


# -- answers ---------------------------------------------------------------------------------------


def _answer(status: int, raw: bytes) -> _Answer:
    try:
        body = json.loads(raw) if raw else None
    except UnicodeDecodeError:
        return _Answer(status, None, "it is not UTF-8 text")  # the status alone has to do
    except json.JSONDecodeError as exc:
        return _Answer(status, None, f"{exc.msg} at line {exc.lineno} column {exc.colno}")
    return _Answer(status, body)


def _code(answer: _Answer) -> str:
    error = answer.body.get("error") if isinstance(answer.body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else f"http_{answer.status}"


def _retryable(answer: _Answer) -> bool:
    # 409 request_in_progress: our earlier attempt with this key is still running at the theatre.
    return answer.status in RETRYABLE_STATUSES or (
        answer.status == 409 and _code(answer) == "request_in_progress"
    )


def _expect(answer: _Answer) -> Any:
    """The body of a successful answer, or the typed error the theatre's answer means."""
    if 200 <= answer.status < 300:
        return answer.body
    raise _refusal(answer)


def _refusal(answer: _Answer) -> TheatreError:
    code = _code(answer)
    error = answer.body.get("error") if isinstance(answer.body, dict) else None
    message = error.get("message", "") if isinstance(error, dict) else ""
    if answer.status == 409 and code == "seats_unavailable":
        details = error if isinstance(error, dict) else {}
        return SeatsUnavailable(
            _labels(details.get("seats")), str(message), sold=_labels(details.get("sold"))
        )
    if answer.status == 410:
        return LockExpired(str(message) or "the lock has expired")
    return TheatreRejected(answer.status, code, str(message))


def _labels(seats: Any) -> list[str]:
    return [str(seat) for seat in seats] if isinstance(seats, list) else []


def _segment(external_id: str) -> str:
    if not external_id:
        raise ValueError("empty id")
    return quote(external_id, safe="")

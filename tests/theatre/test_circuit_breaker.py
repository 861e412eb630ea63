"""The circuit breaker on a hand-moved clock: closed, open, half-open with one probe, closed again."""

from __future__ import annotations

import pytest

from adapters.theatre.circuit_breaker import CircuitBreaker, CircuitState
from tests.support.clocks import HandClock


@pytest.fixture
def clock() -> HandClock:
    return HandClock(start=1000.0)


@pytest.fixture
def breaker(clock: HandClock) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=3, reset_seconds=10.0, clock=clock)


def test_opens_after_the_threshold_of_consecutive_failures(breaker: CircuitBreaker) -> None:
    # Given two failures
    breaker.record_failure()
    breaker.record_failure()
    # Then calls still go
    assert breaker.state is CircuitState.CLOSED and breaker.allow()
    # When a third one follows
    breaker.record_failure()
    # Then the breaker is open and refuses calls
    assert breaker.state is CircuitState.OPEN
    assert not breaker.allow()
    assert breaker.seconds_until_probe() == 10.0


def test_a_success_resets_the_count(breaker: CircuitBreaker) -> None:
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state is CircuitState.CLOSED
    assert breaker.consecutive_failures == 2


def test_half_open_lets_exactly_one_probe_through(breaker: CircuitBreaker, clock: HandClock) -> None:
    # Given an open breaker whose cool-down has passed
    for _ in range(3):
        breaker.record_failure()
    clock.now += 9.9
    assert not breaker.allow()
    clock.now += 0.1
    assert breaker.state is CircuitState.HALF_OPEN
    # Then one call may probe, and others wait for its outcome
    assert breaker.allow()
    assert not breaker.allow()
    assert not breaker.allow()


def test_a_successful_probe_closes(breaker: CircuitBreaker, clock: HandClock) -> None:
    for _ in range(3):
        breaker.record_failure()
    clock.now += 10
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is CircuitState.CLOSED
    assert breaker.allow() and breaker.allow()


def test_a_failed_probe_opens_for_a_new_cool_down(breaker: CircuitBreaker, clock: HandClock) -> None:
    for _ in range(3):
        breaker.record_failure()
    clock.now += 10
    assert breaker.allow()
    # When the single probe fails
    breaker.record_failure()
    # Then the breaker is open for another full cool-down, though one failure is below the threshold
    assert breaker.state is CircuitState.OPEN
    clock.now += 9.9
    assert not breaker.allow()
    clock.now += 0.1
    assert breaker.allow()


def test_a_probe_that_never_reports_does_not_jam_the_breaker(
    breaker: CircuitBreaker, clock: HandClock
) -> None:
    # Given a probe whose caller was cancelled before recording anything
    for _ in range(3):
        breaker.record_failure()
    clock.now += 10
    assert breaker.allow()
    clock.now += 5
    assert not breaker.allow()
    # Then after another cool-down a new probe may go
    clock.now += 5
    assert breaker.allow()


def test_rejects_nonsense_settings() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(failure_threshold=0)
    with pytest.raises(ValueError):
        CircuitBreaker(reset_seconds=0)

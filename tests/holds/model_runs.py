"""Runs a model-based test's state machine (hypothesis) against the real system: a fresh schema on the
test's database, the test's Redis, and one event loop the machine's rules run their coroutines on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from booking_core.database import SessionFactory, create_engine, create_session_factory
from booking_core.events import CollectingSink
from roles.redis_server import RedisEndpoint
from tests.support.clocks import HandClock
from tests.support.database import reset_schema


class SystemMachine(RuleBasedStateMachine):
    """A state machine over the real system: an empty Redis, a hand clock and the events published."""

    run: Callable[[Any], Any]
    endpoint: RedisEndpoint
    sessions: SessionFactory

    def __init__(self) -> None:
        super().__init__()
        self.clock = HandClock()
        self.sink = CollectingSink()
        self.redis = self.endpoint.client()
        self.run(self.redis.flushdb())

    def teardown(self) -> None:
        """Close this example's Redis client."""
        self.run(self.redis.aclose())


def run_model(
    machine: type[SystemMachine],
    redis_endpoint: RedisEndpoint,
    database_url: str,
    *,
    max_examples: int,
    step_count: int,
) -> None:
    """Run `machine` for `max_examples` examples of up to `step_count` steps each; its class attributes
    `run` (run a coroutine), `endpoint` (Redis) and `sessions` (SQL) are set first."""
    with asyncio.Runner() as runner:
        engine = create_engine(database_url)

        runner.run(reset_schema(engine))
        machine.run = staticmethod(runner.run)
        machine.endpoint = redis_endpoint
        machine.sessions = create_session_factory(engine)
        try:
            run_state_machine_as_test(
                machine,
                settings=settings(
                    max_examples=max_examples,
                    stateful_step_count=step_count,
                    deadline=None,
                    # The same examples on every run and machine: CI must not pass or fail by luck,
                    # nor replay an example saved by a run against another Redis's state.
                    derandomize=True,
                    database=None,
                    # A failing run reports its steps as found: shrinking them takes minutes here.
                    phases=(Phase.explicit, Phase.reuse, Phase.generate),
                    suppress_health_check=[HealthCheck.too_slow],
                ),
            )
        finally:
            runner.run(engine.dispose())

"""Running the payment actors in tests: brokers of a test's own, and worker contexts on Dramatiq's loop.

Kept apart from harness.py (no pytest, no web app) so a worker subprocess imports only what a worker
process needs.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import dramatiq
from dramatiq.asyncio import get_event_loop_thread

from booking_core.events import CollectingSink
from roles.settings import MarqueeSettings
from tests.support.worker import open_worker_side
from workers.broker import HEARTBEAT_TIMEOUT_MS, MAINTENANCE_CHANCE, build_broker
from workers.context import WorkerContext
from workers.jobs import DramatiqJobs
from workers.payments import PAYMENTS_QUEUE, PROVIDER_QUEUE
from workers.registry import ActorSpec, lazy_context, register_actors
from workers.running import running_worker

TELEGRAM_TOKEN = "123456:flows-test"


@dataclass(frozen=True)
class BrokerPlan:
    """Where a test's messages go: a broker URL, with a Redis namespace or RabbitMQ queue names of its own."""

    url: str
    namespace: str = "marquee"
    queue_suffix: str = ""

    @property
    def is_rabbitmq(self) -> bool:
        """True for an amqp:// broker."""
        return self.url.startswith("amqp://")

    def build(
        self,
        *,
        heartbeat_timeout_ms: int = HEARTBEAT_TIMEOUT_MS,
        maintenance_chance: float = MAINTENANCE_CHANCE,
    ) -> dramatiq.Broker:
        """A broker for this plan, built by the production `build_broker`."""
        return build_broker(
            self.url,
            heartbeat_timeout_ms=heartbeat_timeout_ms,
            maintenance_chance=maintenance_chance,
            namespace=self.namespace,
        )

    def specs(self, specs: Iterable[ActorSpec]) -> list[ActorSpec]:
        """The actor specs with this plan's queue names."""
        return [dataclasses.replace(spec, queue=spec.queue + self.queue_suffix) for spec in specs]

    def env(self) -> dict[str, str]:
        """The plan for a worker subprocess (read back by `from_env`)."""
        return {
            "FLOW_BROKER_URL": self.url,
            "FLOW_NAMESPACE": self.namespace,
            "FLOW_QUEUE_SUFFIX": self.queue_suffix,
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> BrokerPlan:
        """The plan a parent process passed in the environment."""
        return cls(
            url=env["FLOW_BROKER_URL"], namespace=env["FLOW_NAMESPACE"], queue_suffix=env["FLOW_QUEUE_SUFFIX"]
        )

    def delete_rabbitmq_queues(self) -> None:
        """Remove this test's RabbitMQ queues (their delay and dead-letter queues too)."""
        if not self.is_rabbitmq or not self.queue_suffix:
            return
        import pika

        connection = pika.BlockingConnection(pika.URLParameters(self.url))
        try:
            channel = connection.channel()
            for queue in (PAYMENTS_QUEUE, PROVIDER_QUEUE):
                for name in (
                    queue + self.queue_suffix,
                    f"{queue}{self.queue_suffix}.DQ",
                    f"{queue}{self.queue_suffix}.XQ",
                ):
                    channel.queue_delete(name)
        finally:
            connection.close()


class WorkerResources:
    """Opens a worker process's context on the actors' event loop, and closes it there."""

    def __init__(self, settings: MarqueeSettings, telegram_api: str, events: CollectingSink) -> None:
        self.settings = settings
        self.telegram_api = telegram_api
        self.events = events
        self.jobs: DramatiqJobs | None = None
        self._stack: AsyncExitStack | None = None

    async def open(self) -> WorkerContext:
        """Open the core and the worker context (called once, by `lazy_context`, on the actors' loop)."""
        stack = AsyncExitStack()
        _core, context = await stack.enter_async_context(
            open_worker_side(
                self.settings,
                self.events,
                telegram_token=TELEGRAM_TOKEN,
                telegram_api_base_url=self.telegram_api,
            )
        )
        context.jobs = self.jobs
        self._stack = stack
        return context

    def close_on_worker_loop(self) -> None:
        """Close what `open` opened, on the loop it was opened on (blocking; call from a thread)."""
        loop_thread = get_event_loop_thread()
        if self._stack is not None and loop_thread is not None:
            loop_thread.run_coroutine(self._stack.aclose())
        self._stack = None

    def declare(self, broker: dramatiq.Broker, specs: Iterable[ActorSpec]) -> DramatiqJobs:
        """Declare the actors on `broker` with this context, and remember the jobs they make."""
        self.jobs = DramatiqJobs(register_actors(broker, specs, lazy_context(self.open)))
        return self.jobs


@asynccontextmanager
async def in_process_worker(
    broker: dramatiq.Broker, resources: WorkerResources, threads: int = 4
) -> AsyncIterator[None]:
    """Consume the broker's queues in this process (threads), without blocking the test's loop."""
    worker = running_worker(broker, threads=threads)
    await asyncio.to_thread(worker.__enter__)
    try:
        yield
    finally:
        await asyncio.to_thread(resources.close_on_worker_loop)
        await asyncio.to_thread(worker.__exit__, None, None, None)

"""Running the payment actors in tests: brokers of a test's own, the actors declared as the worker role does.

Kept apart from harness.py (no pytest, no web app) so a worker subprocess imports only what a worker
process needs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import dramatiq

from booking_core.events import EventSink
from roles.endpoints import resolve_endpoints
from roles.settings import MarqueeSettings
from roles.worker_role import open_full_worker_context
from workers.broker import HEARTBEAT_TIMEOUT_MS, MAINTENANCE_CHANCE, build_broker
from workers.jobs import DramatiqJobs
from workers.payments import PAYMENTS_QUEUE, PROVIDER_QUEUE
from workers.registry import ActorSpec
from workers.running import ActorContext

WEBHOOK_SECRET = "whsec_flows_test"
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


def payment_actors(
    settings: MarqueeSettings, broker: dramatiq.Broker, specs: Iterable[ActorSpec], events: EventSink | None
) -> tuple[ActorContext, DramatiqJobs]:
    """The payment actors (`specs`) on `broker`, their context opened as the worker role opens it.

    The core's events go to `events`, or (None) to users over Telegram as in production.
    """
    endpoints = resolve_endpoints(settings, settings.REDIS_URL or "", None)
    actors = ActorContext(
        broker, specs, lambda: open_full_worker_context(settings, endpoints, broker, events=events)
    )
    assert actors.jobs is not None, "the payment actors are declared"
    return actors, actors.jobs

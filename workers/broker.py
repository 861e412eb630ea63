"""The Dramatiq broker built from BROKER_URL: Redis by default, RabbitMQ for `amqp://` URLs."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import MAINTENANCE_SCALE, RedisBroker
from dramatiq.middleware import AsyncIO

# A killed worker's unacked messages come back once its heartbeat is this old (Redis broker).
HEARTBEAT_TIMEOUT_MS = 15_000
# Share of broker calls that also run maintenance (requeueing a dead worker's messages).
MAINTENANCE_CHANCE = 0.01


def build_broker(
    url: str,
    *,
    heartbeat_timeout_ms: int = HEARTBEAT_TIMEOUT_MS,
    maintenance_chance: float = MAINTENANCE_CHANCE,
    namespace: str = "marquee",
) -> dramatiq.Broker:
    """A broker for `url` with the AsyncIO middleware, so actors may be `async def`."""
    broker: dramatiq.Broker
    if url.startswith("amqp://"):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker  # deferred: pika is the `rabbitmq` extra

        broker = RabbitmqBroker(url=url)
    else:
        broker = RedisBroker(
            url=url,
            namespace=namespace,
            heartbeat_timeout=heartbeat_timeout_ms,
            # Dramatiq counts this in calls per MAINTENANCE_SCALE (a million), not as a share.
            maintenance_chance=round(maintenance_chance * MAINTENANCE_SCALE),
        )
    broker.add_middleware(AsyncIO())
    return broker

"""The Dramatiq broker built from BROKER_URL: Redis by default, RabbitMQ for `amqp://` URLs.

Dramatiq's Redis broker runs on one server or a Sentinel's master (it then follows a failover);
it does not support Redis Cluster, so a clustered deployment uses RabbitMQ as its broker.
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import MAINTENANCE_SCALE, RedisBroker
from dramatiq.middleware import AsyncIO

from booking_core.redis_url import is_cluster, sync_client
from booking_core.settings import ConfigurationError

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
    """A broker for `url` with the AsyncIO middleware, so actors may be `async def`.

    A Redis Cluster URL is refused with a ConfigurationError naming BROKER_URL.
    """
    broker: dramatiq.Broker
    if not url.startswith("amqp://") and is_cluster(url):
        raise ConfigurationError(
            "BROKER_URL: Dramatiq's Redis broker does not support Redis Cluster;"
            " set BROKER_URL=amqp://… (RabbitMQ) for a clustered Redis"
        )
    if url.startswith("amqp://"):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker  # deferred: pika is the `rabbitmq` extra

        broker = RabbitmqBroker(url=url)
    else:
        broker = RedisBroker(
            client=sync_client(url),
            namespace=namespace,
            heartbeat_timeout=heartbeat_timeout_ms,
            # Dramatiq counts this in calls per MAINTENANCE_SCALE (a million), not as a share.
            maintenance_chance=round(maintenance_chance * MAINTENANCE_SCALE),
        )
    broker.add_middleware(AsyncIO())
    return broker

